package spec

import (
	"fmt"
	"strings"

	"specbed/specializer/ir"
)

// removeDeadStores deletes assignments to residual locals that no later statement can read:
// the values lifted into memory for a merge whose continuation never uses them, say. It is a
// backward liveness analysis over the residual (gotos only go forward; residual loops are
// iterated to a fixpoint). An assignment whose right-hand side has effects keeps them.
func removeDeadStores(b *ir.Block) {
	for {
		l := &liveness{labels: map[string]varSet{}, taken: addressTaken(b), dead: map[*ir.ExprStmt]bool{}}
		l.stmt(b, varSet{})
		removed := false
		for s, dead := range l.dead {
			if dead {
				removed = true
				a := s.X.(*ir.Assign)
				if hasEffects(a.R) {
					s.X = a.R
				} else {
					s.X = nil
				}
			}
		}
		if !removed {
			return
		}
		dropEmpty(b)
	}
}

// varSet is what is live: per variable, the access paths (".q[0].len"; "" the whole variable)
// a later statement may read.
type varSet map[*ir.Var]map[string]bool

// everyVar in a varSet stands for all variables (the conservative answer).
var everyVar = &ir.Var{Name: "*"}

// has reports whether a store to path of v may be read: a read of the path, of a part of it or
// of something containing it.
func (s varSet) has(v *ir.Var, path string) bool {
	if s[everyVar] != nil {
		return true
	}
	for p := range s[v] {
		if strings.HasPrefix(path, p) || strings.HasPrefix(p, path) {
			return true
		}
	}
	return false
}

func (s varSet) add(v *ir.Var, path string) {
	if s[v] == nil {
		s[v] = map[string]bool{}
	}
	s[v][path] = true
}

func (s varSet) union(t varSet) varSet {
	out := make(varSet, len(s)+len(t))
	for _, m := range []varSet{s, t} {
		for v, paths := range m {
			for p := range paths {
				out.add(v, p)
			}
		}
	}
	return out
}

func (s varSet) equal(t varSet) bool {
	if len(s) != len(t) {
		return false
	}
	for v, paths := range s {
		if len(t[v]) != len(paths) {
			return false
		}
		for p := range paths {
			if !t[v][p] {
				return false
			}
		}
	}
	return true
}

type liveness struct {
	labels map[string]varSet // live where a label is
	brk    []varSet          // live after the innermost breakable statements
	taken  map[*ir.Var]bool  // variables whose address is taken: never dead
	dead   map[*ir.ExprStmt]bool
}

// reads adds what an expression reads: the paths of locals it reads through members and
// constant indices, whole variables otherwise (and a plain assignment's target is not read,
// though its indices are).
func reads(e ir.Expr, into varSet) varSet {
	if e == nil {
		return into
	}
	if v, path, ok := pathOf(e); ok {
		into.add(v, path)
		readIndices(e, into)
		return into
	}
	switch e := e.(type) {
	case *ir.VarRef:
		into.add(e.Var, "")
	case *ir.Assign:
		if _, _, ok := pathOf(e.L); ok && e.Op == 0 {
			readIndices(e.L, into)
		} else {
			reads(e.L, into)
		}
		reads(e.R, into)
	case *ir.Unary:
		reads(e.X, into)
	case *ir.Binary:
		reads(e.X, into)
		reads(e.Y, into)
	case *ir.Cond:
		reads(e.C, into)
		reads(e.X, into)
		reads(e.Y, into)
	case *ir.Cast:
		reads(e.X, into)
	case *ir.Member:
		reads(e.X, into)
	case *ir.Index:
		reads(e.X, into)
		reads(e.I, into)
	case *ir.Deref:
		reads(e.X, into)
	case *ir.AddrOf:
		reads(e.X, into)
	case *ir.IncDec:
		reads(e.X, into)
	case *ir.Call:
		reads(e.Fn, into)
		for _, a := range e.Args {
			reads(a, into)
		}
	case *ir.Comma:
		reads(e.X, into)
		reads(e.Y, into)
	}
	return into
}

// pathOf spells an lvalue rooted at a local through members and constant indices:
// queue.q[0].len is (queue, ".q[0].len"). A dynamic index ends the path at its array.
func pathOf(e ir.Expr) (*ir.Var, string, bool) {
	switch e := e.(type) {
	case *ir.VarRef:
		if e.Var.Kind == ir.Local {
			return e.Var, "", true
		}
	case *ir.Member:
		if e.Arrow {
			return nil, "", false
		}
		if v, p, ok := pathOf(e.X); ok {
			return v, p + "." + e.Field.Name, true
		}
	case *ir.Index:
		if _, arr := e.X.Type().(*ir.ArrayType); !arr {
			return nil, "", false
		}
		v, p, ok := pathOf(e.X)
		if !ok {
			return nil, "", false
		}
		if k, isConst := e.I.(*ir.Const); isConst {
			return v, fmt.Sprintf("%s[%d]", p, k.Val), true
		}
		return v, p, true // any element
	}
	return nil, "", false
}

// readIndices adds what an lvalue rooted at a local reads besides it: its indices.
func readIndices(e ir.Expr, into varSet) {
	switch e := e.(type) {
	case *ir.Member:
		readIndices(e.X, into)
	case *ir.Index:
		readIndices(e.X, into)
		reads(e.I, into)
	}
}

// lvalRoot returns the local variable an lvalue stores into (through members and array
// elements, not through pointers), or nil.
func lvalRoot(e ir.Expr) *ir.Var {
	switch e := e.(type) {
	case *ir.VarRef:
		if e.Var.Kind == ir.Local {
			return e.Var
		}
	case *ir.Member:
		if !e.Arrow {
			return lvalRoot(e.X)
		}
	case *ir.Index:
		if _, arr := e.X.Type().(*ir.ArrayType); arr {
			return lvalRoot(e.X)
		}
	}
	return nil
}

// stmt returns what is live before s, given what is live after it.
func (l *liveness) stmt(s ir.Stmt, out varSet) varSet {
	switch s := s.(type) {
	case *ir.Block:
		return l.stmts(s.Stmts, out)
	case *ir.ExprStmt:
		if s.X == nil {
			return out
		}
		if a, ok := s.X.(*ir.Assign); ok && a.Op == 0 {
			if v, path, ok := pathOf(a.L); ok && !l.taken[v] {
				l.dead[s] = !out.has(v, path)
				in := out.union(nil)
				if paths := in[v]; paths[path] && ir.IsScalar(a.L.Type()) {
					delete(paths, path) // this leaf is overwritten
				}
				readIndices(a.L, in)
				return reads(a.R, in)
			}
		}
		return reads(s.X, out.union(nil))
	case *ir.If:
		in := l.stmt(s.Then, out)
		if s.Else != nil {
			in = in.union(l.stmt(s.Else, out))
		} else {
			in = in.union(out)
		}
		return reads(s.Cond, in)
	case *ir.For:
		return l.loop(s.Cond, s.Post, s.Body, out, s.Init)
	case *ir.While:
		return l.loop(s.Cond, nil, s.Body, out, nil)
	case *ir.DoWhile:
		return l.loop(s.Cond, nil, s.Body, out, nil)
	case *ir.Switch:
		l.brk = append(l.brk, out)
		in := out.union(nil)
		for _, c := range s.Cases {
			in = in.union(l.stmts(c.Body, out))
		}
		l.brk = l.brk[:len(l.brk)-1]
		return reads(s.X, in)
	case *ir.Break:
		return l.brk[len(l.brk)-1].union(nil)
	case *ir.Goto:
		if in, ok := l.labels[s.Label]; ok {
			return in.union(nil)
		}
		return l.all()
	case *ir.Label:
		l.labels[s.Name] = out
		return out
	case *ir.Return:
		return reads(s.X, varSet{})
	case *ir.Decl:
		return reads(s.Init, out.union(nil))
	}
	return l.all() // anything else: keep everything
}

// all is every variable the function might read: the conservative answer.
func (l *liveness) all() varSet { return varSet{everyVar: {"": true}} }

func (l *liveness) stmts(ss []ir.Stmt, out varSet) varSet {
	for i := len(ss) - 1; i >= 0; i-- {
		out = l.stmt(ss[i], out)
	}
	return out
}

// loop iterates a loop's body to a fixpoint of what is live at its head.
func (l *liveness) loop(cond, post ir.Expr, body ir.Stmt, out varSet, init ir.Stmt) varSet {
	head := varSet{}
	for {
		l.brk = append(l.brk, out)
		next := l.stmt(body, reads(post, head.union(nil)))
		l.brk = l.brk[:len(l.brk)-1]
		next = reads(cond, next)
		if cond != nil {
			next = next.union(out)
		}
		grown := head.union(next)
		if grown.equal(head) {
			break
		}
		head = grown
	}
	if init != nil {
		return l.stmt(init, head)
	}
	return head
}

// addressTaken lists the variables whose address the residual takes (or that decay to one).
func addressTaken(b *ir.Block) map[*ir.Var]bool {
	taken := map[*ir.Var]bool{}
	ir.Inspect(b, func(n ir.Node) bool {
		switch n := n.(type) {
		case *ir.AddrOf:
			if v := lvalRoot(n.X); v != nil {
				taken[v] = true
			}
		case *ir.Cast:
			if _, arr := n.X.Type().(*ir.ArrayType); arr {
				if v := lvalRoot(n.X); v != nil {
					taken[v] = true
				}
			}
		}
		return true
	})
	return taken
}

// dropEmpty removes statements emptied by removeDeadStores and empty placeholders.
func dropEmpty(s ir.Stmt) {
	switch s := s.(type) {
	case *ir.Block:
		out := s.Stmts[:0]
		for _, c := range s.Stmts {
			if es, ok := c.(*ir.ExprStmt); ok && es.X == nil {
				continue
			}
			if b, ok := c.(*ir.Block); ok && len(b.Stmts) == 0 {
				continue
			}
			dropEmpty(c)
			out = append(out, c)
		}
		s.Stmts = out
	case *ir.If:
		dropEmpty(s.Then)
		if s.Else != nil {
			dropEmpty(s.Else)
		}
	case *ir.For:
		dropEmpty(s.Body)
	case *ir.While:
		dropEmpty(s.Body)
	case *ir.DoWhile:
		dropEmpty(s.Body)
	case *ir.Switch:
		for _, c := range s.Cases {
			b := &ir.Block{Stmts: c.Body}
			dropEmpty(b)
			c.Body = b.Stmts
		}
	}
}
