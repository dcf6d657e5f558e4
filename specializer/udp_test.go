package specializer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"specbed/images/specnet"
	"specbed/specializer"
	"specbed/specializer/ctxschema"
	"specbed/specializer/ir"
	"specbed/specializer/parse"
	"specbed/specializer/spec"
)

// genericDir holds the generic UDP send path (helper G's images/specnet/generic).
var genericDir = filepath.Join("..", "images", "specnet", "generic")

func loadUDP(t testing.TB) *specializer.Unit {
	t.Helper()
	u, err := specializer.Load(filepath.Join(genericDir, "udp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func context(t testing.TB, name string) *ctxschema.Context {
	t.Helper()
	for _, c := range specnet.Contexts() {
		if c.Name == name {
			ctx, err := ctxschema.Load(c.JSON)
			if err != nil {
				t.Fatal(err)
			}
			return ctx
		}
	}
	t.Fatalf("no context %s", name)
	return nil
}

// reparse parses a residual with the specializer's own parser, against the generic headers.
func reparse(t testing.TB, dir string, c []byte) *ir.Program {
	t.Helper()
	name := filepath.Join(t.TempDir(), "residual.c")
	if err := os.WriteFile(name, c, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := parse.Parse(parse.Config{Files: []string{name}, IncludeDirs: []string{dir}, Residual: true})
	if err != nil {
		t.Fatalf("the residual does not parse again: %v", err)
	}
	return p
}

// staticBranches lists the residual's conditionals whose condition is a constant: a branch on
// a value the specialization knew.
func staticBranches(f *ir.Func) []ir.Pos {
	var out []ir.Pos
	isConst := func(e ir.Expr) bool {
		_, ok := e.(*ir.Const)
		return ok
	}
	ir.Inspect(f.Body, func(n ir.Node) bool {
		var c ir.Expr
		switch n := n.(type) {
		case *ir.If:
			c = n.Cond
		case *ir.While:
			c = n.Cond
		case *ir.DoWhile:
			c = n.Cond
		case *ir.For:
			c = n.Cond
		case *ir.Switch:
			c = n.X
		case *ir.Cond:
			c = n.C
		case *ir.Binary:
			if n.Op == ir.LogAnd || n.Op == ir.LogOr {
				if isConst(n.X) || isConst(n.Y) {
					out = append(out, n.P)
				}
			}
		}
		if c != nil && isConst(c) {
			out = append(out, n.At())
		}
		return true
	})
	return out
}

// Every test context of the generic UDP path specializes; each residual parses again as the
// subset and has no conditional left on a static value.
func TestUDPContexts(t *testing.T) {
	u := loadUDP(t)
	for _, c := range specnet.Contexts() {
		t.Run(c.Name, func(t *testing.T) {
			ctx, err := ctxschema.Load(c.JSON)
			if err != nil {
				t.Fatal(err)
			}
			out, err := u.Specialize(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p := reparse(t, genericDir, out.C)
			f := p.Func(out.Entry)
			if f == nil || f.Body == nil {
				t.Fatalf("the residual does not define %s", out.Entry)
			}
			if pos := staticBranches(f); len(pos) > 0 {
				t.Errorf("%d branches on static values, first at %v", len(pos), pos[0])
			}
		})
	}
}

// observed joins what the specialization saw of a variable's reads in a function.
func observed(u *specializer.Unit, r *spec.Residual, fn, name string) spec.Outcome {
	var o spec.Outcome
	ir.Inspect(u.Prog.Func(fn).Body, func(n ir.Node) bool {
		if v, ok := n.(*ir.VarRef); ok && (v.Var.Name == name || strings.HasPrefix(v.Var.Name, name+"_")) {
			o |= r.Observed[v]
		}
		if m, ok := n.(*ir.Member); ok && "."+m.Field.Name == name {
			o |= r.Observed[m]
		}
		return true
	})
	return o
}

// In the typical context the values the paper freezes are static wherever the specialization
// met them (destination, port, TOS, route, MTU, device features), the payload dynamic.
func TestUDPKeyValuesObserved(t *testing.T) {
	u := loadUDP(t)
	out, err := u.Specialize(context(t, "typical"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		fn, name string
		want     spec.Outcome
	}{
		{"sn_udp_sendmsg", "daddr", spec.WentTrue},
		{"sn_udp_sendmsg", "dport", spec.WentTrue},
		{"sn_udp_sendmsg", "tos", spec.WentTrue},
		{"sn___ip_append_data", "rt", spec.WentTrue},
		{"sn___ip_append_data", "mtu", spec.WentTrue},
		{"sn___ip_append_data", "fragheaderlen", spec.WentTrue},
		{"sn___ip_append_data", ".features", spec.WentTrue},
		{"sn___ip_append_data", "length", spec.WentTrue}, // fixed by the ADU guard
		{"sn_sendmsg", "buf", spec.WentFalse},
	} {
		if got := observed(u, out.Residual, k.fn, k.name); got != k.want {
			t.Errorf("%s: %s observed %d, want %d (1 static, 2 dynamic)", k.fn, k.name, got, k.want)
		}
	}
	if min := 80; out.Stats.BranchesRemoved < min {
		t.Errorf("%d conditionals decided, want at least %d", out.Stats.BranchesRemoved, min)
	}
}

// A context that does not cork pins the socket's pending frames (udp.decl's third guard) and is
// specialized with the analysis of that case; a corking one with the analysis without pins.
func TestUDPScenario(t *testing.T) {
	u := loadUDP(t)
	var analysed []string
	for _, sc := range u.BTA.Scenarios() {
		analysed = append(analysed, strings.Join(sc.Pinned, " "))
	}
	if strings.Join(analysed, "|") != "|sock->sk->up.pending" {
		t.Fatalf("scenarios %q, want none and sock->sk->up.pending", analysed)
	}
	for _, c := range []struct{ ctx, pinned string }{{"typical", "sock->sk->up.pending"}, {"cork-more-sg", ""}} {
		out, err := u.Specialize(context(t, c.ctx))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(out.Residual.Pinned, " "); got != c.pinned {
			t.Errorf("%s: pinned %q, want %q", c.ctx, got, c.pinned)
		}
	}
}
