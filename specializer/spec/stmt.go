package spec

import (
	"errors"
	"sort"

	"specbed/specializer/ir"
)

// stmts specializes a statement list. Labels (only at the top level of a function body) are
// merge points; statements on a path that has ended in a jump are skipped until one.
func (sp *specializer) stmts(ss []ir.Stmt) error {
	for i := 0; i < len(ss); i++ {
		s := ss[i]
		if l, ok := s.(*ir.Label); ok {
			if err := sp.land(sp.label(l.Name), l.P); err != nil {
				return err
			}
			continue
		}
		if sp.st == nil {
			continue
		}
		n, err := sp.split(ss, i)
		if err != nil {
			return err
		}
		if n > 0 {
			i += n - 1
			continue
		}
		if err := sp.stmt(s); err != nil {
			return err
		}
	}
	return nil
}

// label returns the merge point of a label of the current function.
func (sp *specializer) label(name string) *target {
	fr := sp.fr()
	t := fr.labels[name]
	if t == nil {
		t = &target{depth: fr.ret.depth, hint: name}
		fr.labels[name] = t
	}
	return t
}

func (sp *specializer) stmt(s ir.Stmt) error {
	if sp.nstmt > sp.lim.Stmts {
		return ir.Errorf(s.At(), "%v: more than %d residual statements", errLimit, sp.lim.Stmts)
	}
	switch s := s.(type) {
	case *ir.Block:
		return sp.scoped(func() error { return sp.stmts(s.Stmts) })
	case *ir.Decl:
		return sp.decl(s)
	case *ir.ExprStmt:
		v, err := sp.expr(s.X)
		if err != nil {
			return err
		}
		sp.discard(v, s.P)
		return nil
	case *ir.If:
		return sp.ifStmt(s)
	case *ir.While:
		return sp.loop(s, nil, s.Cond, nil, s.Body, false)
	case *ir.DoWhile:
		return sp.loop(s, nil, s.Cond, nil, s.Body, true)
	case *ir.For:
		return sp.scoped(func() error { return sp.loop(s, s.Init, s.Cond, s.Post, s.Body, false) })
	case *ir.Switch:
		return sp.switchStmt(s)
	case *ir.Break:
		lt := sp.fr().loops
		sp.jump(lt[len(lt)-1].brk, s.P)
		return nil
	case *ir.Continue:
		lt := sp.fr().loops
		for i := len(lt) - 1; i >= 0; i-- {
			if lt[i].cont != nil {
				sp.jump(lt[i].cont, s.P)
				return nil
			}
		}
		return ir.Errorf(s.P, "continue outside a loop")
	case *ir.Goto:
		sp.jump(sp.label(s.Label), s.P)
		return nil
	case *ir.Return:
		return sp.ret(s)
	case *ir.Label:
		return ir.Errorf(s.P, "label %s inside a nested statement", s.Name)
	}
	return ir.Errorf(s.At(), "unexpected statement %T", s)
}

// scoped runs f and then drops the objects declared by it (they are out of scope).
func (sp *specializer) scoped(f func() error) error {
	fr := sp.fr()
	before := len(fr.scope)
	err := f()
	if sp.st != nil {
		for _, o := range fr.scope[before:] {
			sp.st.drop(o)
		}
	}
	fr.scope = fr.scope[:before]
	return err
}

func (sp *specializer) decl(d *ir.Decl) error {
	o := sp.newLocal(d.Var.Name, d.Var.Type)
	sp.st.add(o, false)
	fr := sp.fr()
	fr.vars[d.Var] = o
	fr.scope = append(fr.scope, o)
	fr.objs = append(fr.objs, o)
	l := loc{obj: o, t: d.Var.Type}
	switch {
	case d.Init != nil:
		v, err := sp.expr(d.Init)
		if err != nil {
			return err
		}
		return sp.storeLoc(l, v, d.P)
	case d.List != nil:
		if err := sp.zero(l, d.P); err != nil {
			return err
		}
		for _, el := range d.List {
			v, err := sp.expr(el.X)
			if err != nil {
				return err
			}
			off, t := ir.StepsOffset(d.Var.Type, el.Path)
			if err := sp.storeLoc(loc{obj: o, off: off, t: t}, v, d.P); err != nil {
				return err
			}
		}
	}
	return nil
}

func (sp *specializer) ifStmt(s *ir.If) error {
	c, err := sp.expr(s.Cond)
	if err != nil {
		return err
	}
	if truth, ok := known(c); ok {
		sp.decide(s, truth)
		if truth {
			return sp.stmt(s.Then)
		}
		if s.Else != nil {
			return sp.stmt(s.Else)
		}
		return nil
	}
	t := testOf(c)
	ce, err := sp.liftAt(c, s.Cond.Type(), s.P)
	if err != nil {
		return err
	}
	sp.res.Stats.BranchesKept++
	base := sp.st
	thenOut, thenEnd, err := sp.arm(base, func() error {
		sp.refine(t)
		return sp.stmt(s.Then)
	})
	if err != nil {
		return err
	}
	elseOut, elseEnd, err := sp.arm(base, func() error {
		if t != nil {
			sp.refine(t.negate())
		}
		if s.Else != nil {
			return sp.stmt(s.Else)
		}
		return nil
	})
	if err != nil {
		return err
	}
	n := &ir.If{S: ir.S{P: s.P}, Cond: ce, Then: &ir.Block{S: ir.S{P: s.Then.At()}, Stmts: thenOut}}
	sp.emit(n)
	if err := sp.join(s.P, thenEnd, elseEnd); err != nil {
		return err
	}
	if !emptyBlock(elseOut) {
		n.Else = &ir.Block{S: ir.S{P: s.P}, Stmts: elseOut}
	}
	return nil
}

// armEnd is where an arm of a residual conditional ended: its state and placeholder (nil state:
// the arm ended in a jump).
type armEnd struct {
	st  *state
	fix *ir.Block
}

// arm specializes one arm of a residual conditional from a fork of base, one residual level
// deeper, into its own statement list ending in a placeholder for the join.
func (sp *specializer) arm(base *state, f func() error) ([]ir.Stmt, armEnd, error) {
	var out []ir.Stmt
	saved := sp.out
	sp.out, sp.st = &out, base.fork()
	sp.depth++
	err := f()
	sp.depth--
	end := armEnd{st: sp.st}
	if sp.st != nil {
		end.fix = &ir.Block{}
		sp.emit(end.fix)
	}
	sp.out, sp.st = saved, base
	return out, end, err
}

// join merges the arms that fall through into the current path.
func (sp *specializer) join(at ir.Pos, ends ...armEnd) error {
	var edges []edge
	for _, e := range ends {
		if e.st != nil {
			edges = append(edges, edge{st: e.st, fix: e.fix, residual: true})
		}
	}
	if len(edges) == 0 {
		sp.st = nil
		return nil
	}
	st, err := sp.merge(edges, at)
	sp.st = st
	return err
}

// emptyBlock reports whether a statement list holds nothing but empty placeholders.
func emptyBlock(ss []ir.Stmt) bool {
	for _, s := range ss {
		b, ok := s.(*ir.Block)
		if !ok || !emptyBlock(b.Stmts) {
			return false
		}
	}
	return true
}

// jump ends the current path at a target. A jump from deeper residual nesting than the target is
// residual (goto, or break out of the innermost residual loop or switch); otherwise the path just
// continues at the target, whose code follows.
func (sp *specializer) jump(t *target, at ir.Pos) {
	fix := &ir.Block{S: ir.S{P: at}}
	sp.emit(fix)
	residual := sp.depth > t.depth
	e := edge{st: sp.st, fix: fix, residual: residual}
	if residual {
		if t.resLoop && len(sp.breaks) > 0 && sp.breaks[len(sp.breaks)-1] == t {
			sp.emit(&ir.Break{S: ir.S{P: at}})
		} else {
			if t.label == "" {
				t.label = sp.uniq(t.hint)
			}
			e.jmp = &ir.Goto{S: ir.S{P: at}, Label: t.label}
			sp.emit(e.jmp)
		}
	} else {
		// The path continues where t lands, provided no other code is emitted in between; if
		// some is (a label reached by residual jumps revives code first), land makes this a goto.
		e.slot = &ir.Block{S: ir.S{P: at}}
		sp.emit(e.slot)
		sp.pending = append(sp.pending, pendingJump{t: t, slot: e.slot, at: at})
	}
	t.edges = append(t.edges, e)
	sp.st = nil
}

// pendingJump is a static jump whose path resumes where its target lands.
type pendingJump struct {
	t    *target
	slot *ir.Block
	at   ir.Pos
}

// land merges the paths reaching a target (its jumps and the current path) and continues there.
func (sp *specializer) land(t *target, at ir.Pos) error {
	edges := t.edges
	t.edges = nil
	keep := sp.pending[:0]
	for _, p := range sp.pending {
		if p.t != t {
			keep = append(keep, p)
		}
	}
	sp.pending = keep
	if sp.st != nil {
		fix := &ir.Block{S: ir.S{P: at}}
		sp.emit(fix)
		edges = append(edges, edge{st: sp.st, fix: fix})
	}
	if len(edges) == 0 {
		sp.st = nil
		return nil
	}
	st, err := sp.merge(edges, at)
	if err != nil {
		return err
	}
	if len(sp.pending) > 0 {
		// Code follows here, between those static jumps and their targets: they jump for real.
		for _, p := range sp.pending {
			if p.t.label == "" {
				p.t.label = sp.uniq(p.t.hint)
			}
			g := &ir.Goto{S: ir.S{P: p.at}, Label: p.t.label}
			p.slot.Stmts = append(p.slot.Stmts, g)
			for i := range p.t.edges {
				if p.t.edges[i].slot == p.slot {
					p.t.edges[i].jmp, p.t.edges[i].residual = g, true
				}
			}
		}
		sp.pending = nil
	}
	if t.label != "" {
		sp.emit(&ir.Label{S: ir.S{P: at}, Name: t.label})
		t.label = ""
	}
	sp.st = st
	return nil
}

func (sp *specializer) ret(s *ir.Return) error {
	fr := sp.fr()
	var v value
	if s.X != nil {
		var err error
		if v, err = sp.expr(s.X); err != nil {
			return err
		}
	}
	if fr.retObj == nil && len(sp.frames) == 1 {
		// The entry returns for real.
		r := &ir.Return{S: ir.S{P: s.P}}
		if s.X != nil {
			x, err := sp.liftAt(v, s.X.Type(), s.P)
			if err != nil {
				return err
			}
			r.X = x
		}
		sp.emit(r)
		sp.st = nil
		return nil
	}
	if fr.retObj != nil && s.X != nil {
		if err := sp.storeLoc(loc{obj: fr.retObj, t: fr.retObj.t}, v, s.P); err != nil {
			return err
		}
	}
	sp.jump(fr.ret, s.P)
	return nil
}

// loop specializes while (do: do-while) and for loops; init has run in the enclosing scope.
func (sp *specializer) loop(s ir.Stmt, init ir.Stmt, cond ir.Expr, post ir.Expr, body ir.Stmt, do bool) error {
	if init != nil {
		if err := sp.stmt(init); err != nil || sp.st == nil {
			return err
		}
	}
	if sp.fr().inst.StaticLoop(s) {
		return sp.unroll(s, cond, post, body, do, true)
	}
	// The analysis could not show the trip count static for every context; in this one the
	// condition may still be static on every iteration. Try to unroll, and fall back to a
	// residual loop when it turns dynamic or runs past the limit.
	snap := sp.snapshot()
	err := sp.unroll(s, cond, post, body, do, false)
	if err != errFallback {
		return err
	}
	sp.restore(snap)
	return sp.dynLoop(s, cond, post, body, do)
}

// errFallback stops an unrolling attempt of a loop the analysis classified dynamic.
var errFallback = errors.New("loop is not static here")

// snapshot is what an abandoned unrolling attempt must undo.
type snapshot struct {
	st       *state
	out      int
	stats    Stats
	nstmt    int
	decided  int
	observed int
	lookups  map[string][]value
	edges    map[*target]int
	labels   map[*frame]map[string]bool
	pending  []pendingJump
}

func (sp *specializer) snapshot() snapshot {
	s := snapshot{st: sp.st, out: len(*sp.out), stats: sp.res.Stats, nstmt: sp.nstmt,
		decided: len(sp.decisions), observed: len(sp.observed), lookups: map[string][]value{}, edges: map[*target]int{},
		pending: append([]pendingJump(nil), sp.pending...), labels: map[*frame]map[string]bool{}}
	for k, v := range sp.lookups {
		s.lookups[k] = v
	}
	for _, fr := range sp.frames {
		for _, t := range fr.targets() {
			s.edges[t] = len(t.edges)
		}
		s.labels[fr] = map[string]bool{}
		for name := range fr.labels {
			s.labels[fr][name] = true
		}
	}
	sp.st = sp.st.fork() // the attempt writes to a copy
	return s
}

func (sp *specializer) restore(s snapshot) {
	sp.st = s.st
	*sp.out = (*sp.out)[:s.out]
	sp.res.Stats, sp.nstmt = s.stats, s.nstmt
	sp.decisions, sp.observed = sp.decisions[:s.decided], sp.observed[:s.observed]
	sp.lookups, sp.pending = s.lookups, s.pending
	for t, n := range s.edges {
		t.edges = t.edges[:n]
	}
	for fr, names := range s.labels {
		for name := range fr.labels {
			if !names[name] { // made by the attempt: forget its jumps
				delete(fr.labels, name)
			}
		}
	}
}

// targets lists a frame's live merge points.
func (fr *frame) targets() []*target {
	ts := []*target{fr.ret}
	for _, t := range fr.labels {
		ts = append(ts, t)
	}
	for _, l := range fr.loops {
		ts = append(ts, l.brk)
		if l.cont != nil {
			ts = append(ts, l.cont)
		}
	}
	return ts
}

// unroll specializes a static loop iteration by iteration. strict: the analysis classified the
// loop static, so a dynamic condition or too many iterations are errors; otherwise they end the
// attempt with errFallback.
func (sp *specializer) unroll(s ir.Stmt, cond ir.Expr, post ir.Expr, body ir.Stmt, do, strict bool) error {
	at := s.At()
	fr := sp.fr()
	brk := &target{depth: sp.depth, hint: "brk"}
	n := 0
	for {
		if !do || n > 0 {
			if cond != nil {
				c, err := sp.expr(cond)
				if err != nil {
					return err
				}
				if !c.static() {
					if !strict {
						return errFallback
					}
					return ir.Errorf(cond.At(), "the loop condition is dynamic in this context although the binding-time analysis classified the loop static")
				}
				sp.decide(s, c.truth())
				if !c.truth() {
					break
				}
			}
		}
		n++
		if n > sp.lim.Unroll {
			if !strict {
				return errFallback
			}
			return ir.Errorf(at, "static loop runs more than %d iterations: raise \"unroll\" in the declarations or make the loop dynamic", sp.lim.Unroll)
		}
		cont := &target{depth: sp.depth, hint: "cont"}
		fr.loops = append(fr.loops, &loopTargets{brk: brk, cont: cont})
		err := sp.stmt(body)
		fr.loops = fr.loops[:len(fr.loops)-1]
		if err != nil {
			return err
		}
		if err := sp.land(cont, at); err != nil {
			return err
		}
		if sp.st == nil {
			break
		}
		if post != nil {
			v, err := sp.expr(post)
			if err != nil {
				return err
			}
			sp.discard(v, at)
		}
		if do && cond == nil {
			break
		}
	}
	sp.res.Stats.LoopsUnrolled++
	sp.res.Stats.Iterations += n
	return sp.land(brk, at)
}

// dynLoop leaves a loop in the residual. Its body is specialized once, from a head state that
// must hold on every iteration: leaves whose static value changes around the loop are lifted
// into memory before it, found by iterating to a fixpoint.
func (sp *specializer) dynLoop(s ir.Stmt, cond, post ir.Expr, body ir.Stmt, do bool) error {
	at := s.At()
	fr := sp.fr()
	lift := map[*object]map[int]bool{}
	esc := map[*object]bool{}
	saved := sp.out
	for attempt := 0; ; attempt++ {
		snap := sp.snapshot()
		var pre []ir.Stmt
		sp.out = &pre
		for _, o := range sortedKeys(esc) {
			if err := sp.escape(o, at); err != nil {
				return err
			}
		}
		for _, o := range sortedKeys(lift) {
			os := sp.st.mut(o)
			for i := range o.lay.leaves {
				if !lift[o][i] || os.slots[i].mem {
					continue
				}
				v := os.slots[i].v
				os.slots[i] = slot{v: value{k: vUndef, t: v.t}, mem: true}
				if err := sp.store(o, i, v, at); err != nil {
					return err
				}
				os = sp.st.mut(o)
			}
		}
		head := sp.st
		brk := &target{depth: sp.depth, hint: "brk", resLoop: true}
		cont := &target{depth: sp.depth + 1, hint: "cont"}
		var loopBody []ir.Stmt
		sp.out, sp.st = &loopBody, head.fork()
		sp.depth++
		sp.breaks = append(sp.breaks, brk)
		fr.loops = append(fr.loops, &loopTargets{brk: brk, cont: cont})
		err := sp.dynIteration(cond, post, body, do, brk, cont, at)
		fr.loops = fr.loops[:len(fr.loops)-1]
		sp.breaks = sp.breaks[:len(sp.breaks)-1]
		sp.depth--
		if err != nil {
			return err
		}
		back := sp.st
		if back != nil && sp.widen(head, back, lift, esc) {
			sp.out = saved
			sp.restore(snap)
			sp.res.Stats.LoopRetries++
			if attempt > 10000 {
				return ir.Errorf(at, "loop head does not converge")
			}
			continue
		}
		if back != nil {
			// Leaves in memory at the head but static at the end of the body go to memory.
			for _, o := range head.sortedObjs() {
				hs, bs := head.get(o), back.get(o)
				for i := range hs.slots {
					if hs.slots[i].mem && !bs.slots[i].mem {
						if err := sp.store(o, i, bs.slots[i].v, at); err != nil {
							return err
						}
					}
				}
			}
		}
		sp.out = saved
		for _, p := range pre {
			sp.emit(p)
		}
		sp.emit(&ir.For{S: ir.S{P: at}, Body: &ir.Block{S: ir.S{P: at}, Stmts: loopBody}})
		sp.res.Stats.LoopsKept++
		sp.st = nil
		return sp.land(brk, at)
	}
}

// dynIteration specializes one residual iteration: condition, body, continue point, post.
func (sp *specializer) dynIteration(cond, post ir.Expr, body ir.Stmt, do bool, brk, cont *target, at ir.Pos) error {
	test := func() error {
		if cond == nil {
			return nil
		}
		c, err := sp.expr(cond)
		if err != nil {
			return err
		}
		if truth, ok := known(c); ok {
			if !truth {
				sp.jump(brk, at)
			}
			return nil
		}
		ce, err := sp.liftAt(c, cond.Type(), at)
		if err != nil {
			return err
		}
		neg := &ir.Unary{E: ir.E{T: ir.Int, P: cond.At()}, Op: ir.LogNot, X: ce}
		exitOut, _, err := sp.arm(sp.st, func() error { sp.jump(brk, at); return nil })
		if err != nil {
			return err
		}
		sp.emit(&ir.If{S: ir.S{P: cond.At()}, Cond: neg, Then: &ir.Block{Stmts: exitOut}})
		sp.refine(testOf(c)) // the loop goes on while the condition holds
		return nil
	}
	if !do {
		if err := test(); err != nil || sp.st == nil {
			return err
		}
	}
	if err := sp.stmt(body); err != nil {
		return err
	}
	if err := sp.land(cont, at); err != nil || sp.st == nil {
		return err
	}
	if post != nil {
		v, err := sp.expr(post)
		if err != nil {
			return err
		}
		sp.discard(v, at)
	}
	if do {
		return test()
	}
	return nil
}

// widen compares the head state of a residual loop with the state at the end of its body and
// records what must be lifted for the head to hold on every iteration. It reports whether
// anything new was recorded.
func (sp *specializer) widen(head, back *state, lift map[*object]map[int]bool, esc map[*object]bool) bool {
	changed := false
	for _, o := range head.sortedObjs() {
		hs, bs := head.get(o), back.get(o)
		if bs == nil {
			continue
		}
		if bs.escaped && !hs.escaped && !esc[o] {
			esc[o] = true
			changed = true
		}
		for i := range hs.slots {
			h, b := hs.slots[i], bs.slots[i]
			if h.mem || (!b.mem && same(h.v, b.v)) {
				continue
			}
			if lift[o] == nil {
				lift[o] = map[int]bool{}
			}
			if !lift[o][i] {
				lift[o][i] = true
				changed = true
			}
		}
	}
	return changed
}

// sortedKeys lists a map's objects in creation order.
func sortedKeys[V any](m map[*object]V) []*object {
	out := make([]*object, 0, len(m))
	for o := range m {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// switchStmt specializes a switch: a static selector picks its case; otherwise the residual
// switch has each case specialized on its own.
func (sp *specializer) switchStmt(s *ir.Switch) error {
	x, err := sp.expr(s.X)
	if err != nil {
		return err
	}
	fr := sp.fr()
	var cont *target
	for i := len(fr.loops) - 1; i >= 0 && cont == nil; i-- {
		cont = fr.loops[i].cont
	}
	if x.static() {
		var pick *ir.Case
		for _, c := range s.Cases {
			for _, v := range c.Vals {
				if v == x.bits {
					pick = c
				}
			}
		}
		if pick == nil {
			for _, c := range s.Cases {
				if c.Default {
					pick = c
				}
			}
		}
		sp.decide(s, pick != nil)
		if pick == nil {
			return nil
		}
		brk := &target{depth: sp.depth, hint: "brk"}
		fr.loops = append(fr.loops, &loopTargets{brk: brk, cont: cont})
		err := sp.scoped(func() error { return sp.stmts(pick.Body) })
		fr.loops = fr.loops[:len(fr.loops)-1]
		if err != nil {
			return err
		}
		return sp.land(brk, s.P)
	}
	xe, err := sp.liftAt(x, s.X.Type(), s.P)
	if err != nil {
		return err
	}
	sp.res.Stats.BranchesKept++
	brk := &target{depth: sp.depth, hint: "brk", resLoop: true}
	fr.loops = append(fr.loops, &loopTargets{brk: brk, cont: cont})
	sp.breaks = append(sp.breaks, brk)
	defer func() {
		fr.loops = fr.loops[:len(fr.loops)-1]
		sp.breaks = sp.breaks[:len(sp.breaks)-1]
	}()
	base := sp.st
	rs := &ir.Switch{S: ir.S{P: s.P}, X: xe}
	var ends []armEnd
	hasDefault := false
	for _, c := range s.Cases {
		out, end, err := sp.arm(base, func() error { return sp.scoped(func() error { return sp.stmts(c.Body) }) })
		if err != nil {
			return err
		}
		hasDefault = hasDefault || c.Default
		rs.Cases = append(rs.Cases, &ir.Case{P: c.P, Vals: c.Vals, Default: c.Default, Body: out})
		ends = append(ends, end)
	}
	var dflt *ir.Case
	if !hasDefault {
		out, end, _ := sp.arm(base, func() error { return nil })
		dflt = &ir.Case{P: s.P, Default: true, Body: out}
		rs.Cases = append(rs.Cases, dflt)
		ends = append(ends, end)
	}
	sp.emit(rs)
	// The arms that fall out of the switch (the last case, the implicit default) join with the
	// breaks.
	for _, e := range ends {
		if e.st != nil {
			brk.edges = append(brk.edges, edge{st: e.st, fix: e.fix, residual: true})
		}
	}
	sp.st = nil
	if err := sp.land(brk, s.P); err != nil {
		return err
	}
	if dflt != nil && emptyBlock(dflt.Body) {
		rs.Cases = rs.Cases[:len(rs.Cases)-1]
	}
	return nil
}
