package compile

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"specbed/images"
	"specbed/images/specnet"
	"specbed/qemu"
)

// TestPrecompiledHeadersSameCode: a residual compiled with the recipe's
// precompiled kernel headers has the same instructions as the same
// residual compiled by kbuild's own command, which parses them: the .gch
// saves time and changes nothing a count-mode run measures. The objects
// are the same bytes on x86; on the SA-1110, GCC orders independent
// instructions of the TCP residual otherwise and, with the TCP shim's
// steps inline (generic/tcp_shim_inline.h), picks other registers in a
// few blocks: the same operations per function in a .text of the same
// size (the branches, calls, pushes and pops measured at the same
// addresses). A UDP and a TCP residual (both include the headers) on
// every platform.
func TestPrecompiledHeadersSameCode(t *testing.T) {
	udp, ok := specnet.ContextNamed("typical")
	if !ok {
		t.Fatal("specnet has no typical context")
	}
	tcp := specnet.TCPContexts()[0]
	for _, platform := range qemu.Names() {
		t.Run(platform, func(t *testing.T) {
			d, u := testDriver(t, platform)
			r, err := d.prepared(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name string
				res  Residual
			}{{"udp " + udp.Name, residualOf(t, u, udp)}, {"tcp " + tcp.Name, residualOf(t, unitOf(t, d, "tcp.decl"), tcp)}} {
				withPCH, parsed := compileBothWays(t, r, d.kernel.BuildDir, tc.res)
				if bytes.Equal(withPCH, parsed) {
					continue
				}
				prefix := d.platform.Kernel.CrossCompile
				a, b := functionCode(t, prefix, withPCH), functionCode(t, prefix, parsed)
				if textSize(t, withPCH) != textSize(t, parsed) || !maps.EqualFunc(mnemonics(a), mnemonics(b), slices.Equal) {
					t.Errorf("%s: residual.o with the precompiled headers (%d bytes) has other code than parsing them (%d bytes)",
						tc.name, len(withPCH), len(parsed))
				}
				if maps.EqualFunc(a, b, slices.Equal) {
					t.Logf("%s: the same instructions per function, not the same bytes", tc.name)
				} else {
					t.Logf("%s: the same operations per function, other registers", tc.name)
				}
			}
		})
	}
}

// functionCode disassembles an object: each function's instructions,
// sorted.
func functionCode(t *testing.T, objdumpPrefix string, object []byte) map[string][]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "residual.o")
	if err := os.WriteFile(path, object, 0o644); err != nil {
		t.Fatal(err)
	}
	insns, err := images.Disassemble(t.Context(), objdumpPrefix, path)
	if err != nil {
		t.Fatal(err)
	}
	code := map[string][]string{}
	for _, in := range insns {
		code[in.Function] = append(code[in.Function], in.Text)
	}
	for _, texts := range code {
		slices.Sort(texts)
	}
	return code
}

// mnemonics keeps each instruction's operation, sorted, of functionCode's
// map: what a function runs whatever registers it was given.
func mnemonics(code map[string][]string) map[string][]string {
	ops := map[string][]string{}
	for fn, texts := range code {
		for _, text := range texts {
			op, _, _ := strings.Cut(text, " ")
			ops[fn] = append(ops[fn], op)
		}
		slices.Sort(ops[fn])
	}
	return ops
}

func textSize(t *testing.T, object []byte) int {
	t.Helper()
	text, err := specnet.ObjectText(object)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// compileBothWays compiles res in a scratch folder of r with the recipe's
// command and with kbuild's recorded one (the precompile's, which starts
// with kbuild's forced headers, compiling residual.c instead), and
// returns the two objects.
func compileBothWays(t *testing.T, r *recipe, buildDir string, res Residual) (withPCH, parsed []byte) {
	t.Helper()
	scratch, err := os.MkdirTemp(r.Dir, ".build-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(scratch) })
	src := append(append([]byte{}, res.C...), entryTail(res.Entry, res.Digest)...)
	if err := os.WriteFile(filepath.Join(scratch, "residual.c"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	header := "-x c-header -o " + filepath.Join(r.Dir, precompiledHeader+".gch") + " " + filepath.Join(r.Dir, kernelHeaders)
	if !strings.Contains(r.Precompile, header) {
		t.Fatalf("precompile command lacks %q: %.300q", header, r.Precompile)
	}
	kbuild := strings.Replace(r.Precompile, header, "-o "+filepath.Join(r.Dir, "residual.o")+" "+filepath.Join(r.Dir, "residual.c"), 1)
	var objects [2][]byte
	for i, cmd := range []string{r.Compile, kbuild} {
		if err := run(t.Context(), "compile residual", buildDir, "sh", "-c", r.rebase(cmd, scratch)); err != nil {
			t.Fatal(err)
		}
		if objects[i], err = os.ReadFile(filepath.Join(scratch, "residual.o")); err != nil {
			t.Fatal(err)
		}
	}
	return objects[0], objects[1]
}
