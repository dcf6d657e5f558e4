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
	prev, err := treeHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		tt.change()
		h, err := treeHash(dir)
		if err != nil {
			t.Fatal(err)
		}
		if h == prev {
			t.Errorf("%s: tree hash unchanged", tt.name)
		}
		prev = h
	}
}

// TestModule builds images/modules/oops for the i486 kernel, signed and
// unsigned, and checks the signature marker and the vermagic.
func TestModule(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the i486 kernel")
	}
	b := testBuilder(t)
	p, err := qemu.Lookup("i486")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k, err := b.Kernel(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(b.Repo, "images", "modules", "oops")
	tests := []struct {
		name   string
		build  func(context.Context, *Kernel, string) (string, error)
		signed bool
	}{
		{"signed", b.Module, true},
		{"unsigned", b.UnsignedModule, false},
	}
	var paths []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ko, err := tt.build(ctx, k, src)
			if err != nil {
				t.Fatal(err)
			}
			paths = append(paths, ko)
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
			if !strings.HasPrefix(string(vermagic), k.Release+" ") || !strings.Contains(string(vermagic), "486") {
				t.Errorf("%s vermagic %q, want release %s on a 486", ko, vermagic, k.Release)
			}
			if !bytes.Contains(data, []byte("specbed_oops_fault")) {
				t.Errorf("%s lacks the symbol specbed_oops_fault", ko)
			}
			again, err := tt.build(ctx, k, src)
			if err != nil || again != ko {
				t.Errorf("second build = %q, %v; want the cached %q", again, err, ko)
			}
		})
	}
	if len(paths) == 2 && paths[0] == paths[1] {
		t.Errorf("signed and unsigned module share the path %s", paths[0])
	}
}
