package decl

import (
	"path/filepath"
	"strings"
	"testing"

	"specbed/specializer/parse"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"no version", "entry f\n", "d.decl:1: the first declaration must be \"version 1\""},
		{"unknown", "version 1\nsource a.c\nentry f\nfrobnicate x\n", "d.decl:4: unknown declaration \"frobnicate\""},
		{"bad class", "version 1\nparam sk sometimes\n", "d.decl:2: param sk: class must be static, dynamic or bound"},
		{"twice", "version 1\nparam sk bound\n\n# comment\nparam sk dynamic\n", "d.decl:5: sk already declared at line 2"},
		{"bad path", "version 1\nstatic sk->->x\n", "d.decl:2: path \"sk->->x\""},
		{"bad range", "version 1\nstatic sk->mtu 9..1\n", "d.decl:2: range \"9..1\""},
		{"bad guard", "version 1\nguard len == (adu\n", "d.decl:2: guard: missing ')'"},
		{"guard without fallback", "version 1\nsource a.c\nentry f\nguard len == adu\n", "d.decl:4: guards need a \"fallback\""},
		{"no source", "version 1\nentry f\n", "no \"source\" declaration"},
		{"not a .c source", "version 1\nsource a.h\n", "d.decl:2: source \"a.h\" is not a .c file"},
		{"reserved define", "version 1\ndefine SPECBED_USER\n", "d.decl:2: SPECBED_USER is set by the specializer"},
		{"unroll range", "version 1\nunroll 0\n", "d.decl:2: unroll \"0\""},
		{"outline twice", "version 1\noutline g\noutline g\n", "d.decl:3: outline g already declared at line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("d.decl", ".", []byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	for _, s := range []string{"sk", "sk->inet.daddr", "rt->dst.dev->hh[3]", "g.a[0].b"} {
		p, err := ParsePath(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if p.String() != s {
			t.Errorf("%s round-trips to %s", s, p)
		}
	}
	for _, s := range []string{"", "->a", "a.", "a[x]", "a[-1]", "a b"} {
		if _, err := ParsePath(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestGuards(t *testing.T) {
	tests := []struct {
		src  string
		want []string // names used
	}{
		{"len == adu", []string{"len", "adu"}},
		{"(flags & 0x8000) != 0 || sk->up.pending == 0", []string{"flags", "sk"}},
		{"!(a < -1) && ~b", []string{"a", "b"}},
	}
	for _, tt := range tests {
		e, err := ParseGuard(tt.src)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got := strings.Join(Names(e), ","); got != strings.Join(tt.want, ",") {
			t.Errorf("%s: names %s, want %v", tt.src, got, tt.want)
		}
	}
}

// tinyDecl is the tiny test path's declaration file with one line replaced (or added).
func resolveTiny(t *testing.T, edit func(string) string) error {
	t.Helper()
	dir := filepath.Join("..", "testdata", "tiny")
	base := `version 1
source ip.c sock.c
entry tiny_send
instance tiny_inst
param sk bound
param buf dynamic
param len dynamic
param flags static
bound rt sk->dst_cache
static rt->dev
static rt->dev->mtu 68..65535
value adu 1..65507
guard len == adu
fallback -11
`
	f, err := Parse("tiny.decl", dir, []byte(edit(base)))
	if err != nil {
		return err
	}
	prog, err := parse.Parse(parse.Config{Files: f.Sources, Base: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(f, prog)
	return err
}

func TestResolve(t *testing.T) {
	keep := func(s string) string { return s }
	if err := resolveTiny(t, keep); err != nil {
		t.Fatalf("base: %v", err)
	}
	tests := []struct {
		name     string
		from, to string
		want     string
	}{
		{"undeclared param", "param flags static\n", "", "tiny.decl:3: entry tiny_send: parameter flags is not declared"},
		{"no such param", "param flags static\n", "param flags static\nparam nope dynamic\n", "param nope: tiny_send has no such parameter"},
		{"static pointer param", "param buf dynamic", "param buf static", "param buf static: only integer parameters"},
		{"no such field", "static rt->dev->mtu 68..65535", "static rt->dev->mtux", "struct net_device has no member mtux"},
		{"pointer not static", "static rt->dev\n", "", "the pointer rt->dev is not declared static or bound"},
		{"range beyond type", "static rt->dev->mtu 68..65535", "static rt->dev->mtu 0..4294967296", "exceeds its type"},
		{"bound not a pointer", "bound rt sk->dst_cache", "bound rt sk->flags", "not a pointer to a struct"},
		{"instance member missing", "bound rt sk->dst_cache", "bound route sk->dst_cache", "struct tiny_inst needs a member"},
		{"guard name", "guard len == adu", "guard len == nope", "guard: nope is not an integer parameter or a declared value"},
		{"entry", "entry tiny_send", "entry shim_dev_xmit", "entry shim_dev_xmit is not a function defined"},
		{"outline a shim", "entry tiny_send", "entry tiny_send\noutline shim_dev_xmit", "outline shim_dev_xmit: not a function defined"},
		{"outline the entry", "entry tiny_send", "entry tiny_send\noutline tiny_send", "outline tiny_send: the entry is the residual's own function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := resolveTiny(t, func(s string) string { return strings.Replace(s, tt.from, tt.to, 1) })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
