package specnet

import (
	"os"
	"path/filepath"
	"testing"

	"specbed/images"
	"specbed/qemu"
)

// TestGenericBuildsAsKernelModule builds the generic path with its kernel
// shim (shim_kernel.c) as an out-of-tree module of the cached i486 kernel:
// the same sources compile on real kernel functions, and modpost finds
// every kernel symbol they use exported.
func TestGenericBuildsAsKernelModule(t *testing.T) {
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	p, err := qemu.Lookup("i486")
	if err != nil {
		t.Fatal(err)
	}
	k, err := b.CachedKernel(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "specnet_generic")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("generic", "*.[ch]"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("testdata", "kmod", "mod.c"), filepath.Join("testdata", "kmod", "Kbuild"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ko, err := b.UnsignedModule(t.Context(), k, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s", ko)
}
