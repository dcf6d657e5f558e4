package spec

import (
	"specbed/specializer/ir"
)

// MaxSplitGroups bounds how many copies of a call's continuation split specializes (the
// binding-time analysis mirrors the split with the same bound).
const MaxSplitGroups = 4

// smallCopy is how many residual statements the copies of a split other than the biggest may
// hold together: beyond it, copies that all go on past the test cost more than they save.
const smallCopy = 16

// split handles a statement whose value comes from an inlined call, and the statement after it
// that tests the value (err = f(); if (err) ...): when the callee's return paths leave different
// static states and each returns a value whose truth is known (0 on success, an error code known
// nonzero on failure), the two statements are specialized once per group of return paths
// instead of after merging them. The failure copy leaves through its error branch, so the
// success path keeps what it knows (the datagram's static geometry, say). It reports how many
// statements it consumed (0: not applicable, nothing was done).
func (sp *specializer) split(ss []ir.Stmt, i int) (int, error) {
	s := ss[i]
	c, tested := SplitCall(s)
	if c == nil {
		return 0, nil
	}
	f := c.Callee()
	if sp.r.Outlines[f.Name] != nil {
		return 0, nil // one copy for every caller: nothing to specialize per outcome
	}
	if d, ok := s.(*ir.Decl); ok {
		// Declare first, so every copy assigns the same object.
		if err := sp.decl(&ir.Decl{S: d.S, Var: d.Var}); err != nil {
			return 0, err
		}
		s = sp.declAssign(d)
	}
	cont := []ir.Stmt{s}
	if !tested && i+1 < len(ss) {
		if _, label := ss[i+1].(*ir.Label); !label {
			cont = append(cont, ss[i+1])
		}
	}
	snap := sp.snapshot()
	n, extra, err := sp.splitOnce(c, f, cont, true)
	if err != nil || extra <= smallCopy {
		return n, err
	}
	// Several big copies went on past the test and merge again: they bought little but size.
	// Do it again without splitting.
	sp.restore(snap)
	n, _, err = sp.splitOnce(c, f, cont, false)
	return n, err
}

// splitOnce specializes the call and its continuation, per group of return paths when allowed.
// It reports the statements consumed and the size (residual statements) of the copies that
// went on past the test, the biggest left out.
func (sp *specializer) splitOnce(c *ir.Call, f *ir.Func, cont []ir.Stmt, allow bool) (int, int, error) {
	args, err := sp.args(c, f)
	if err != nil {
		return 0, 0, err
	}
	fr, err := sp.enter(f, c, args)
	if err != nil {
		return 0, 0, err
	}
	groups := groupEdges(fr.ret.edges)
	if len(groups) > 1 && (!allow || !decidedReturns(fr, groups)) {
		groups = [][]edge{fr.ret.edges}
	}
	if len(groups) == 1 {
		cont = cont[:1] // one path: the statement after is specialized as usual
	}
	join := &target{depth: sp.depth, hint: "join"}
	var sizes []int
	for _, g := range groups {
		tg := sp.retarget(g, fr.ret)
		sp.st = nil
		if err := sp.land(tg, c.P); err != nil {
			return 0, 0, err
		}
		v, err := sp.leave(fr, c.P)
		if err != nil {
			return 0, 0, err
		}
		sp.subst[c] = v
		before := sp.nstmt
		for _, cs := range cont {
			if sp.st == nil {
				break
			}
			if err := sp.stmt(cs); err != nil {
				delete(sp.subst, c)
				return 0, 0, err
			}
		}
		delete(sp.subst, c)
		if sp.st != nil && len(groups) > 1 {
			sizes = append(sizes, sp.nstmt-before)
			sp.jump(join, c.P)
		}
	}
	if len(groups) > 1 {
		sp.res.Stats.Splits++
		if err := sp.land(join, c.P); err != nil {
			return 0, 0, err
		}
	}
	extra, biggest := 0, 0
	for _, n := range sizes {
		extra += n
		if n > biggest {
			biggest = n
		}
	}
	return len(cont), extra - biggest, nil
}

// SplitCall returns the inlined call a statement's value comes from, in the forms split
// handles; tested reports a statement that tests the value itself (if, return).
func SplitCall(s ir.Stmt) (c *ir.Call, tested bool) {
	unwrap := func(e ir.Expr) *ir.Call {
		if k, ok := e.(*ir.Cast); ok && k.Implicit {
			e = k.X
		}
		if c, ok := e.(*ir.Call); ok && c.Callee() != nil && c.Callee().Body != nil {
			return c
		}
		return nil
	}
	switch s := s.(type) {
	case *ir.ExprStmt:
		if a, ok := s.X.(*ir.Assign); ok && a.Op == 0 && simpleLvalue(a.L) {
			return unwrap(a.R), false
		}
	case *ir.Decl:
		if s.Init != nil {
			return unwrap(s.Init), false
		}
	case *ir.If:
		switch x := s.Cond.(type) {
		case *ir.Unary:
			if x.Op == ir.LogNot {
				return unwrap(x.X), true
			}
		case *ir.Binary:
			if _, k := x.Y.(*ir.Const); k && x.Op.IsCompare() {
				return unwrap(x.X), true
			}
		}
		return unwrap(s.Cond), true
	}
	return nil, false
}

// simpleLvalue reports an lvalue whose evaluation has no effect and that the call cannot
// redirect: a local and its members.
func simpleLvalue(e ir.Expr) bool {
	switch e := e.(type) {
	case *ir.VarRef:
		return e.Var.Kind == ir.Local
	case *ir.Member:
		return !e.Arrow && simpleLvalue(e.X)
	}
	return false
}

// declAssign is the assignment a declaration's initializer amounts to (made once per
// declaration, so its nodes stay the same for the analysis and the reports).
func (sp *specializer) declAssign(d *ir.Decl) ir.Stmt {
	if s := sp.declAssigns[d]; s != nil {
		return s
	}
	s := DeclAssign(d)
	sp.declAssigns[d] = s
	return s
}

// DeclAssign makes the assignment a declaration's initializer amounts to, for a split that
// declares first and assigns in each copy. Its nodes are new on every call.
func DeclAssign(d *ir.Decl) ir.Stmt {
	ref := &ir.VarRef{E: ir.E{T: d.Var.Type, P: d.P}, Var: d.Var}
	return &ir.ExprStmt{S: d.S, X: &ir.Assign{E: ir.E{T: d.Var.Type, P: d.P}, L: ref, R: d.Init}}
}

// groupEdges groups return paths by the static state they leave, the group of a path that
// continues in place (a static jump) first. More than MaxSplitGroups groups make one.
func groupEdges(edges []edge) [][]edge {
	var groups [][]edge
	for _, e := range edges {
		placed := false
		for gi, g := range groups {
			if sameState(g[0].st, e.st) {
				groups[gi] = append(g, e)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []edge{e})
		}
	}
	if len(groups) > MaxSplitGroups {
		return [][]edge{edges}
	}
	for gi, g := range groups {
		for _, e := range g {
			if !e.residual {
				groups[0], groups[gi] = groups[gi], groups[0]
				return groups
			}
		}
	}
	return groups
}

// sameState reports whether two states know the same things.
func sameState(a, b *state) bool {
	if len(a.objs) != len(b.objs) || len(a.heap) != len(b.heap) {
		return false
	}
	for path, x := range a.heap {
		y, ok := b.heap[path]
		if !ok || x.mem != y.mem || !x.mem && !same(x.v, y.v) {
			return false
		}
	}
	for i, ea := range a.objs {
		eb := b.objs[i]
		if ea.o != eb.o {
			return false
		}
		if ea.os == eb.os {
			continue
		}
		if ea.os.escaped != eb.os.escaped {
			return false
		}
		for j := range ea.os.slots {
			x, y := ea.os.slots[j], eb.os.slots[j]
			if x.mem != y.mem || x.fact != y.fact || !x.mem && !same(x.v, y.v) {
				return false
			}
		}
	}
	return true
}

// decidedReturns reports whether every group returns a value whose truth is known: static, or
// known nonzero (an error code).
func decidedReturns(fr *frame, groups [][]edge) bool {
	if fr.retObj == nil {
		return false
	}
	for _, g := range groups {
		for _, e := range g {
			os := e.st.get(fr.retObj)
			if os == nil {
				return false
			}
			if sl := os.slots[0]; sl.mem && sl.fact&nonzero == 0 || !sl.mem && !sl.v.static() {
				return false
			}
		}
	}
	return true
}

// retarget moves a group of a function's return paths to a merge point of their own.
func (sp *specializer) retarget(g []edge, ret *target) *target {
	tg := &target{depth: ret.depth, hint: ret.hint, edges: g}
	for _, e := range g {
		if e.jmp != nil {
			if tg.label == "" {
				tg.label = sp.uniq(ret.hint)
			}
			e.jmp.Label = tg.label
		}
		for pi := range sp.pending {
			if e.slot != nil && sp.pending[pi].slot == e.slot {
				sp.pending[pi].t = tg
			}
		}
	}
	ret.edges = nil
	return tg
}
