package attrib

import (
	"debug/elf"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestLoadLines compiles a function whose #line directives name three
// generic sources with each guest compiler (-g1: line tables only, as
// residual modules are built; their relocations differ) and maps every
// instruction of it back.
func TestLoadLines(t *testing.T) {
	for _, cc := range []string{"i686-linux-gnu-gcc", "arm-linux-gnueabi-gcc", "gcc"} {
		t.Run(cc, func(t *testing.T) { testLoadLines(t, cc) })
	}
}

func testLoadLines(t *testing.T, cc string) {
	obj := filepath.Join(t.TempDir(), "lines.o")
	// Kernel code is not position independent (i686's default PIE adds
	// a thunk section).
	out, err := exec.Command(cc, "-O1", "-g1", "-fno-pic", "-c", "-o", obj, filepath.Join("testdata", "lines.c")).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cc, err, out)
	}
	l, err := LoadLines(obj)
	if err != nil {
		t.Fatal(err)
	}
	if l.Section != ".text" {
		t.Errorf("section %s, want .text", l.Section)
	}
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size := f.Section(".text").Size
	files := map[string]bool{}
	for off := uint64(0); off < size; off++ {
		if sl, ok := l.Lookup(off); ok {
			files[sl.File] = true
		}
	}
	for _, want := range []string{"udp.c", "ip.c", "dev.c"} {
		if !files[want] {
			t.Errorf("no instruction maps to %s: %v", want, files)
		}
	}
	if _, ok := l.Lookup(size + 100); ok {
		t.Errorf("an offset past the code has a line")
	}
}

func TestLoadLinesWithoutDebugInfo(t *testing.T) {
	obj := filepath.Join(t.TempDir(), "lines.o")
	if out, err := exec.Command("gcc", "-O1", "-c", "-o", obj, filepath.Join("testdata", "lines.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	if _, err := LoadLines(obj); !errors.Is(err, ErrNoLines) {
		t.Errorf("got %v, want ErrNoLines", err)
	}
}
