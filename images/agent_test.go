package images

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"testing"

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
		t.Skip("needs the kernel source tree (nolibc) and the cross compilers")
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
