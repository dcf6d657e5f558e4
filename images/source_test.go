package images

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testBuilder returns a builder on the real cache and this checkout: the
// integration tests share the kernels 'specbed images build' made.
func testBuilder(t *testing.T) *Builder {
	t.Helper()
	b, err := NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	b.Log = testLogWriter{t}
	return b
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestSource(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: extracts the kernel source (about 1.4 GB) on a cold cache")
	}
	b := testBuilder(t)
	dir, err := b.Source(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	version, err := SourceVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	upstream := strings.SplitN(version, "-", 2)[0] // "6.1.192" of "6.1.192-2"
	parts := strings.Split(upstream, ".")
	for i, key := range []string{"VERSION = ", "PATCHLEVEL = ", "SUBLEVEL = "} {
		if !strings.Contains(string(makefile), "\n"+key+parts[i]+"\n") && !strings.HasPrefix(string(makefile), key+parts[i]+"\n") {
			t.Errorf("source Makefile lacks %q%s for package version %s", key, parts[i], version)
		}
	}
	for _, want := range []string{"tools/include/nolibc/nolibc.h", "scripts/sign-file.c", "arch/arm/configs/collie_defconfig"} {
		if !fileExists(filepath.Join(dir, want)) {
			t.Errorf("source tree %s lacks %s", dir, want)
		}
	}
	again, err := b.Source(context.Background())
	if err != nil || again != dir {
		t.Errorf("second Source() = %q, %v; want the cached %q", again, err, dir)
	}
}

func TestEnsureFreeSpace(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		need    uint64
		wantErr bool
	}{
		{"nothing", 0, false},
		{"one byte", 1, false},
		{"more than any disk", 1 << 62, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ensureFreeSpace(dir, tt.need, "test build")
			if (err != nil) != tt.wantErr {
				t.Fatalf("ensureFreeSpace(%d) = %v, want error %v", tt.need, err, tt.wantErr)
			}
			if err != nil && (!strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "test build needs")) {
				t.Errorf("error %q does not say what needs how much where", err)
			}
		})
	}
}
