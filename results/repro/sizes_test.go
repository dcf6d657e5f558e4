package repro

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"specbed/images"
	"specbed/images/specnet"
)

// TestObjectSizes compiles a small object with the host compiler and
// checks the ELF readings against nm -S and size -A: function sizes by
// name, and .text without the module-style .init.text.
func TestObjectSizes(t *testing.T) {
	for _, tool := range []string{"gcc", "nm", "size"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v (build-essential is a dependency of specbed setup)", tool, err)
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "obj.c")
	obj := filepath.Join(dir, "obj.o")
	code := `int twice(int x) { return 2 * x; }
int sum(const int *v, int n) { int s = 0; for (int i = 0; i < n; i++) s += v[i] * v[i]; return s; }
__attribute__((section(".init.text"))) int setup(int x) { return x + 1; }
`
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-O2", "-fno-asynchronous-unwind-tables", "-c", src, "-o", obj).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	sizes, err := functionSizes(data)
	if err != nil {
		t.Fatal(err)
	}
	nm, err := exec.Command("nm", "-S", obj).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, line := range strings.Split(string(nm), "\n") {
		if f := strings.Fields(line); len(f) == 4 && (f[2] == "T" || f[2] == "t") {
			n, _ := strconv.ParseInt(f[1], 16, 64)
			want[f[3]] = int(n)
		}
	}
	for _, name := range []string{"twice", "sum", "setup"} {
		if sizes[name] == 0 || sizes[name] != want[name] {
			t.Errorf("%s: %d bytes, nm -S says %d", name, sizes[name], want[name])
		}
	}
	text, err := specnet.ObjectText(data)
	if err != nil {
		t.Fatal(err)
	}
	sizeOut, err := exec.Command("size", "-A", obj).Output()
	if err != nil {
		t.Fatal(err)
	}
	wantText := 0
	for _, line := range strings.Split(string(sizeOut), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == ".text" || strings.HasPrefix(f[0], ".text.")) {
			n, _ := strconv.Atoi(f[1])
			wantText += n
		}
	}
	if text != wantText || text < sizes["twice"]+sizes["sum"] {
		t.Errorf(".text: %d bytes, size -A says %d (functions twice and sum: %d)", text, wantText, sizes["twice"]+sizes["sum"])
	}
}

// TestGenericFunctions reads the generic UDP and TCP paths' functions
// from their declarations: the entry is among them, no shim is.
func TestGenericFunctions(t *testing.T) {
	repo, err := images.FindRepo()
	if err != nil {
		t.Fatal(err)
	}
	generic := filepath.Join(repo, "images", "specnet", "generic")
	for _, tc := range []struct {
		decl, entry string
		atLeast     int
		shims       []string
	}{
		{"udp.decl", "sn_sendmsg", 10, []string{"shim_kernel.h"}},
		{"tcp.decl", "sn_tcp_sendmsg_locked", 5, []string{"shim_kernel.h", "tcp_shim_kernel.h", "tcp_shim.h"}},
	} {
		t.Run(tc.decl, func(t *testing.T) {
			names, err := genericFunctions(filepath.Join(generic, tc.decl))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(names, tc.entry) || len(names) < tc.atLeast {
				t.Errorf("generic functions %v: want the entry %s among at least %d", names, tc.entry, tc.atLeast)
			}
			for _, h := range tc.shims {
				shims, err := os.ReadFile(filepath.Join(generic, h))
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range names {
					if strings.Contains(string(shims), " "+n+"(") {
						t.Errorf("%s is a shim (%s), not a generic function", n, h)
					}
				}
			}
		})
	}
}
