package qemu

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestSpecnetStepStrings(t *testing.T) {
	tests := []struct {
		step fmtStep
		want string
	}{
		{CustomizeStep{Dst: "10.0.0.2", Port: 9, SrcPort: 5000, ADU: 64}, "customize,dst=10.0.0.2,port=9,sport=5000,adu=64"},
		{LoadStep{Slot: 1, Name: "specnet_r_0123abcd", Policy: "fallback"}, "load,slot=1,name=specnet_r_0123abcd,policy=fallback"},
		{SendStep{Path: PathSendto, Size: 64, Count: 1000, Warmup: 100}, "send,path=sendto,size=64,count=1000,warmup=100"},
		// Only the token paths name a slot.
		{SendStep{Path: PathGeneric, Slot: 3, Size: 1024, Count: 1}, "send,path=generic,size=1024,count=1,warmup=0"},
		{SendStep{Path: PathSpecial, Slot: 3, Size: 1024, Count: 1}, "send,path=special,size=1024,count=1,warmup=0,slot=3"},
		{SendStep{Path: PathCustomized, Slot: 2, Size: 64, Count: 1}, "send,path=customized,size=64,count=1,warmup=0,slot=2"},
		{SendStep{Path: PathCustomizedGeneric, Slot: 0, Size: 64, Count: 1}, "send,path=customized_generic,size=64,count=1,warmup=0,slot=0"},
		{CountersStep{}, "counters"},
		{ReleaseStep{Slot: 2}, "release,slot=2"},
		{RmmodStep{Name: "specnet_r_0123abcd"}, "rmmod,name=specnet_r_0123abcd"},
		{CustomizeStep{Dst: "10.0.0.2", Port: 9, SrcPort: 5000, ADU: 64, SoADU: 100}, "customize,dst=10.0.0.2,port=9,sport=5000,adu=64,so_adu=100"},
		{SetsockoptStep{Level: SolIP, Name: IPTTL, Value: 32}, "setsockopt,level=0,name=2,value=32"},
		{GetsockoptStep{Level: SolSocket, Name: SoADU}, "getsockopt,level=1,name=200"},
		{CloseStep{}, "close"},
		{CloseStep{Dup: true}, "close,which=dup"},
		{DupStep{}, "dup"},
	}
	for _, tt := range tests {
		if got := tt.step.String(); got != tt.want {
			t.Errorf("%T.String() = %q, want %q", tt.step, got, tt.want)
		}
	}
}

type fmtStep interface{ String() string }

func TestSpecnetResults(t *testing.T) {
	tests := []struct {
		line  string
		check func(r StepResult) bool
	}{
		{"@@specbed result step=3 kind=load slot=0 name=specnet_r_ab token=7 errno=0",
			func(r StepResult) bool {
				return reflect.DeepEqual(r.Load, &LoadResult{Slot: 0, Name: "specnet_r_ab", Token: 7})
			}},
		{"@@specbed result step=3 kind=load slot=1 name=specnet_r_ab token=0 errno=28",
			func(r StepResult) bool { return r.Load.Errno == 28 && r.Load.Token == 0 }},
		// 2^5 ns per instruction: 3200000 ns over 1000 sends is 100 instructions.
		{"@@specbed result step=4 kind=send path=special size=64 count=1000 warmup=100 ns=3200000 errors=0 errno=0",
			func(r StepResult) bool {
				return reflect.DeepEqual(r.Send, &SendResult{Path: PathSpecial, Size: 64, Count: 1000, Warmup: 100,
					NS: 3200000, NsPerSend: 3200, InstructionsPerSend: 100})
			}},
		{"@@specbed result step=5 kind=counters tokens_live=1 sends_specialized=1100 fallbacks=0",
			func(r StepResult) bool {
				v, err := r.Counter("sends_specialized")
				_, missing := r.Counter("refs_held")
				return err == nil && v == 1100 && missing != nil && len(r.Counters) == 3
			}},
		{"@@specbed result step=8 kind=setsockopt level=0 name=2 value=32 errno=16",
			func(r StepResult) bool {
				return reflect.DeepEqual(r.Setsockopt, &SockoptResult{Level: 0, Name: 2, Value: 32, Errno: 16}) && r.Getsockopt == nil
			}},
		{"@@specbed result step=9 kind=getsockopt level=1 name=200 value=100 errno=0",
			func(r StepResult) bool {
				return reflect.DeepEqual(r.Getsockopt, &SockoptResult{Level: 1, Name: 200, Value: 100}) && r.Setsockopt == nil
			}},
		{"@@specbed result step=10 kind=close errno=0",
			func(r StepResult) bool { return reflect.DeepEqual(r.Close, &CloseResult{}) }},
		{"@@specbed result step=6 kind=release slot=0 token=7 errno=0",
			func(r StepResult) bool { return reflect.DeepEqual(r.Release, &ReleaseResult{Token: 7}) }},
		{"@@specbed result step=7 kind=rmmod name=specnet_r_ab errno=16",
			func(r StepResult) bool {
				return reflect.DeepEqual(r.Rmmod, &RmmodResult{Name: "specnet_r_ab", Errno: 16})
			}},
	}
	for _, tt := range tests {
		msg, ok := parseAgentLine(tt.line)
		if !ok {
			t.Fatalf("not an agent line: %q", tt.line)
		}
		r, err := stepResult(msg, CountMode, 5)
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if !tt.check(r) {
			t.Errorf("%q: parsed as %+v", tt.line, r)
		}
	}
	for _, bad := range []string{
		"@@specbed result step=4 kind=send path=sendto size=64 count=0 warmup=0 ns=1 errors=0 errno=0",
		"@@specbed result step=4 kind=send path=sendto size=64 count=10 warmup=0 errors=0 errno=0",
		"@@specbed result step=5 kind=counters tokens_live=x",
		"@@specbed result step=6 kind=release slot=0 errno=0",
	} {
		msg, _ := parseAgentLine(bad)
		if _, err := stepResult(msg, CountMode, 5); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

// TestCustomizeData feeds the monitor a context in escaped pieces, as the
// agent prints it, and checks the customize result carries it whole.
func TestCustomizeData(t *testing.T) {
	context := `{"schema": "specbed.context/v1", "values": {"fd": {"type": "s32", "value": 3}}}` + "\n"
	escaped := strings.NewReplacer(" ", "%20", "\n", "%0A", "%", "%25").Replace
	var lines []string
	for off := 0; off < len(context); off += 20 {
		end := min(off+20, len(context))
		lines = append(lines, "@@specbed data step=2 off="+strconv.Itoa(off)+" text="+escaped(context[off:end]))
	}
	lines = append(lines, "@@specbed result step=2 kind=customize bytes="+strconv.Itoa(len(context)))

	m := newConsoleMonitor(CountMode, 3, nil)
	for _, l := range lines {
		m.feed(l + "\r")
	}
	if m.protocolErr != nil {
		t.Fatal(m.protocolErr)
	}
	if len(m.steps) != 1 || m.steps[0].Customize == nil || string(m.steps[0].Customize.Context) != context {
		t.Fatalf("steps %+v, want one customize result with the context", m.steps)
	}

	for name, bad := range map[string][]string{
		"gap":    {lines[0], lines[2], lines[len(lines)-1]},
		"short":  {lines[0], lines[len(lines)-1]},
		"notext": {"@@specbed data step=2 off=0"},
	} {
		m := newConsoleMonitor(CountMode, 3, nil)
		for _, l := range bad {
			m.feed(l)
		}
		if m.protocolErr == nil {
			t.Errorf("%s: no protocol error", name)
		}
	}
}
