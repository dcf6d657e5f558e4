package images

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"specbed/qemu"
)

func TestClean(t *testing.T) {
	layout := []string{
		"kernels/i486-0123456789abcdef/kernel.json",
		"kernels/p3-0123456789abcdef/kernel.json",
		"modules/i486-0123456789abcdef/oops-aaaa-signed/oops.ko",
		"modules/p3-0123456789abcdef/oops-aaaa-signed/oops.ko",
		"build/i486/vmlinux",
		"build/p3/vmlinux",
		"src/6.1.192-2-e3b0c44298fc/Makefile",
		"logs/kernel-i486.log",
		"keys/signing_key.pem",
	}
	tests := []struct {
		name     string
		platform string // "" for all
		keys     bool
		want     []string // what remains
	}{
		{"one platform", "i486", false, []string{
			"build/p3/vmlinux",
			"kernels/p3-0123456789abcdef/kernel.json",
			"keys/signing_key.pem",
			"logs/kernel-i486.log",
			"modules/p3-0123456789abcdef/oops-aaaa-signed/oops.ko",
			"src/6.1.192-2-e3b0c44298fc/Makefile",
		}},
		{"all platforms keep the key", "", false, []string{"keys/signing_key.pem"}},
		{"all platforms and the key", "", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			for _, f := range layout {
				path := filepath.Join(cache, f)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var p *qemu.Platform
			if tt.platform != "" {
				var err error
				if p, err = qemu.Lookup(tt.platform); err != nil {
					t.Fatal(err)
				}
			}
			b := &Builder{Cache: cache}
			if err := b.Clean(context.Background(), p, tt.keys); err != nil {
				t.Fatal(err)
			}
			var got []string
			filepath.WalkDir(cache, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && filepath.Dir(path) != filepath.Join(cache, "locks") {
					rel, _ := filepath.Rel(cache, path)
					got = append(got, rel)
				}
				return err
			})
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("remaining files %q, want %q", got, tt.want)
			}
		})
	}
}
