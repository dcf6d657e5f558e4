package compile

import (
	"bytes"
	"debug/elf"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/specnet"
	"specbed/images/specnet/core"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/ctxschema"
)

// testDriver returns a driver for platform's cached kernel, its recipes in
// a fresh folder, and the UDP unit.
func testDriver(t *testing.T, platform string) (*Driver, *specializer.Unit) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds kernel modules; skipped only in short mode")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	p, err := qemu.Lookup(platform)
	if err != nil {
		t.Fatal(err)
	}
	k, err := b.CachedKernel(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	d := New(k, p, filepath.Join(b.Repo, "images", "specnet", "generic"), t.TempDir())
	return d, unitOf(t, d, "udp.decl")
}

// unitOf loads a declaration file of d's generic tree.
func unitOf(t *testing.T, d *Driver, decl string) *specializer.Unit {
	t.Helper()
	u, err := specializer.Load(filepath.Join(d.generic, decl))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func residualOf(t *testing.T, u *specializer.Unit, c specnet.Context) Residual {
	t.Helper()
	ctx, err := ctxschema.Load(c.JSON)
	if err != nil {
		t.Fatal(err)
	}
	out, err := u.Specialize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return Residual{C: out.C, Entry: out.Entry}
}

// modinfo returns the .modinfo section's key=value strings.
func modinfo(t *testing.T, ko []byte) map[string]string {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		t.Fatal("no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	info := map[string]string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			info[k] = v
		}
	}
	return info
}

// TestBuild builds residuals of two contexts on every platform and checks
// each is a signed module of that kernel (vermagic, signature) with its
// own name that depends on the core module.
func TestBuild(t *testing.T) {
	for _, platform := range qemu.Names() {
		t.Run(platform, func(t *testing.T) {
			d, u := testDriver(t, platform)
			start := time.Now()
			if err := d.Prepare(t.Context()); err != nil {
				t.Fatal(err)
			}
			t.Logf("recipe recorded in %v", time.Since(start))
			names := map[string]bool{}
			for _, c := range specnet.Contexts()[:2] {
				res := residualOf(t, u, c)
				m, err := d.Build(t.Context(), res)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %d bytes, compile %v, sign %v", c.Name, len(m.Ko), m.Compile, m.Sign)
				if !images.IsSigned(m.Ko) {
					t.Errorf("%s: not signed", c.Name)
				}
				info := modinfo(t, m.Ko)
				if got := info["name"]; got != m.Name || !strings.HasPrefix(got, residualNamePrefix) || names[got] {
					t.Errorf("%s: module name %q, want Module.Name %q (prefix %s), unique among %v", c.Name, got, m.Name, residualNamePrefix, names)
				}
				names[info["name"]] = true
				if got := info["depends"]; got != core.ModuleName {
					t.Errorf("%s: depends %q, want %q", c.Name, got, core.ModuleName)
				}
				if v := info["vermagic"]; !strings.HasPrefix(v, d.Kernel().Release+" ") {
					t.Errorf("%s: vermagic %q is not kernel %s's", c.Name, v, d.Kernel().Release)
				}
				if !bytes.Contains(m.Ko, []byte(res.Entry+"\x00")) {
					t.Errorf("%s: entry %s not in the module", c.Name, res.Entry)
				}
				checkLines(t, c.Name, m)
			}
		})
	}
}

// checkLines: Module.Lines has the residual's line table and Ko's code;
// Ko, the shipped module, has no line table.
func checkLines(t *testing.T, name string, m *Module) {
	t.Helper()
	text := func(ko []byte) (code []byte, hasLines bool) {
		f, err := elf.NewFile(bytes.NewReader(ko))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		code, err = f.Section(".text").Data()
		if err != nil {
			t.Fatalf("%s: .text: %v", name, err)
		}
		return code, f.Section(".debug_line") != nil
	}
	shipped, shippedLines := text(m.Ko)
	withLines, hasLines := text(m.Lines)
	if shippedLines || !hasLines {
		t.Errorf("%s: line table in the shipped module %t, in Lines %t; want false, true", name, shippedLines, hasLines)
	}
	if !bytes.Equal(shipped, withLines) {
		t.Errorf("%s: Lines' code differs from the shipped module's", name)
	}
}

// TestBuildErrors: a residual that does not compile, or calls a symbol
// the kernel does not export, fails with the tool's message.
func TestBuildErrors(t *testing.T) {
	d, _ := testDriver(t, "i486")
	for _, tc := range []struct {
		name, c, step, msg string
	}{
		{"syntax", "int specnet_broken(void) { return }\n", "compile residual", "error"},
		{"undefined symbol", "int no_such_kernel_function(void);\nint specnet_broken(void) { return no_such_kernel_function(); }\n", "modpost", "no_such_kernel_function"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Build(t.Context(), Residual{C: []byte(tc.c), Entry: "specnet_broken"})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *compile.Error", err)
			}
			if ce.Step != tc.step || !strings.Contains(ce.Output, tc.msg) {
				t.Errorf("step %q output %q, want step %q mentioning %q", ce.Step, ce.Output, tc.step, tc.msg)
			}
		})
	}
	if _, err := d.Build(t.Context(), Residual{C: []byte("\n"), Entry: "bad\"name"}); err == nil {
		t.Error("an entry name that is no C identifier was accepted")
	}
}

// TestRecipeKeyStable: the recipe key names the folder whose path every
// residual's debug info holds, so it must not move between drivers (it
// once did with map order, and count-mode runs differed).
func TestRecipeKeyStable(t *testing.T) {
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	generic := filepath.Join(b.Repo, "images", "specnet", "generic")
	k := &images.Kernel{Key: "0123456789abcdef", Platform: "i486"}
	var first string
	for i := range 32 {
		key, err := New(k, nil, generic, t.TempDir()).key()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = key
		} else if key != first {
			t.Fatalf("driver %d's recipe key %s, the first's %s", i, key, first)
		}
	}
}

// TestBuildReproducible: the same residual built by drivers with their
// recipes in different caches is the same bytes (the module's path does
// not reach its build-id, so its signature and the count-mode
// instructions of the boot that loads it stay the same).
func TestBuildReproducible(t *testing.T) {
	d, u := testDriver(t, "i486")
	res := residualOf(t, u, specnet.Contexts()[0])
	var first []byte
	for i := range 2 {
		m, err := New(d.kernel, d.platform, d.generic, t.TempDir()).Build(t.Context(), res)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = m.Ko
		} else if !bytes.Equal(m.Ko, first) {
			t.Errorf("two drivers built %d and %d different bytes for the same residual", len(first), len(m.Ko))
		}
	}
}
