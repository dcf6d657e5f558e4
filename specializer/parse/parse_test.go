package parse

import (
	"path/filepath"
	"strings"
	"testing"

	"specbed/specializer/ir"
)

func tinyConfig() Config {
	dir := filepath.Join("..", "testdata", "tiny")
	return Config{Files: []string{filepath.Join(dir, "ip.c"), filepath.Join(dir, "sock.c")}, Base: dir}
}

func TestParseTiny(t *testing.T) {
	p, err := Parse(tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	send := p.Func("tiny_send")
	if send == nil || send.Body == nil || send.Pos.File != "sock.c" {
		t.Fatalf("tiny_send: %+v", send)
	}
	if got := p.Func("shim_dev_xmit"); got == nil || got.Shim != ir.ShimEffect {
		t.Errorf("shim_dev_xmit: %+v", got)
	}
	if got := p.Func("shim_route_output"); got == nil || got.Shim != ir.ShimPure {
		t.Errorf("shim_route_output: %+v", got)
	}
	errno, err := parseOne("__attribute__((specbed_effect)) __attribute__((specbed_errno)) int sock_error(void);\nint f(void) { return sock_error(); }")
	if err != nil {
		t.Fatal(err)
	}
	if got := errno.Func("sock_error"); got == nil || !got.Errno || got.Shim != ir.ShimEffect {
		t.Errorf("sock_error: %+v", got)
	}
	if len(p.Headers) != 1 || p.Headers[0] != "tiny.h" {
		t.Errorf("headers %v", p.Headers)
	}
	if st := p.Structs["tiny_inst"]; st == nil || !st.Complete || len(st.Fields) != 2 {
		t.Errorf("instance struct: %+v", st)
	}
	// Every node has a position.
	for _, f := range p.Funcs {
		if f.Body == nil {
			continue
		}
		ir.Inspect(f.Body, func(n ir.Node) bool {
			if _, blk := n.(*ir.Block); !blk && n.At().Line == 0 {
				t.Errorf("%s: %T without a position", f.Name, n)
			}
			return true
		})
	}
}

const shim = `typedef unsigned char u8; typedef unsigned int u32; typedef unsigned long long u64;
__attribute__((specbed_effect)) int eff(int x);
`

// parseOne parses one in-memory file after the shim prelude.
func parseOne(src string) (*ir.Program, error) {
	return Parse(Config{Files: []string{"t.c"}, Texts: map[string]string{"t.c": shim + src}})
}

func TestLowering(t *testing.T) {
	tests := []struct {
		name, src string
		check     func(*testing.T, *ir.Func)
	}{
		{"implicit conversions are explicit", `u32 f(u8 a) { return a + 1; }`, func(t *testing.T, f *ir.Func) {
			ret := f.Body.Stmts[0].(*ir.Return)
			c, ok := ret.X.(*ir.Cast)
			if !ok || !c.Implicit {
				t.Fatalf("return of %T, want an implicit cast of int to u32", ret.X)
			}
			b := c.X.(*ir.Binary)
			if b.T != ir.Int || !b.X.(*ir.Cast).Implicit {
				t.Errorf("u8 + int: %+v", b)
			}
		}},
		{"sizeof and enums fold", `enum { A = 3 }; struct s { u32 a; u8 b; }; int f(void) { return sizeof(struct s) + A; }`, func(t *testing.T, f *ir.Func) {
			if c, ok := f.Body.Stmts[0].(*ir.Return).X.(*ir.Const); !ok || c.Val != 11 {
				t.Errorf("got %#v, want 11", f.Body.Stmts[0].(*ir.Return).X)
			}
		}},
		{"assignment keeps its effect", `int f(int x) { int i; for (i = 0; i < x; i++) eff(i); return i; }`, func(t *testing.T, f *ir.Func) {
			fs := f.Body.Stmts[1].(*ir.For)
			if _, ok := fs.Init.(*ir.ExprStmt).X.(*ir.Assign); !ok {
				t.Errorf("for init %T, want an assignment", fs.Init.(*ir.ExprStmt).X)
			}
		}},
		{"designated initializer", `struct s { u32 a; u32 b[2]; }; u32 f(void) { struct s v = { .b = { 1, 2 } }; return v.b[1]; }`, func(t *testing.T, f *ir.Func) {
			d := f.Body.Stmts[0].(*ir.Decl)
			if len(d.List) != 2 || d.List[1].Path[0].Field.Name != "b" || d.List[1].Path[1].Index != 1 {
				t.Errorf("initializer %+v", d.List)
			}
		}},
		{"switch without fall-through", `int f(int x) { switch (x) { case 1: case 2: return 3; default: break; } return 0; }`, func(t *testing.T, f *ir.Func) {
			sw := f.Body.Stmts[0].(*ir.Switch)
			if len(sw.Cases) != 2 || len(sw.Cases[0].Vals) != 2 || !sw.Cases[1].Default {
				t.Errorf("cases %+v", sw.Cases)
			}
		}},
		{"forward goto to a top-level label", `int f(int x) { if (x) goto out; eff(1); out: return 0; }`, func(t *testing.T, f *ir.Func) {
			if _, ok := f.Body.Stmts[2].(*ir.Label); !ok {
				t.Errorf("stmt 2 is %T", f.Body.Stmts[2])
			}
		}},
		{"shadowed locals get unique names", `int f(int x) { int y = 1; { int y = 2; x += y; } return x + y; }`, func(t *testing.T, f *ir.Func) {
			inner := f.Body.Stmts[1].(*ir.Block).Stmts[0].(*ir.Decl)
			if inner.Var.Name != "y_2" {
				t.Errorf("inner y is %s", inner.Var.Name)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseOne(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p.Func("f"))
		})
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name, src, pos, msg string
	}{
		{"union", "union u { int a; u32 b; };\nint f(union u *p) { return p->a; }", "t.c:4:", "unions"},
		{"float", "int f(void) {\n\treturn 1.5 > 1; }", "t.c:4:9", "floating point"},
		{"string", "int f(void) {\n\treturn eff(\"x\"[0]); }", "t.c:4:13", "string literals"},
		{"plain char", "int f(char c) { return c; }", "t.c:3:", "plain char"},
		{"bitfield", "struct s { u32 a : 3; };\nint f(struct s *p) { return p->a; }", "t.c:3:", "bitfield"},
		{"backward goto", "int f(int x) {\nagain:\n\tif (eff(x)) goto again;\n\treturn 0; }", "t.c:5:", "backward"},
		{"nested label", "int f(int x) {\n\tif (x) { l: eff(1); }\n\tgoto l; }", "t.c:4:", "top level"},
		{"fall-through", "int f(int x) {\n\tswitch (x) {\n\tcase 1: eff(1);\n\tcase 2: return 2; }\n\treturn 0; }", "t.c:6:", "fall-through"},
		{"variadic", "int g(int n, ...);\nint f(void) { return 0; }", "t.c:3:", "variadic"},
		{"unmarked external", "int g(int n);\nint f(void) { return g(1); }", "t.c:4:22", "no SHIM_PURE or SHIM_EFFECT"},
		{"errno not an integer", "__attribute__((specbed_effect)) __attribute__((specbed_errno)) u8 *g(void);\nint f(void) { return !g(); }", "t.c:3:", "SHIM_ERRNO"},
		{"static local", "int f(void) {\n\tstatic int n;\n\treturn n; }", "t.c:4:", "static local"},
		{"inline asm", "int f(void) {\n\t__asm__(\"nop\");\n\treturn 0; }", "t.c:4:", "asm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOne(tt.src)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.pos) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want position %s and %q", err, tt.pos, tt.msg)
			}
		})
	}
}
