package guards

import (
	"testing"

	"specbed/qemu"
)

func TestTCPCloseStepString(t *testing.T) {
	for _, tt := range []struct {
		step TCPCloseStep
		want string
	}{
		{TCPCloseStep{Dst: "10.2.0.1", Port: 5101, Name: "r", Rounds: 100, Size: 2896, Flags: 0x4080, SndBuf: 65536},
			"tcpclose,dst=10.2.0.1,port=5101,name=r,rounds=100,size=2896,flags=16512,sndbuf=65536"},
		{TCPCloseStep{Dst: "10.2.0.1", Port: 5102, Name: "r", Rounds: 3, Size: 2896, Spread: 16, GapMS: 200, MemWait: true, GoPort: 5103},
			"tcpclose,dst=10.2.0.1,port=5102,name=r,rounds=3,size=2896,flags=0,sndbuf=0,spread=16,gap_ms=200,go_port=5103,memwait=1"},
		{TCPCloseStep{Dst: "10.2.0.1", Port: 5101, Name: "r", Rounds: 1, Size: 1, After: 4, InSend: true},
			"tcpclose,dst=10.2.0.1,port=5101,name=r,rounds=1,size=1,flags=0,sndbuf=0,after=4,in_send=1"},
	} {
		if got := tt.step.String(); got != tt.want {
			t.Errorf("%#v: %q, want %q", tt.step, got, tt.want)
		}
	}
}

func TestTCPCloseResult(t *testing.T) {
	fields := map[string]string{"rounds": "3", "ok": "636", "bytes": "1841856", "partial": "0",
		"ok_after_close": "0", "ebadf": "3", "epipe": "3", "unfailed": "0", "other": "0", "other_errno": "0",
		"close_errors": "0", "release_errors": "0", "in_send": "3", "in_send_ok": "0", "close_first": "3",
		"close_in_wait": "3", "go_errors": "0"}
	got, err := TCPClose(qemu.StepResult{Kind: "tcpclose", Fields: fields})
	want := TCPCloseResult{CloseRaceResult: CloseRaceResult{Rounds: 3, OK: 636, EBADF: 3, InSend: 3, CloseFirst: 3},
		Bytes: 1841856, EPIPE: 3, CloseInWait: 3}
	if err != nil || got != want {
		t.Errorf("TCPClose = %+v, %v; want %+v", got, err, want)
	}
	delete(fields, "epipe")
	if _, err := TCPClose(qemu.StepResult{Kind: "tcpclose", Fields: fields}); err == nil {
		t.Error("TCPClose without epipe: no error")
	}
	if _, err := TCPClose(qemu.StepResult{Kind: "closerace", Fields: fields}); err == nil {
		t.Error("TCPClose of a closerace step: no error")
	}
}

func TestSNMPField(t *testing.T) {
	line := func(l string) qemu.StepResult {
		return qemu.StepResult{Kind: "proc", Fields: map[string]string{"line": l}}
	}
	h := line("Ip: Forwarding DefaultTTL InReceives FragOKs FragFails FragCreates")
	v := line("Ip: 2 64 1234 0 51 0")
	for _, tt := range []struct {
		header, values qemu.StepResult
		name           string
		want           int64
		ok             bool
	}{
		{h, v, "FragFails", 51, true},
		{h, v, "InReceives", 1234, true},
		{h, v, "Forwarding", 2, true},
		{h, v, "RetransSegs", 0, false},
		{h, line("Ip: 2 64 1234 0 51"), "FragFails", 0, false},
		{h, line("Tcp: 2 64 1234 0 51 0"), "FragFails", 0, false},
		{h, line("Ip: 2 64 x 0 51 0"), "InReceives", 0, false},
		{h, qemu.StepResult{Kind: "counters"}, "FragFails", 0, false},
	} {
		got, err := SNMPField(tt.header, tt.values, tt.name)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("SNMPField(%q, %q, %s) = %d, %v; want %d, ok %v", tt.header.Fields["line"], tt.values.Fields["line"],
				tt.name, got, err, tt.want, tt.ok)
		}
	}
}
