package guards

import (
	"testing"

	"specbed/qemu"
)

func TestStepStrings(t *testing.T) {
	for _, tt := range []struct {
		step interface{ String() string }
		want string
	}{
		{CloseRaceStep{Dst: "10.2.0.1", Port: 9, SrcPort: 40000, Name: "specnet_r_00", Rounds: 100, Size: 64},
			"closerace,dst=10.2.0.1,port=9,sport=40000,name=specnet_r_00,rounds=100,size=64"},
		{CloseRaceStep{Dst: "10.2.0.1", Port: 9, SrcPort: 40000, Name: "r", Rounds: 1, Size: 0, Spread: 3, After: 2, GapMS: 5},
			"closerace,dst=10.2.0.1,port=9,sport=40000,name=r,rounds=1,size=0,spread=3,after=2,gap_ms=5"},
		{CloseRaceStep{Dst: "10.2.0.1", Port: 9, SrcPort: 40000, Name: "r", Rounds: 20, Size: 64, InSend: true},
			"closerace,dst=10.2.0.1,port=9,sport=40000,name=r,rounds=20,size=64,in_send=1"},
		{ForkStep{}, "fork"},
		{ForkStep{Close: true}, "fork,close=1"},
		{SockstatUDP, "proc,path=/proc/net/sockstat,prefix=UDP:"},
	} {
		if got := tt.step.String(); got != tt.want {
			t.Errorf("%#v: %q, want %q", tt.step, got, tt.want)
		}
	}
}

func TestCloseRaceResult(t *testing.T) {
	fields := map[string]string{"rounds": "100", "ok": "963", "ok_after_close": "0", "ebadf": "100",
		"unfailed": "0", "other": "1", "other_errno": "22", "close_errors": "0", "release_errors": "2",
		"in_send": "3", "in_send_ok": "3", "close_first": "1"}
	got, err := CloseRace(qemu.StepResult{Kind: "closerace", Fields: fields})
	want := CloseRaceResult{Rounds: 100, OK: 963, EBADF: 100, Other: 1, OtherErrno: 22, ReleaseErrors: 2,
		InSend: 3, InSendOK: 3, CloseFirst: 1}
	if err != nil || got != want {
		t.Errorf("CloseRace = %+v, %v; want %+v", got, err, want)
	}
	delete(fields, "ebadf")
	if _, err := CloseRace(qemu.StepResult{Kind: "closerace", Fields: fields}); err == nil {
		t.Error("CloseRace without ebadf: no error")
	}
	if _, err := CloseRace(qemu.StepResult{Kind: "send", Fields: fields}); err == nil {
		t.Error("CloseRace of a send step: no error")
	}
}

func TestProcValue(t *testing.T) {
	for _, tt := range []struct {
		line, key string
		want      int64
		ok        bool
	}{
		{"UDP: inuse 3 mem 1", "inuse", 3, true},
		{"UDP: inuse 3 mem 1", "mem", 1, true},
		{"MemFree:          22208 kB", "MemFree:", 22208, true},
		{"UDP: inuse", "inuse", 0, false},
		{"UDP: inuse x", "inuse", 0, false},
		{"TCP: inuse 1", "orphan", 0, false},
	} {
		got, err := ProcValue(qemu.StepResult{Kind: "proc", Fields: map[string]string{"line": tt.line}}, tt.key)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ProcValue(%q, %q) = %d, %v; want %d, ok %v", tt.line, tt.key, got, err, tt.want, tt.ok)
		}
	}
}
