package bta

import (
	"strings"

	"specbed/specializer/decl"
	"specbed/specializer/ir"
)

// analyzer interprets the program abstractly along the specializer's control structure.
type analyzer struct {
	r    *decl.Resolved
	res  *Result
	heap map[string]*aobj
	seq  int
	toks map[tokKey]int
	ops  map[opKey]int // value numbers of operations on static values

	pinned      map[string]bool           // kernel fields the guards pin in this scenario
	facts       map[string]decl.KnownBits // what the scenario knows of names and kernel fields
	clock       int                       // departures and jumps so far (paths.go)
	copy        int                       // the copy of the code being analysed (paths.go)
	copies      int                       // copies made so far
	subst       map[*ir.Call]aval         // calls a split analysed already, for the copy at hand
	declAssigns map[*ir.Decl]ir.Stmt      // the assignments split declarations amount to

	st      *astate
	depth   int // residual nesting, as in the specializer
	frames  []*aframe
	targets []*atarget // every live merge point, for rolling back loop iterations
	sloops  []*astate  // states on entry of the static loops being analysed, innermost last

	outlines  map[string]*Instance // outlined functions analysed, by outlineKey (outline.go)
	inOutline bool                 // analysing an outlined body: no guard pins a kernel field
}

type tokKey struct {
	n    ir.Node
	in   *Instance
	kind string
}

type aframe struct {
	deps   []int // the call's departures (paths.go)
	in     *Instance
	vars   map[*ir.Var]*aobj
	ret    *atarget
	retObj *aobj
	labels map[string]*atarget
	loops  []aloopTargets
}

type aloopTargets struct{ brk, cont *atarget }

// atarget is a merge point (label, loop exit, continue point, function exit).
type atarget struct {
	depth  int
	sloops int // static loops enclosing the target
	edges  []aedge
	site   ir.Node
}

type aedge struct {
	st       *astate
	residual bool
	at       int // when the edge jumped (0: not a jump; noTime: out of a static loop)
}

func (a *analyzer) tok(n ir.Node, kind string) int {
	k := tokKey{n: n, in: a.fr().in, kind: kind}
	t, ok := a.toks[k]
	if !ok {
		t = len(a.toks) + 1
		a.toks[k] = t
	}
	return t
}

// opKey identifies an operation on static values by its operands: two evaluations with the
// same operands (definitions, or known constants) have the same value, so decisions on them
// go the same way (paths.go).
type opKey struct {
	op        int
	unary     bool
	x, y      int
	yk, ybits uint64
}

// opTok is the token of an operation's value: shared by evaluations with the same operands.
func (a *analyzer) opTok(k opKey) int {
	t, ok := a.ops[k]
	if !ok {
		t = len(a.toks) + len(a.ops) + 1<<30 // apart from definition tokens
		a.ops[k] = t
	}
	return t
}

func (a *analyzer) fr() *aframe { return a.frames[len(a.frames)-1] }

func (a *analyzer) note(n ir.Node, v aval) aval {
	bt := S
	if v.d {
		bt = D
	}
	a.fr().in.nodes[n] = bt
	return v
}

func (a *analyzer) newTarget(depth int, site ir.Node) *atarget {
	t := &atarget{depth: depth, sloops: len(a.sloops), site: site}
	a.targets = append(a.targets, t)
	return t
}

func (a *analyzer) newLocal(name string, t ir.Type) *aobj {
	a.seq++
	return &aobj{name: name, t: t, local: true, seq: a.seq}
}

// entry analyses the entry function with its declared parameters and guards.
func (a *analyzer) entry() *Instance {
	r := a.r
	a.toks = map[tokKey]int{}
	a.ops = map[opKey]int{}
	in := newInstance(r.Entry)
	fr := &aframe{in: in, vars: map[*ir.Var]*aobj{}, labels: map[string]*atarget{}}
	a.frames = []*aframe{fr}
	fr.ret = a.newTarget(0, r.Entry.Body)
	a.st = &astate{objs: map[*aobj]*aobjState{}}
	for _, p := range r.Entry.Params {
		o := a.newLocal(p.Name, p.Type)
		fr.vars[p] = o
		root := r.Roots[p.Name]
		var v aval
		switch {
		case root.Class == decl.Bound:
			v = aval{tok: a.tok(r.Entry.Body, "param:"+p.Name), pts: []target{{obj: a.boundObj(p.Name), t: p.Type.(*ir.PtrType).Elem}}}
		case root.Class == decl.Static || r.Fixed[p.Name] != nil:
			v = aval{tok: a.tok(r.Entry.Body, "param:"+p.Name)}
			kb := a.facts[p.Name]
			if g, ok := r.Fixed[p.Name].(decl.GName); ok {
				kb = a.facts[g.Name]
			}
			v = v.with(kb, p.Type)
		default:
			v = dynamic
		}
		a.st.mut(o).cells[""] = v
	}
	a.stmts(r.Entry.Body.Stmts)
	a.land(fr.ret)
	a.collect(in)
	return in
}

// guarded reports a kernel field that the guards fix or pin: known after the guards, until the
// residual writes it.
func (a *analyzer) guarded(path string) bool {
	if a.inOutline {
		return false // read from memory there (spec/outline.go)
	}
	_, fixed := a.r.FixedPaths[path]
	return fixed || a.pinned[path]
}

func newInstance(f *ir.Func) *Instance {
	return &Instance{Func: f, calls: map[*ir.Call]*Instance{}, loops: map[ir.Stmt]bool{}, nodes: map[ir.Node]BT{}}
}

// collect joins the findings of an instance tree into the result. Only the final analysis of
// each call site is in the tree (an instance analysed again in a loop's next round replaces it).
func (a *analyzer) collect(in *Instance) {
	a.res.Instances++
	for n, bt := range in.nodes {
		a.res.Nodes[n] |= bt
	}
	for s, d := range in.loops {
		if d {
			a.res.Loops[s] |= D
		} else {
			a.res.Loops[s] |= S
		}
	}
	calls := make([]*ir.Call, 0, len(in.calls))
	for c := range in.calls {
		calls = append(calls, c)
	}
	for _, c := range calls {
		a.collect(in.calls[c])
	}
}

// boundObj is the object a bound name points to.
func (a *analyzer) boundObj(name string) *aobj {
	return a.heapObj(name, a.r.Roots[name].Type.(*ir.PtrType).Elem, false)
}

func (a *analyzer) heapObj(path string, t ir.Type, isVar bool) *aobj {
	key := path
	if !isVar {
		key = "*" + path
	}
	if o := a.heap[key]; o != nil {
		return o
	}
	a.seq++
	o := &aobj{name: path, t: t, heap: path, isVar: isVar, seq: a.seq}
	a.heap[key] = o
	return o
}

// stmts analyses a statement list; labels are merge points.
func (a *analyzer) stmts(ss []ir.Stmt) {
	for i := 0; i < len(ss); i++ {
		s := ss[i]
		if l, ok := s.(*ir.Label); ok {
			a.land(a.label(l.Name))
			continue
		}
		if a.st == nil {
			continue
		}
		if n := a.split(ss, i); n > 0 {
			i += n - 1
			continue
		}
		a.stmt(s)
	}
}

func (a *analyzer) label(name string) *atarget {
	fr := a.fr()
	t := fr.labels[name]
	if t == nil {
		t = a.newTarget(fr.ret.depth, nil)
		t.sloops = fr.ret.sloops
		fr.labels[name] = t
	}
	return t
}

func (a *analyzer) stmt(s ir.Stmt) {
	switch s := s.(type) {
	case *ir.Block:
		a.stmts(s.Stmts)
	case *ir.Decl:
		o := a.fr().vars[s.Var]
		if o == nil {
			o = a.newLocal(s.Var.Name, s.Var.Type)
			a.fr().vars[s.Var] = o
		}
		os := a.st.mut(o)
		os.cells = map[string]aval{}
		os.escaped = false
		switch {
		case s.Init != nil:
			v := a.expr(s.Init)
			a.store(aloc{pts: []target{{obj: o, t: s.Var.Type}}}, v, s)
		case s.List != nil:
			z := aval{tok: a.tok(s, "zero")}
			for _, lf := range ir.Leaves(s.Var.Type) {
				a.st.mut(o).cells[pathKey(collapse(lf.Steps))] = z
			}
			for _, el := range s.List {
				v := a.expr(el.X)
				_, t := ir.StepsOffset(s.Var.Type, el.Path)
				a.store(aloc{pts: []target{{obj: o, path: collapse(el.Path), t: t}}, weak: hasIndex(el.Path)}, v, el.X)
			}
		}
	case *ir.ExprStmt:
		a.expr(s.X)
	case *ir.If:
		c := a.note(s, a.expr(s.Cond))
		if truth, ok := c.truth(s.Cond.Type()); ok {
			// A known condition: the specializer takes one arm in every context of the scenario.
			if truth {
				a.stmt(s.Then)
			} else if s.Else != nil {
				a.stmt(s.Else)
			}
			return
		}
		a.branch(c, 1, s, func() { a.stmt(s.Then) }, func() {
			if s.Else != nil {
				a.stmt(s.Else)
			}
		})
	case *ir.While:
		a.loop(s, s.Cond, nil, s.Body, false)
	case *ir.DoWhile:
		a.loop(s, s.Cond, nil, s.Body, true)
	case *ir.For:
		if s.Init != nil {
			a.stmt(s.Init)
			if a.st == nil {
				return
			}
		}
		a.loop(s, s.Cond, s.Post, s.Body, false)
	case *ir.Switch:
		a.switchStmt(s)
	case *ir.Break:
		lt := a.fr().loops
		a.jump(lt[len(lt)-1].brk)
	case *ir.Continue:
		lt := a.fr().loops
		for i := len(lt) - 1; i >= 0; i-- {
			if lt[i].cont != nil {
				a.jump(lt[i].cont)
				return
			}
		}
	case *ir.Goto:
		a.jump(a.label(s.Label))
	case *ir.Return:
		fr := a.fr()
		if s.X != nil {
			v := a.expr(s.X)
			if fr.retObj != nil {
				a.store(aloc{pts: []target{{obj: fr.retObj, t: s.X.Type()}}}, v, s)
			}
		}
		if len(a.frames) == 1 {
			a.st = nil // the entry returns for real: no merge
			return
		}
		a.jump(fr.ret)
	}
}

// branch analyses the two arms of a conditional: one residual level deeper and merged as a
// dynamic merge when the condition is dynamic.
// cond is the condition's value and thenTruth its truth in the then arm (0 or 1).
func (a *analyzer) branch(cond aval, thenTruth int, site ir.Node, then, els func()) {
	dyn := cond.d
	base := a.st
	if dyn {
		a.clock++
	}
	arm := func(n int, body func()) *astate {
		a.st = base.fork()
		if dyn {
			a.depart(a.st, a.depth)
			a.depth++
			defer func() { a.depth-- }()
		} else {
			a.choose(site, cond.tok, n)
		}
		body()
		return a.st
	}
	t := arm(thenTruth, then)
	e := arm(1-thenTruth, els)
	var edges []aedge
	for _, s := range []*astate{t, e} {
		if s != nil {
			edges = append(edges, aedge{st: s, residual: dyn})
		}
	}
	a.st = a.merge(edges, dyn, site, a.depth)
	if a.st != nil {
		a.st.deps = base.deps // every path that came to the conditional goes on here
	}
}

// jump ends the current path at a target. Values that a static loop being left may have changed
// are marked as varying: each iteration's jump carries its own value.
func (a *analyzer) jump(t *atarget) {
	st := a.st
	if t.sloops < len(a.sloops) {
		entry := a.sloops[t.sloops]
		st = st.fork()
		st.path = entry.path // decisions inside the loop differ between iterations
		for _, o := range sortedObjs(st.objs) {
			os := st.objs[o]
			es := entry.objs[o]
			for k, v := range os.cells {
				if v.d {
					continue
				}
				if es != nil {
					if ev, ok := es.cells[k]; ok && ev.tok == v.tok && !ev.d {
						continue
					}
				}
				ns := st.mut(o)
				v.tok = -a.tok(t.site, "vary:"+o.name+k) // never equal to a definition's token
				ns.cells[k] = v
			}
		}
	}
	at := a.clock
	if t.sloops < len(a.sloops) {
		at = noTime
	}
	t.edges = append(t.edges, aedge{st: st, residual: a.depth > t.depth, at: at})
	a.st = nil
}

// land merges the edges of a target with the current path.
func (a *analyzer) land(t *atarget) {
	edges := t.edges
	t.edges = nil
	if a.st != nil {
		edges = append(edges, aedge{st: a.st, at: a.clock})
	}
	dyn := false
	for _, e := range edges {
		dyn = dyn || e.residual || depAt(e.st, t.depth) != 0
	}
	a.st = a.merge(edges, dyn, t.site, t.depth)
	if a.st != nil {
		a.st.deps = minDeps(edges, t.depth)
	}
}

// merge joins states. At a dynamic merge (paths a dynamic decision separated), values whose
// definitions differ become dynamic; at a static merge they stay static (the specializer sees
// only one path) with a token for the merge.
func (a *analyzer) merge(edges []aedge, dyn bool, site ir.Node, level int) *astate {
	switch len(edges) {
	case 0:
		return nil
	case 1:
		return edges[0].st
	}
	r := &astate{objs: map[*aobj]*aobjState{}, path: commonPath(edges), deps: minDeps(edges, -1)}
	excl := &exclusive{edges: edges, level: level}
	objs := map[*aobj]bool{}
	for _, e := range edges {
		for o := range e.st.objs {
			objs[o] = true
		}
	}
	for o := range objs {
		// The same state on every edge (the common case): nothing to join.
		first := edges[0].st.objs[o]
		shared := first != nil
		for _, e := range edges[1:] {
			shared = shared && e.st.objs[o] == first
		}
		if shared {
			r.objs[o] = first
			continue
		}
		ns := &aobjState{cells: map[string]aval{}, owner: r}
		keys := map[string]bool{}
		for _, e := range edges {
			if os := e.st.objs[o]; os != nil {
				ns.escaped = ns.escaped || os.escaped
				for k := range os.cells {
					keys[k] = true
				}
			}
		}
		for k := range keys {
			var vs []aval
			for _, e := range edges {
				var v aval
				if os := e.st.objs[o]; os != nil {
					v = os.cells[k]
				}
				vs = append(vs, v)
			}
			ns.cells[k] = a.join(vs, dyn, excl, site, o.name+k)
		}
		if ns.escaped {
			for k := range ns.cells {
				ns.cells[k] = dynamic
			}
		}
		r.objs[o] = ns
	}
	return r
}

// join joins the values of one leaf at a merge: dynamic at a dynamic merge when two edges that
// can both come bring different definitions (excl: nil, any two can).
func (a *analyzer) join(vs []aval, dyn bool, excl *exclusive, site ir.Node, key string) aval {
	out := aval{tok: vs[0].tok, kmask: vs[0].kmask, bits: vs[0].bits}
	sameTok := true
	for _, v := range vs {
		if v.d {
			return dynamic
		}
		if v.tok != out.tok {
			sameTok = false
		}
		out.kmask &= v.kmask &^ (v.bits ^ out.bits) // the bits every path knows the same
		out.bits &= out.kmask
		out.pts = unionTargets(out.pts, v.pts)
		out.fns = unionFns(out.fns, v.fns)
	}
	if sameTok {
		return out
	}
	if dyn {
		for i := range vs {
			for j := i + 1; j < len(vs); j++ {
				if vs[i].tok != vs[j].tok && (excl == nil || !excl.of(i, j)) {
					return dynamic
				}
			}
		}
	}
	out.tok = a.tok(site, "merge:"+key)
	return out
}

func unionTargets(a, b []target) []target {
	out := append([]target(nil), a...)
	for _, t := range b {
		dup := false
		for _, u := range out {
			if u.obj == t.obj && pathKey(u.path) == pathKey(t.path) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

func unionFns(a, b []*ir.Func) []*ir.Func {
	out := append([]*ir.Func(nil), a...)
	for _, f := range b {
		dup := false
		for _, g := range out {
			dup = dup || f == g
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// equal reports whether two states are the same abstract state.
func equal(x, y *astate) bool {
	if (x == nil) != (y == nil) {
		return false
	}
	if x == nil {
		return true
	}
	if len(x.objs) != len(y.objs) {
		return false
	}
	for o, xs := range x.objs {
		ys := y.objs[o]
		if ys == nil || xs.escaped != ys.escaped || len(xs.cells) != len(ys.cells) {
			return false
		}
		for k, xv := range xs.cells {
			yv, ok := ys.cells[k]
			if !ok || xv.d != yv.d || xv.tok != yv.tok || len(xv.pts) != len(yv.pts) || len(xv.fns) != len(yv.fns) {
				return false
			}
		}
	}
	return true
}

// loop analyses a loop to a fixpoint at its head and classifies it. A loop is dynamic when its
// condition is dynamic at the head, or when it has no condition (or a constant one) and can
// only be left by a residual jump.
func (a *analyzer) loop(s ir.Stmt, cond, post ir.Expr, body ir.Stmt, do bool) {
	in := a.fr().in
	entry := a.st
	head := entry
	dyn := in.loops[s] // a loop found dynamic in an earlier analysis of this instance stays so
	marks := a.markTargets()
	for iter := 0; ; iter++ {
		a.rollback(marks)
		brk := a.newTarget(a.depth, s)
		bodyDepth := a.depth
		if dyn {
			bodyDepth++
		} else {
			a.sloops = append(a.sloops, entry)
		}
		cont := a.newTarget(bodyDepth, s)
		a.fr().loops = append(a.fr().loops, aloopTargets{brk: brk, cont: cont})
		saved := a.depth
		a.depth = bodyDepth
		a.st = head.fork()
		if dyn {
			a.clock++
			a.depart(a.st, saved)
		}
		condD := false
		test := func() {
			if cond == nil {
				return
			}
			c := a.note(cond, a.expr(cond))
			condD = condD || c.d
			if a.st != nil {
				brk.edges = append(brk.edges, aedge{st: a.st, residual: dyn})
			}
		}
		if !do {
			test()
		}
		a.stmt(body)
		contResidual := false
		for _, e := range cont.edges {
			contResidual = contResidual || e.residual
		}
		a.land(cont)
		if a.st != nil && post != nil {
			a.expr(post)
		}
		if do && a.st != nil {
			test()
		}
		back := a.st
		a.depth = saved
		a.fr().loops = a.fr().loops[:len(a.fr().loops)-1]
		if !dyn {
			a.sloops = a.sloops[:len(a.sloops)-1]
		}
		residualExit := false
		for _, e := range brk.edges {
			residualExit = residualExit || e.residual
		}
		infinite := cond == nil || isTrueConst(cond)
		if !dyn && (condD || infinite && residualExit) {
			dyn = true
			head = entry
			continue
		}
		var newHead *astate
		if back == nil {
			newHead = head
		} else {
			newHead = a.merge([]aedge{{st: entry}, {st: back, residual: dyn || contResidual}}, dyn || contResidual, s, a.depth)
		}
		if equal(newHead, head) || iter > 200 {
			in.loops[s] = dyn
			a.note(s, aval{d: dyn})
			a.st = nil
			a.land(brk)
			if a.st != nil {
				a.st.deps = entry.deps // every path that came to the loop goes on here
			}
			return
		}
		head = newHead
	}
}

func isTrueConst(e ir.Expr) bool {
	c, ok := e.(*ir.Const)
	return ok && c.Val != 0
}

// markTargets records how many edges each live target has, so a loop iteration's jumps can be
// rolled back when the iteration is analysed again.
func (a *analyzer) markTargets() []int {
	m := make([]int, len(a.targets))
	for i, t := range a.targets {
		m[i] = len(t.edges)
	}
	return m
}

func (a *analyzer) rollback(m []int) {
	for i, n := range m {
		a.targets[i].edges = a.targets[i].edges[:n]
	}
	a.targets = a.targets[:len(m)]
}

func (a *analyzer) switchStmt(s *ir.Switch) {
	x := a.note(s, a.expr(s.X))
	fr := a.fr()
	var cont *atarget
	for i := len(fr.loops) - 1; i >= 0 && cont == nil; i-- {
		cont = fr.loops[i].cont
	}
	brk := a.newTarget(a.depth, s)
	fr.loops = append(fr.loops, aloopTargets{brk: brk, cont: cont})
	base := a.st
	level := a.depth
	if x.d {
		a.clock++
		a.depth++
	}
	hasDefault := false
	for i, c := range s.Cases {
		hasDefault = hasDefault || c.Default
		a.st = base.fork()
		if !x.d {
			a.choose(s, 0, i)
		} else {
			a.depart(a.st, level)
		}
		a.stmts(c.Body)
		if a.st != nil {
			brk.edges = append(brk.edges, aedge{st: a.st, residual: x.d})
		}
	}
	if !hasDefault {
		a.st = base.fork()
		if !x.d {
			a.choose(s, 0, -1)
		} else {
			a.depart(a.st, level)
		}
		brk.edges = append(brk.edges, aedge{st: a.st, residual: x.d})
	}
	if x.d {
		a.depth--
	}
	fr.loops = fr.loops[:len(fr.loops)-1]
	a.st = nil
	a.land(brk)
	if a.st != nil {
		a.st.deps = base.deps // every path that came to the switch goes on here
	}
}

func hasIndex(steps []ir.Step) bool {
	for _, s := range steps {
		if s.Field == nil {
			return true
		}
	}
	return false
}

// heapPath spells the declaration path of a leaf of a heap object (indices collapsed to [*]).
func heapPath(o *aobj, steps []ir.Step) string {
	var b strings.Builder
	b.WriteString(o.heap)
	for i, s := range steps {
		switch {
		case s.Field != nil && i == 0 && !o.isVar:
			b.WriteString("->" + s.Field.Name)
		case s.Field != nil:
			b.WriteString("." + s.Field.Name)
		default:
			b.WriteString("[*]")
		}
	}
	return b.String()
}
