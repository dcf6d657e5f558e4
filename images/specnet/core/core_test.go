package core

import (
	"debug/elf"
	"slices"
	"strings"
	"testing"

	"specbed/images/guesttest"
)

// TestBuild builds the core module for every platform's cached kernel and
// checks that it exports exactly Exports (what Symvers tells a residual's
// modpost): the registry and every shim function.
func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kernel modules; skipped only in short mode")
	}
	guesttest.ForEach(t, guesttest.Builder(t), func(t *testing.T, g *guesttest.Guest) {
		ko, err := Build(t.Context(), g.B, g.K)
		if err != nil {
			t.Fatal(err)
		}
		got, err := exported(ko)
		if err != nil {
			t.Fatal(err)
		}
		syms, err := Exports(GenericDir(g.B))
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(slices.Values(syms))
		if !slices.Equal(got, want) {
			t.Errorf("%s exports %v, want %v", ko, got, want)
		}
	})
}

// exported lists a module's exported symbols: the __ksymtab_<name>
// entries modpost and the loader read.
func exported(ko string) ([]string, error) {
	f, err := elf.Open(ko)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range syms {
		if name, ok := strings.CutPrefix(s.Name, "__ksymtab_"); ok && !strings.HasPrefix(s.Name, "__ksymtab_gpl") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}
