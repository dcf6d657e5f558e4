package qemu

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseAgentLine(t *testing.T) {
	tests := []struct {
		line   string
		kind   string
		fields map[string]string
	}{
		{"@@specbed ready agent=18d1d42a106a arch=i386", "ready",
			map[string]string{"agent": "18d1d42a106a", "arch": "i386"}},
		{"@@specbed done status=0\r", "done", map[string]string{"status": "0"}},
		// msg runs to the end of the line and is not unescaped.
		{"@@specbed error step=2 msg=insmod: open /lib/x%20y.ko: errno 2", "error",
			map[string]string{"step": "2", "msg": "insmod: open /lib/x%20y.ko: errno 2"}},
		// Other values are %XX-escaped.
		{"@@specbed result step=1 kind=insmod path=/lib/modules/a%20b%25.ko errno=129", "result",
			map[string]string{"step": "1", "kind": "insmod", "path": "/lib/modules/a b%.ko", "errno": "129"}},
		// A kernel message spliced in front of the agent's line.
		{"[    3.1] dummy0: link up@@specbed listen step=0 tty=ttyS1", "listen",
			map[string]string{"step": "0", "tty": "ttyS1"}},
	}
	for _, tt := range tests {
		msg, ok := parseAgentLine(strings.TrimRight(tt.line, "\r"))
		if !ok || msg.kind != tt.kind || !reflect.DeepEqual(msg.fields, tt.fields) {
			t.Errorf("parseAgentLine(%q) = %+v, %v; want %s %v", tt.line, msg, ok, tt.kind, tt.fields)
		}
	}
	if _, ok := parseAgentLine("Run /init as init process"); ok {
		t.Error("a kernel line parsed as an agent message")
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "a%20b": "a b", "%25": "%", "bad%zz": "bad%zz", "end%2": "end%2", "%41%42": "AB",
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStepResult(t *testing.T) {
	// Real line from an i486 boot at shift 5: 156604776 virtual ns over
	// 1000 sends is 4893.899... instructions per send.
	line := "@@specbed result step=0 kind=udp dev=dummy0 size=64 count=1000 warmup=100 ns=156604776 errors=0 errno=0"
	msg, _ := parseAgentLine(line)
	tests := []struct {
		mode      Mode
		wantInsns float64
	}{
		{CountMode, 156604776.0 / 1000 / 32},
		{NetworkMode, 0}, // virtual time includes waits: no instruction count
	}
	for _, tt := range tests {
		r, err := stepResult(msg, tt.mode, 5)
		if err != nil {
			t.Fatal(err)
		}
		want := &UDPResult{Dev: "dummy0", Size: 64, Count: 1000, NS: 156604776,
			NsPerSend: 156604.776, InstructionsPerSend: tt.wantInsns}
		if r.Step != 0 || r.Kind != "udp" || !reflect.DeepEqual(r.UDP, want) {
			t.Errorf("%s: stepResult = %+v %+v, want %+v", tt.mode, r, r.UDP, want)
		}
	}

	msg, _ = parseAgentLine("@@specbed result step=1 kind=insmod path=/lib/modules/oops.ko errno=129")
	r, err := stepResult(msg, CountMode, 5)
	if err != nil || !reflect.DeepEqual(r.Insmod, &InsmodResult{Path: "/lib/modules/oops.ko", Errno: 129}) {
		t.Errorf("insmod: %+v, %v", r.Insmod, err)
	}

	msg, _ = parseAgentLine("@@specbed result step=0 kind=net dev=eth0 carrier_ns=2000000")
	r, err = stepResult(msg, NetworkMode, 1)
	if err != nil || !reflect.DeepEqual(r.Net, &NetResult{Dev: "eth0", CarrierNS: 2000000}) {
		t.Errorf("net: %+v, %v", r.Net, err)
	}

	msg, _ = parseAgentLine("@@specbed result step=1 kind=fetch status=0 cache=1 phases=10,0,0,0,0 bytes=9000" +
		" request_bytes=300 connect_ns=4000000 ns=21000000 out=/tmp/udp.ko message=cache%20hit")
	r, err = stepResult(msg, NetworkMode, 1)
	wantFetch := &FetchResult{Status: 0, CacheHit: true, PhasesNS: []int64{10, 0, 0, 0, 0}, ModuleBytes: 9000,
		RequestBytes: 300, ConnectNS: 4000000, RoundTripNS: 21000000, Out: "/tmp/udp.ko", Message: "cache hit"}
	if err != nil || !reflect.DeepEqual(r.Fetch, wantFetch) {
		t.Errorf("fetch: %+v, %v; want %+v", r.Fetch, err, wantFetch)
	}
	msg, _ = parseAgentLine("@@specbed result step=1 kind=fetch status=4 cache=0 phases= bytes=0" +
		" request_bytes=300 connect_ns=4000000 ns=5000000 out=/tmp/udp.ko message=unknown%20declaration")
	if r, err = stepResult(msg, NetworkMode, 1); err != nil || r.Fetch.Status != 4 || r.Fetch.PhasesNS != nil {
		t.Errorf("fetch with an error status and no phases: %+v, %v", r.Fetch, err)
	}

	for _, bad := range []string{
		"@@specbed result step=0 kind=fetch status=0 cache=0 phases=1,x bytes=1 request_bytes=1 connect_ns=1 ns=1",
		"@@specbed result step=0 kind=net dev=eth0",
		"@@specbed result step=0 kind=udp dev=dummy0 size=64 count=0 ns=5 errors=0 errno=0",
		"@@specbed result step=0 kind=udp dev=dummy0 size=64 count=10 ns=-x errors=0 errno=0",
		"@@specbed result step=0 kind=udp dev=dummy0 size=64 count=10 errors=0 errno=0",
		"@@specbed result kind=insmod path=/x errno=0",
	} {
		msg, _ := parseAgentLine(bad)
		if _, err := stepResult(msg, CountMode, 5); err == nil {
			t.Errorf("stepResult(%q) accepted a malformed line", bad)
		}
	}
}

func TestStepStrings(t *testing.T) {
	for _, tt := range []struct {
		step fmt.Stringer
		want string
	}{
		{NetStep{Dev: "eth0", Addr: "10.1.0.2", Prefix: 24}, "net,dev=eth0,addr=10.1.0.2,prefix=24"},
		{NetStep{Dev: "sl0", Addr: "10.3.0.2", Prefix: 32, Peer: "10.3.0.1", Gateway: "10.3.0.1", TTY: "ttySA0", Baud: 230400},
			"net,dev=sl0,addr=10.3.0.2,prefix=32,peer=10.3.0.1,gw=10.3.0.1,tty=ttySA0,baud=230400"},
		{NetStep{Dev: "eth0", Addr: "10.1.0.2", Prefix: 24, Neigh: "10.1.0.1", LLAddr: "52:54:00:ff:00:01"},
			"net,dev=eth0,addr=10.1.0.2,prefix=24,neigh=10.1.0.1,lladdr=52:54:00:ff:00:01"},
		{FetchStep{Server: "10.1.0.1", Port: 7070, Build: "0123abcd", Decl: "udp", Context: "/ctx/udp.json", Out: "/tmp/udp.ko"},
			"fetch,server=10.1.0.1,port=7070,build=0123abcd,decl=udp,ctx=/ctx/udp.json,out=/tmp/udp.ko"},
		{InsmodStep{Path: "/tmp/udp.ko"}, "insmod,path=/tmp/udp.ko"},
	} {
		if got := tt.step.String(); got != tt.want {
			t.Errorf("%T.String() = %q, want %q", tt.step, got, tt.want)
		}
	}
}

func TestDummySendPlan(t *testing.T) {
	got := DummySendPlan([]int{64, 1024}, 1000, 100)
	want := []string{
		"udp,dev=dummy0,src=10.0.0.1,dst=10.0.0.2,port=9,size=64,count=1000,warmup=100",
		"udp,dev=dummy0,src=10.0.0.1,dst=10.0.0.2,port=9,size=1024,count=1000,warmup=100",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DummySendPlan = %q, want %q", got, want)
	}
}
