package routeguard

import (
	"testing"

	"specbed/qemu"
)

func TestStepStrings(t *testing.T) {
	for _, tt := range []struct {
		step interface{ String() string }
		want string
	}{
		{RouteStep{Op: "add", Dst: "10.9.0.0", Prefix: 24, Dev: "dummy0"}, "route,op=add,dst=10.9.0.0,prefix=24,dev=dummy0"},
		{RouteStep{Op: "replace", Dst: "10.3.0.0", Prefix: 16, Gateway: "10.2.0.3", MTU: 1200}, "route,op=replace,dst=10.3.0.0,prefix=16,gw=10.2.0.3,mtu=1200"},
		{MTUStep{Dev: "eth1", MTU: 576}, "mtu,dev=eth1,mtu=576"},
		{IfstatStep{Dev: "dummy1"}, "ifstat,dev=dummy1"},
		{LoadStep{Slot: 2, Name: "specnet_r_0a", Guard: Reinforce}, "load,slot=2,name=specnet_r_0a,guard=reinforce"},
		{LoadStep{Name: "specnet_r_0b", Guard: Respecialize, Replace: true}, "load,slot=0,name=specnet_r_0b,guard=respecialize,replace=1"},
	} {
		if got := tt.step.String(); got != tt.want {
			t.Errorf("%#v: %q, want %q", tt.step, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	ifs := qemu.StepResult{Step: 3, Kind: "ifstat", Fields: map[string]string{"dev": "dummy0", "tx_packets": "40", "tx_bytes": "41680"}}
	got, err := ParseIfstat(ifs)
	if err != nil || got != (Ifstat{Packets: 40, Bytes: 41680}) {
		t.Errorf("ParseIfstat: %+v, %v", got, err)
	}
	if d := got.Sub(Ifstat{Packets: 15, Bytes: 680}); d != (Ifstat{Packets: 25, Bytes: 41000}) {
		t.Errorf("Sub: %+v", d)
	}
	for _, bad := range []qemu.StepResult{
		{Kind: "route", Fields: map[string]string{"errno": "0"}},
		{Kind: "ifstat", Fields: map[string]string{"tx_packets": "x", "tx_bytes": "1"}},
	} {
		if _, err := ParseIfstat(bad); err == nil {
			t.Errorf("ParseIfstat(%+v) took it", bad)
		}
	}
	if e, err := Errno(qemu.StepResult{Kind: "route", Fields: map[string]string{"errno": "101"}}); err != nil || e != 101 {
		t.Errorf("Errno: %d, %v", e, err)
	}
}
