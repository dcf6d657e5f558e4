package bta

import (
	"specbed/specializer/ir"
	"specbed/specializer/spec"
)

// split mirrors the specializer's continuation splitting (specializer/spec/split.go): for a
// statement whose value comes from an inlined call, and the statement after it that tests the
// value (err = f(); if (err) ...), the two are analysed once per group of the callee's return
// paths when every group returns a static value. A failure group, reached by a residual
// decision in the callee, then leaves through its error branch instead of making what the
// success path computed dynamic. The groups are the callee's static return paths (a context
// takes one of them at most) and its residual ones by abstract state, as in the specializer.
//
// The analysis stays on the safe side of the specializer, which undoes a split whose copies
// going on past the test grow big: when more than one group goes on, the split is undone
// here. It reports how many statements it consumed (0: not applicable, nothing was done).
func (a *analyzer) split(ss []ir.Stmt, i int) int {
	s := ss[i]
	c, tested := spec.SplitCall(s)
	if c == nil || a.r.Outlines[c.Callee().Name] != nil {
		return 0 // an outlined call's value is dynamic: nothing to analyse per outcome
	}
	if d, ok := s.(*ir.Decl); ok {
		a.stmt(&ir.Decl{S: d.S, Var: d.Var})
		s = a.declAssign(d)
	}
	cont := []ir.Stmt{s}
	if !tested && i+1 < len(ss) {
		if _, label := ss[i+1].(*ir.Label); !label {
			cont = append(cont, ss[i+1])
		}
	}
	f := c.Callee()
	args := make([]aval, len(c.Args))
	for i, arg := range c.Args {
		args[i] = a.expr(arg)
	}
	fr := a.enter(f, c, args)
	all := fr.ret.edges
	groups := groupEdges(all)
	if len(groups) < 2 || len(groups) > spec.MaxSplitGroups || !staticReturns(fr, groups) {
		return a.unsplit(fr, c, all, cont[0])
	}
	entered := a.markTargets()
	join := a.newTarget(a.depth, c)
	goOn := 0
	for _, g := range groups {
		residual := false
		var copies []aedge
		for _, e := range g {
			residual = residual || e.residual
			copies = append(copies, aedge{st: e.st.fork(), residual: e.residual}) // all stays as it is
		}
		level := a.depth
		if residual {
			a.depth++ // reached by residual jumps: its own jumps are residual too
		}
		outer := a.copy
		a.copies++
		a.copy = a.copies
		fr.ret.edges = copies
		a.st = nil
		a.subst[c] = a.leave(fr, c)
		if residual {
			a.st.deps = minDeps(copies, level) // these paths left the thread in the callee
		}
		for _, cs := range cont {
			if a.st == nil {
				break
			}
			a.stmt(cs)
		}
		delete(a.subst, c)
		if a.st != nil {
			goOn++
			a.jump(join)
		}
		a.copy = outer
		if residual {
			a.depth--
		}
	}
	if goOn > 1 {
		fr.ret.edges = all  // the copies landed it
		a.rollback(entered) // undo the copies' jumps, keep the callee's analysis
		return a.unsplit(fr, c, all, cont[0])
	}
	a.land(join)
	if a.st != nil {
		a.st.deps = fr.deps // every path that came to the call goes on here
	}
	return len(cont)
}

// unsplit merges the callee's return paths and analyses the statement with its value, as
// without a split.
func (a *analyzer) unsplit(fr *aframe, c *ir.Call, edges []aedge, s ir.Stmt) int {
	fr.ret.edges = edges
	a.st = nil
	a.subst[c] = a.leave(fr, c)
	a.stmt(s)
	delete(a.subst, c)
	return 1
}

// groupEdges groups a callee's return paths: the static ones first, together, then the
// residual ones by abstract state.
func groupEdges(edges []aedge) [][]aedge {
	var static []aedge
	var groups [][]aedge
	for _, e := range edges {
		if !e.residual {
			static = append(static, e)
			continue
		}
		placed := false
		for gi, g := range groups {
			if equal(g[0].st, e.st) {
				groups[gi] = append(g, e)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []aedge{e})
		}
	}
	if len(static) > 0 {
		groups = append([][]aedge{static}, groups...)
	}
	return groups
}

// staticReturns reports whether every return path returns a static value.
func staticReturns(fr *aframe, groups [][]aedge) bool {
	if fr.retObj == nil {
		return false
	}
	for _, g := range groups {
		for _, e := range g {
			os := e.st.objs[fr.retObj]
			if os == nil || os.escaped || os.cells[""].d {
				return false
			}
		}
	}
	return true
}

// declAssign is the assignment a split declaration amounts to, made once per declaration so its
// nodes stay the same across instances.
func (a *analyzer) declAssign(d *ir.Decl) ir.Stmt {
	if s := a.declAssigns[d]; s != nil {
		return s
	}
	s := spec.DeclAssign(d)
	a.declAssigns[d] = s
	return s
}
