package images

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"specbed/qemu"
)

// compileObject compiles one C snippet to an object file with cc.
func compileObject(t *testing.T, cc string, flags []string, code string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "snippet.c")
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "snippet.o")
	args := append(append([]string{"-c", "-O2"}, flags...), "-o", obj, src)
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", cc, strings.Join(args, " "), err, out)
	}
	return obj
}

func mustLookup(t *testing.T, name string) *qemu.Platform {
	t.Helper()
	p, err := qemu.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Each snippet is compiled for a newer CPU than the platform's (or holds
// the instruction in inline assembly); the platform's check must name the
// instruction.
func TestCheckInstructionsRejectsNewerCPUs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		platform string
		flags    []string
		code     string
		want     string // start of the reported instruction
	}{
		{"clz on ARMv5TE", "sa1100", []string{"-marm", "-march=armv5te"},
			"unsigned f(unsigned x) { return __builtin_clz(x); }", "clz"},
		{"bx return on ARMv4T", "sa1100", []string{"-marm", "-march=armv4t"},
			"int f(int x) { return x + 1; }", "bx"},
		{"ldrd", "sa1100", []string{"-marm", "-march=armv5te"},
			`void f(void) { __asm__ volatile ("ldrd r0, r1, [r2]"); }`, "ldrd"},
		{"smulbb", "sa1100", []string{"-marm", "-march=armv5te"},
			`int f(void) { int r; __asm__ volatile ("smulbb %0, %0, %0" : "=r"(r)); return r; }`, "smulbb"},
		{"cmov on i686", "i486", []string{"-m32", "-march=i686"},
			"int f(int a, int b) { return a < b ? b : a; }", "cmov"},
		{"SSE on Pentium III", "i486", []string{"-m32", "-march=pentium3", "-msse", "-mfpmath=sse"},
			"float f(float a, float b) { return a * b; }", "mulss"},
		{"rdtsc", "i486", []string{"-m32", "-march=i486"},
			"unsigned long long f(void) { return __builtin_ia32_rdtsc(); }", "rdtsc"},
		{"multi-byte nop", "i486", []string{"-m32", "-march=i486"},
			`void f(void) { __asm__ volatile ("nopl 0(%eax)"); }`, "nopl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustLookup(t, tc.platform)
			obj := compileObject(t, p.Agent.CC, tc.flags, tc.code)
			err := CheckInstructions(context.Background(), p.Agent.ObjdumpPrefix, p.Agent.ForbiddenInsns, obj)
			var fe *ForbiddenInstructionError
			if !errors.As(err, &fe) {
				t.Fatalf("CheckInstructions = %v, want a ForbiddenInstructionError", err)
			}
			found := false
			for _, insn := range fe.Found {
				if strings.HasPrefix(insn.Text, tc.want) && insn.Function == "f" {
					found = true
				}
			}
			if !found {
				t.Errorf("reported %v, want an instruction %q in f", fe.Found, tc.want)
			}
		})
	}
}

// Instructions the platforms have must pass, including the ones whose
// names look like forbidden ones (smull is ARMv4, fucom is i387).
func TestCheckInstructionsAcceptsOwnCPU(t *testing.T) {
	for _, tc := range []struct {
		name     string
		platform string
		code     string
	}{
		{"ARMv4 arithmetic and long multiply", "sa1100",
			"long long f(int a, int b, long long c) { return (long long)a * b + c; }\n" +
				"unsigned long long g(unsigned a, unsigned b) { return (unsigned long long)a * b; }\n" +
				"short h(short *p) { return p[1]; }"},
		{"i486 integer and x87 code", "i486",
			"int f(double a, double b) { return a < b; }\n" +
				"int g(int *p, int n) { int s = 0; while (n--) s += *p++; return s; }"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustLookup(t, tc.platform)
			obj := compileObject(t, p.Agent.CC, p.Agent.CFlags, tc.code)
			if err := CheckInstructions(context.Background(), p.Agent.ObjdumpPrefix, p.Agent.ForbiddenInsns, obj); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestParseObjdump(t *testing.T) {
	out := `
agent:     file format elf32-littlearm


Disassembly of section .text:

00010094 <_start>:
   10094:	pop	{r0}		@ (ldr r0, [sp], #4)
   10098:	mov	r1, sp
   1009c:	bl	100b0 <main>
   100a0:	.word	0x00012345

080490a0 <f>:
 80490a0:	mov    0x4(%esp),%eax
 80490a4:	lea    0x0(%esi,%eiz,1),%esi
 80490ab:	ret
`
	insns, err := parseObjdump([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Instruction{
		{0x10094, "_start", "pop {r0}"},
		{0x10098, "_start", "mov r1, sp"},
		{0x1009c, "_start", "bl 100b0 <main>"},
		{0x80490a0, "f", "mov 0x4(%esp),%eax"},
		{0x80490a4, "f", "lea 0x0(%esi,%eiz,1),%esi"},
		{0x80490ab, "f", "ret"},
	}
	if len(insns) != len(want) {
		t.Fatalf("parsed %d instructions %v, want %d", len(insns), insns, len(want))
	}
	for i := range want {
		if insns[i] != want[i] {
			t.Errorf("instruction %d = %+v, want %+v", i, insns[i], want[i])
		}
	}
}

func TestCheckInstructionsBadPattern(t *testing.T) {
	if err := CheckInstructions(context.Background(), "", "(", "/nonexistent"); err == nil {
		t.Error("an invalid pattern was accepted")
	}
}
