package images

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"specbed/qemu"
)

func TestTreeHash(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Kbuild", "obj-m := m.o\n")
	write("m.c", "int x;\n")
	tests := []struct {
		name   string
		change func()
	}{
		{"content", func() { write("m.c", "int y;\n") }},
		{"new file", func() { write("sub/h.h", "") }},
		{"rename", func() { os.Rename(filepath.Join(dir, "sub/h.h"), filepath.Join(dir, "sub/i.h")) }},
	}
	prev, err := TreeHash(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		tt.change()
		h, err := TreeHash(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if h == prev {
			t.Errorf("%s: tree hash unchanged", tt.name)
		}
		prev = h
	}
}

// TestModule builds images/modules/oops for each platform's kernel, signed
// and unsigned, and checks the signature marker and the vermagic (a module
// is built per kernel: vermagic names the CPU).
func TestModule(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: needs the kernels")
	}
	b := testBuilder(t)
	ctx := context.Background()
	src := filepath.Join(b.Repo, "images", "modules", "oops")
	platforms := []struct {
		name string
		cpu  string // vermagic's CPU word
	}{
		{"i486", "486"},
		{"p3", "PENTIUMIII"},
		{"sa1100", "ARMv4"},
	}
	builds := []struct {
		name   string
		build  func(context.Context, *Kernel, string) (string, error)
		signed bool
	}{
		{"signed", b.Module, true},
		{"unsigned", b.UnsignedModule, false},
	}
	for _, pt := range platforms {
		t.Run(pt.name, func(t *testing.T) {
			p, err := qemu.Lookup(pt.name)
			if err != nil {
				t.Fatal(err)
			}
			k, err := b.Kernel(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			paths := map[string]bool{}
			for _, tt := range builds {
				ko, err := tt.build(ctx, k, src)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if paths[ko] {
					t.Errorf("%s: path %s shared with another kind of build", tt.name, ko)
				}
				paths[ko] = true
				if strings.HasPrefix(ko, b.Repo) {
					t.Errorf("module %s built inside the repository", ko)
				}
				data, err := os.ReadFile(ko)
				if err != nil {
					t.Fatal(err)
				}
				if got := bytes.HasSuffix(data, []byte(moduleSignatureMarker)); got != tt.signed {
					t.Errorf("%s ends with the signature marker: %v, want %v", ko, got, tt.signed)
				}
				vermagic, err := exec.Command("modinfo", "-F", "vermagic", ko).Output()
				if err != nil {
					t.Fatalf("modinfo %s: %v", ko, err)
				}
				if !strings.HasPrefix(string(vermagic), k.Release+" ") || !strings.Contains(string(vermagic), " "+pt.cpu+" ") {
					t.Errorf("%s vermagic %q, want release %s on %s", ko, vermagic, k.Release, pt.cpu)
				}
				if !bytes.Contains(data, []byte("specbed_oops_fault")) {
					t.Errorf("%s lacks the symbol specbed_oops_fault", ko)
				}
				again, err := tt.build(ctx, k, src)
				if err != nil || again != ko {
					t.Errorf("%s: second build = %q, %v; want the cached %q", tt.name, again, err, ko)
				}
			}
		})
	}
}
