package images

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"specbed/qemu"
)

// agentMachines is the ELF machine of each kernel architecture's agent.
var agentMachines = map[string]elf.Machine{
	"i386": elf.EM_386,
	"arm":  elf.EM_ARM,
}

// ARM EABI header flags: version 5, soft-float calling convention.
const (
	efARMEABIMask  = 0xff000000
	efARMEABIVer5  = 0x05000000
	efARMSoftFloat = 0x200
)

func TestAgentBuildsForEveryPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: needs the kernel source tree (nolibc) and the cross compilers")
	}
	b := testBuilder(t)
	ctx := context.Background()
	version, err := b.AgentVersion()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range qemu.All() {
		t.Run(p.Name, func(t *testing.T) {
			path, err := b.Agent(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if want := agentMachines[p.Kernel.Arch]; f.Machine != want || f.Class != elf.ELFCLASS32 {
				t.Errorf("agent is %v %v, want ELFCLASS32 %v", f.Class, f.Machine, want)
			}
			if f.Type != elf.ET_EXEC {
				t.Errorf("agent type %v, want a static ET_EXEC", f.Type)
			}
			for _, prog := range f.Progs {
				if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
					t.Errorf("agent has a %v segment: not static", prog.Type)
				}
			}
			if f.Entry == 0 {
				t.Errorf("agent has no entry point")
			}
			if f.Machine == elf.EM_ARM {
				if got := armFlags(t, path); got&efARMEABIMask != efARMEABIVer5 || got&efARMSoftFloat == 0 {
					t.Errorf("ARM agent e_flags %#x, want EABI 5 soft-float", got)
				}
			}
			// The version string of the ready line is compiled in.
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(version)) {
				t.Errorf("agent binary lacks its version %s", version)
			}
			// A second call finds the cached binary, which still passes the check.
			again, err := b.Agent(ctx, p)
			if err != nil || again != path {
				t.Errorf("second Agent() = %q, %v; want the cached %q", again, err, path)
			}
			if err := CheckInstructions(ctx, p.Agent.ObjdumpPrefix, p.Agent.ForbiddenInsns, path); err != nil {
				t.Error(err)
			}
		})
	}
}

// armFlags reads e_flags, which debug/elf does not expose.
func armFlags(t *testing.T, path string) uint32 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const eFlagsOffset = 36 // in the 32-bit ELF header
	if len(data) < eFlagsOffset+4 {
		t.Fatalf("%s: too short for an ELF header", path)
	}
	return uint32(data[eFlagsOffset]) | uint32(data[eFlagsOffset+1])<<8 |
		uint32(data[eFlagsOffset+2])<<16 | uint32(data[eFlagsOffset+3])<<24
}

func TestAgentKeyCoversItsInputs(t *testing.T) {
	base := func() *agentBuild {
		return &agentBuild{
			spec:     qemu.AgentSpec{CC: "cc", LinkLibgcc: true, ForbiddenInsns: "^x"},
			compiler: "cc 12.2.0",
			sources:  []sourceFile{{"main.c", []byte("int main;")}},
			nolibc:   []sourceFile{{"nolibc.h", []byte("/* */")}},
			flags:    []string{"-O2"},
		}
	}
	ref := base().key()
	for _, tc := range []struct {
		name   string
		change func(*agentBuild)
	}{
		{"source", func(in *agentBuild) { in.sources[0].data = []byte("int main2;") }},
		{"source name", func(in *agentBuild) { in.sources[0].name = "other.c" }},
		{"nolibc", func(in *agentBuild) { in.nolibc[0].data = []byte("/* x */") }},
		{"compiler", func(in *agentBuild) { in.compiler = "cc 13.1.0" }},
		{"flags", func(in *agentBuild) { in.flags = []string{"-O1"} }},
		{"libgcc", func(in *agentBuild) { in.spec.LinkLibgcc = false }},
		{"check", func(in *agentBuild) { in.spec.ForbiddenInsns = "^y" }},
	} {
		in := base()
		tc.change(in)
		if in.key() == ref {
			t.Errorf("changing the %s leaves the agent key unchanged", tc.name)
		}
	}
	if base().key() != ref {
		t.Error("the agent key is not a function of its inputs")
	}
}

func TestAgentExitMethods(t *testing.T) {
	for _, p := range qemu.All() {
		if _, ok := agentExitDefines[p.Exit]; !ok {
			t.Errorf("platform %s: no agent exit implementation for %q", p.Name, p.Exit)
		}
	}
}

// TestAgentOnGuests boots every platform's kernel with the agent and runs
// the steps that only a guest can check: the selftest of the agent's
// arithmetic on the guest CPU (on sa1100 the agent's own division
// helpers), a sleep, and a control session that runs a send and a bad
// step, which must give an error line and status 1 without ending the
// session. qemu's integration tests cover sends, modules, oopses and hangs.
func TestAgentOnGuests(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: builds kernels and boots them")
	}
	b := testBuilder(t)
	for _, p := range qemu.All() {
		t.Run(p.Name, func(t *testing.T) {
			res, err := runControlSession(t, b, p)
			var agentErr *qemu.AgentError
			if !errors.As(err, &agentErr) || res == nil {
				t.Fatalf("run ended with %v, want an AgentError for the bad control line", err)
			}
			if len(agentErr.Errors) != 1 || agentErr.Errors[0].Step != 4 ||
				!strings.Contains(agentErr.Errors[0].Msg, "unknown step kind: bogus") {
				t.Errorf("error lines %+v, want one for step 4, the unknown kind", agentErr.Errors)
			}
			version, err := b.AgentVersion()
			if err != nil {
				t.Fatal(err)
			}
			if res.Agent != version || res.Status != 1 {
				t.Errorf("agent %q status %d, want agent %q status 1", res.Agent, res.Status, version)
			}
			want := []struct {
				step   int
				kind   string
				fields map[string]string
			}{
				{0, "selftest", map[string]string{"failures": "0"}},
				{1, "sleep", map[string]string{"ms": "20"}},
				{3, "udp", map[string]string{"size": "100", "count": "10", "errors": "0"}},
				{2, "ctl", map[string]string{"steps": "2", "errors": "1"}},
			}
			if len(res.Steps) != len(want) {
				t.Fatalf("results %+v, want %d", res.Steps, len(want))
			}
			for i, w := range want {
				got := res.Steps[i]
				if got.Step != w.step || got.Kind != w.kind {
					t.Errorf("result %d is step %d %s, want step %d %s", i, got.Step, got.Kind, w.step, w.kind)
				}
				for k, v := range w.fields {
					if got.Fields[k] != v {
						t.Errorf("step %d %s: %s=%q, want %q", got.Step, got.Kind, k, got.Fields[k], v)
					}
				}
			}
			// Virtual time: the sleep must have lasted its 20 ms.
			if ns, err := strconv.ParseUint(res.Steps[1].Fields["ns"], 10, 64); err != nil || ns < 20e6 {
				t.Errorf("sleep,ms=20 measured %q ns", res.Steps[1].Fields["ns"])
			}
		})
	}
}

// runControlSession boots p with the plan selftest, sleep, ctl and sends
// a udp step, a bad step and "end" over the control channel.
func runControlSession(t *testing.T, b *Builder, p *qemu.Platform) (*qemu.Result, error) {
	t.Helper()
	ctx := context.Background()
	k, err := b.Kernel(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	cfg := qemu.Config{
		Platform:  p,
		Mode:      qemu.CountMode,
		Boot:      qemu.Boot{Kernel: k.Image},
		Plan:      []string{"selftest", "sleep,ms=20", "ctl"},
		SystemMap: k.SystemMap,
		RunRoot:   t.TempDir(),
	}
	if cfg.Boot.Initrd, err = b.AgentInitramfs(ctx, p); err != nil {
		t.Fatal(err)
	}
	in, err := qemu.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	select {
	case <-in.Listening():
	case <-time.After(qemu.DefaultTimeout):
		t.Fatal("the agent never listened on the control channel")
	}
	lines := "udp,dev=dummy0,src=10.0.0.1,dst=10.0.0.2,port=9,size=100,count=10\r\nbogus\nend\n"
	if _, err := io.WriteString(in.Control(), lines); err != nil {
		t.Fatal(err)
	}
	return in.Wait()
}
