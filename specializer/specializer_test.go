package specializer_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"specbed/specializer"
	"specbed/specializer/ctxschema"
	"specbed/specializer/report"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var tinyDir = filepath.Join("testdata", "tiny")

func loadCtx(t testing.TB, path string) *ctxschema.Context {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ctxschema.Load(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// The residual of the tiny path for each of its contexts is pinned in testdata/tiny/golden
// (go test -update rewrites them): the printer's output is deterministic and reviewable.
func TestTinyGolden(t *testing.T) {
	u, err := specializer.Load(filepath.Join(tinyDir, "tiny.decl"))
	if err != nil {
		t.Fatal(err)
	}
	ctxs, err := filepath.Glob(filepath.Join(tinyDir, "ctx", "*.json"))
	if err != nil || len(ctxs) == 0 {
		t.Fatalf("no contexts: %v", err)
	}
	for _, cp := range ctxs {
		name := strings.TrimSuffix(filepath.Base(cp), ".json")
		t.Run(name, func(t *testing.T) {
			out, err := u.Specialize(loadCtx(t, cp))
			if err != nil {
				t.Fatal(err)
			}
			again, err := u.Specialize(loadCtx(t, cp))
			if err != nil || !bytes.Equal(out.C, again.C) {
				t.Fatalf("specializing twice gives different residuals (%v)", err)
			}
			reparse(t, tinyDir, out.C)
			golden := filepath.Join(tinyDir, "golden", name+".c")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.C, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want, out.C) {
				t.Errorf("residual differs from %s (go test -update to accept):\n%s", golden, out.C)
			}
		})
	}
}

// copyTree copies the regular files of dir into a new temporary directory.
func copyTree(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// edit inserts text after the first occurrence of anchor in file.
func edit(t *testing.T, file, anchor, text string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, anchor)
	if i < 0 {
		t.Fatalf("%s has no %q", file, anchor)
	}
	i += len(anchor)
	if err := os.WriteFile(file, []byte(s[:i]+text+s[i:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

// It is a specializer, not a template: a branch added to the generic source on a static
// field changes the residual, and only in the contexts where the field says so.
func TestEditedSource(t *testing.T) {
	tests := []struct {
		name, dir, decl, file, anchor, insert, marker string
		hit, miss                                     func(t *testing.T) *ctxschema.Context
	}{
		{
			name: "tiny", dir: tinyDir, decl: "tiny.decl", file: "ip.c", anchor: "\tint err = 0;\n",
			insert: "\n\tif (sk->inet.tos == 16)\n\t\tshim_free_skb(NULL);\n",
			marker: "shim_free_skb(((struct sk_buff *)0))",
			hit: func(t *testing.T) *ctxschema.Context {
				return loadCtx(t, filepath.Join(tinyDir, "ctx", "frag-3000-offload.json"))
			},
			miss: func(t *testing.T) *ctxschema.Context {
				return loadCtx(t, filepath.Join(tinyDir, "ctx", "eth-1024.json"))
			},
		},
		{
			name: "udp", dir: genericDir, decl: "udp.decl", file: "udp.c", anchor: "\tulen += SN_UDPHDR_LEN;\n",
			insert: "\tif (sk->sk_priority == 0x5ec)\n\t\tshim_snmp_inc(sk->sk_net, SN_MIB_UDP_SNDBUFERRORS, 0x5ec);\n",
			marker: "shim_snmp_inc(inst->sock->sk->sk_net, 9, 1516U)",
			hit: func(t *testing.T) *ctxschema.Context {
				return withValue(t, context(t, "typical"), "sock->sk->sk_priority", 0x5ec)
			},
			miss: func(t *testing.T) *ctxschema.Context { return context(t, "typical") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyTree(t, tt.dir)
			decl := filepath.Join(dir, tt.decl)
			before, err := specializer.Load(decl)
			if err != nil {
				t.Fatal(err)
			}
			edit(t, filepath.Join(dir, tt.file), tt.anchor, tt.insert)
			after, err := specializer.Load(decl)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				u    *specializer.Unit
				ctx  *ctxschema.Context
				want bool
			}{
				{before, tt.hit(t), false},
				{after, tt.hit(t), true},
				{after, tt.miss(t), false},
			} {
				out, err := c.u.Specialize(c.ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got := bytes.Contains(out.C, []byte(tt.marker)); got != c.want {
					t.Errorf("residual has %q: %v, want %v", tt.marker, got, c.want)
				}
			}
		})
	}
}

// withValue returns a copy of a context with one integer value changed.
func withValue(t *testing.T, c *ctxschema.Context, key string, v uint64) *ctxschema.Context {
	t.Helper()
	n := &ctxschema.Context{Label: c.Label, Values: map[string]ctxschema.Value{}}
	for k, val := range c.Values {
		n.Values[k] = val
	}
	old, ok := n.Values[key]
	if !ok {
		t.Fatalf("context has no %s", key)
	}
	old.Bits = v
	n.Values[key] = old
	n.Hash = ctxschema.Rehash(n)
	return n
}

func TestReport(t *testing.T) {
	u, err := specializer.Load(filepath.Join(tinyDir, "tiny.decl"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := u.Specialize(loadCtx(t, filepath.Join(tinyDir, "ctx", "eth-1024.json")))
	if err != nil {
		t.Fatal(err)
	}
	rep := report.Build(u.Prog, u.BTA, out.Residual, out.Lines)
	if rep.GenericLines == 0 || rep.LinesKept == 0 || rep.LinesKept > rep.GenericLines || rep.StaticNodes == 0 || rep.DynamicNodes == 0 {
		t.Errorf("implausible counts %+v", rep)
	}
	var html, text bytes.Buffer
	if err := rep.HTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := rep.Text(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<tr class="s">`, `<tr class="d">`, "sock.c", "&#9679;"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	if !strings.Contains(text.String(), out.Entry) {
		t.Errorf("text summary lacks the entry:\n%s", text.String())
	}
}
