package bta

import (
	"specbed/specializer/decl"
	"specbed/specializer/ir"
)

// aloc is an abstract lvalue: static targets, or dynamic.
type aloc struct {
	pts  []target
	d    bool
	weak bool // the targets stand for several leaves: stores join instead of replacing
}

// expr evaluates an rvalue abstractly and records its binding time.
func (a *analyzer) expr(e ir.Expr) aval {
	return a.note(e, a.eval(e))
}

func (a *analyzer) eval(e ir.Expr) aval {
	switch e := e.(type) {
	case *ir.Const:
		if ir.IsPtr(e.T) {
			return aval{tok: a.tok(e, "const"), pts: []target{{}}}
		}
		v := aval{tok: a.tok(e, "const")}
		if it, ok := e.T.(*ir.IntType); ok {
			v.kmask, v.bits = it.Mask(), it.Wrap(e.Val)
		}
		return v
	case *ir.FuncRef:
		return aval{tok: a.tok(e, "func"), fns: []*ir.Func{e.Func}}
	case *ir.VarRef, *ir.Member, *ir.Index, *ir.Deref:
		return a.load(a.lvalue(e), e.Type())
	case *ir.AddrOf:
		l := a.lvalue(e.X)
		if l.d {
			return dynamic
		}
		return aval{tok: a.tok(e, "addr"), pts: l.pts}
	case *ir.Unary:
		x := a.expr(e.X)
		if x.d {
			return dynamic
		}
		return unaryKnown(e, x, aval{tok: a.opTok(opKey{op: int(e.Op), unary: true, x: x.tok})})
	case *ir.Binary:
		return a.binary(e)
	case *ir.Cond:
		c := a.expr(e.C)
		if truth, ok := c.truth(e.C.Type()); ok {
			if truth {
				return a.expr(e.X)
			}
			return a.expr(e.Y)
		}
		var x, y aval
		base := a.st
		a.branchExpr(c, 1, e, func() { x = a.expr(e.X) }, func() { y = a.expr(e.Y) })
		if c.d || x.d || y.d {
			a.escapeVal(base, x, y)
			return dynamic
		}
		return aval{tok: a.tok(e, "cond"), pts: unionTargets(x.pts, y.pts), fns: unionFns(x.fns, y.fns)}
	case *ir.Cast:
		return a.cast(e)
	case *ir.Assign:
		l := a.lvalue(e.L)
		if _, agg := e.T.(*ir.StructType); agg {
			src := a.lvalue(e.R)
			a.copyAgg(l, src, e.T, e)
			return aval{tok: a.tok(e, "agg")}
		}
		r := a.expr(e.R)
		if e.Op != 0 {
			cur := a.load(l, e.L.Type())
			if cur.d || r.d {
				a.escapeVal(a.st, cur, r)
				r = dynamic
			} else {
				r = compoundKnown(e, cur, r, aval{tok: a.tok(e, "op"), pts: cur.pts})
			}
		}
		a.store(l, r, e)
		return r
	case *ir.IncDec:
		l := a.lvalue(e.X)
		cur := a.load(l, e.X.Type())
		if cur.d {
			a.store(l, dynamic, e)
			return dynamic
		}
		next := aval{tok: a.tok(e, "inc"), pts: cur.pts}
		a.store(l, next, e)
		if e.Post {
			return cur
		}
		return next
	case *ir.Call:
		return a.call(e)
	case *ir.Comma:
		a.expr(e.X)
		return a.expr(e.Y)
	}
	return dynamic
}

// branchExpr is branch for the arms of ?:, && and ||.
func (a *analyzer) branchExpr(cond aval, thenTruth int, site ir.Node, x, y func()) {
	a.branch(cond, thenTruth, site, x, y)
	if a.st == nil {
		panic(&ir.PosError{Pos: site.At(), Msg: "a conditional expression's arms do not complete"})
	}
}

// escapeVal makes the locals that static pointer values point to escape (their address reaches
// residual code).
func (a *analyzer) escapeVal(_ *astate, vs ...aval) {
	for _, v := range vs {
		if v.d {
			continue
		}
		for _, t := range v.pts {
			if t.obj != nil && t.obj.local {
				a.escape(t.obj)
			}
		}
	}
}

// escape makes a local dynamic for good, and whatever its static pointers point to.
func (a *analyzer) escape(o *aobj) {
	if a.st == nil {
		return
	}
	os := a.st.objs[o]
	if os != nil && os.escaped {
		return
	}
	var ptrs []aval
	if os != nil {
		for _, v := range os.cells {
			ptrs = append(ptrs, v)
		}
	}
	ns := a.st.mut(o)
	ns.escaped = true
	for k := range ns.cells {
		ns.cells[k] = dynamic
	}
	a.escapeVal(a.st, ptrs...)
}

func (a *analyzer) binary(e *ir.Binary) aval {
	if e.Op == ir.LogAnd || e.Op == ir.LogOr {
		x := a.expr(e.X)
		xt, xk := x.truth(e.X.Type())
		if xk && xt == (e.Op == ir.LogOr) {
			// The right operand is never evaluated.
			return aval{tok: a.tok(e, "op")}.exact(ir.Int, boolBits(xt))
		}
		var y aval
		// The right operand is evaluated when the left one is true (&&) or false (||).
		a.branchExpr(x, int(boolBits(e.Op == ir.LogAnd)), e, func() { y = a.expr(e.Y) }, func() {})
		if x.d || y.d {
			return dynamic
		}
		v := aval{tok: a.tok(e, "op")}
		if yt, yk := y.truth(e.Y.Type()); xk && yk {
			v = v.exact(ir.Int, boolBits(yt))
		}
		return v
	}
	x := a.expr(e.X)
	y := a.expr(e.Y)
	if x.d || y.d {
		a.escapeVal(a.st, x, y)
		return dynamic
	}
	if xt, ok := e.X.Type().(*ir.IntType); ok {
		if yt, ok := e.Y.Type().(*ir.IntType); ok {
			k := opKey{op: int(e.Op), x: x.tok, y: y.tok}
			if y.full(yt) {
				k.y, k.yk, k.ybits = 0, yt.Mask(), y.bits
			}
			if x.tok <= 0 || k.y < 0 {
				k = opKey{op: -1, x: a.tok(e, "op")} // no definition to share
			}
			return binaryKnown(e, xt, x, yt, y, aval{tok: a.opTok(k)})
		}
	}
	xp, yp := ir.IsPtr(e.X.Type()), ir.IsPtr(e.Y.Type())
	switch {
	case xp && !yp: // pointer arithmetic: same targets, element paths collapsed already
		return aval{tok: a.tok(e, "op"), pts: x.pts}
	case xp && yp:
		// The specializer decides comparisons unless two different kernel objects meet.
		for _, t := range x.pts {
			for _, u := range y.pts {
				if t.obj != nil && u.obj != nil && !t.obj.local && !u.obj.local && t.obj != u.obj {
					return dynamic
				}
			}
		}
	}
	return aval{tok: a.tok(e, "op")}
}

func (a *analyzer) cast(e *ir.Cast) aval {
	if at, arr := e.X.Type().(*ir.ArrayType); arr {
		l := a.lvalue(e.X)
		if l.d {
			return dynamic
		}
		var pts []target
		for _, t := range l.pts {
			pts = append(pts, target{obj: t.obj, path: append(append([]ir.Step(nil), t.path...), ir.Step{Index: -1}), t: at.Elem})
		}
		return aval{tok: a.tok(e, "decay"), pts: pts}
	}
	x := a.expr(e.X)
	if x.d {
		return dynamic
	}
	switch t := e.T.(type) {
	case *ir.PtrType:
		if ir.IsInt(e.X.Type()) {
			return aval{tok: x.tok, pts: []target{{}}} // only a static 0 is a static pointer
		}
		var pts []target
		for _, tg := range x.pts {
			pts = append(pts, retype(tg, t.Elem))
		}
		return aval{tok: x.tok, pts: pts, fns: x.fns}
	case *ir.IntType:
		if ir.IsPtr(e.X.Type()) {
			for _, tg := range x.pts {
				if tg.obj != nil && !t.Bool {
					a.escapeVal(a.st, x)
					return dynamic // an address's value is not known
				}
			}
		}
		if from, ok := e.X.Type().(*ir.IntType); ok {
			return castKnown(from, t, x, aval{tok: x.tok})
		}
	}
	return aval{tok: x.tok}
}

// retype follows a pointer cast: the target becomes the sub-object of the new type at the same
// place (a struct and its first member), when the layout says so.
func retype(tg target, t ir.Type) target {
	if tg.obj == nil || tg.t == nil || ir.Same(tg.t, t) {
		return target{obj: tg.obj, path: tg.path, t: t}
	}
	concrete := make([]ir.Step, len(tg.path))
	for i, s := range tg.path {
		if s.Field == nil {
			s.Index = 0
		}
		concrete[i] = s
	}
	off, _ := ir.StepsOffset(tg.obj.t, concrete)
	if steps, ok := ir.Locate(tg.obj.t, off, t); ok {
		return target{obj: tg.obj, path: collapse(steps), t: t}
	}
	return target{obj: tg.obj, path: tg.path, t: t}
}

// lvalue evaluates an lvalue abstractly.
func (a *analyzer) lvalue(e ir.Expr) aloc {
	switch e := e.(type) {
	case *ir.VarRef:
		if e.Var.Kind == ir.Global {
			return aloc{pts: []target{{obj: a.heapObj(e.Var.Name, e.Var.Type, true), t: e.Var.Type}}}
		}
		o := a.fr().vars[e.Var]
		if o == nil {
			o = a.newLocal(e.Var.Name, e.Var.Type)
			a.fr().vars[e.Var] = o
		}
		return aloc{pts: []target{{obj: o, t: e.Var.Type}}}
	case *ir.Member:
		var base aloc
		if e.Arrow {
			p := a.expr(e.X)
			if p.d {
				return aloc{d: true}
			}
			base = aloc{pts: p.pts, weak: len(p.pts) > 1}
		} else {
			base = a.lvalue(e.X)
		}
		if base.d {
			return base
		}
		return extend(base, ir.Step{Field: e.Field}, e.Field.Type)
	case *ir.Index:
		if _, arr := e.X.Type().(*ir.ArrayType); arr {
			base := a.lvalue(e.X)
			i := a.expr(e.I)
			if base.d {
				return base
			}
			if i.d {
				for _, t := range base.pts {
					if t.obj != nil && t.obj.local {
						a.escape(t.obj)
					}
				}
				return aloc{d: true}
			}
			l := extend(base, ir.Step{Index: -1}, e.T)
			l.weak = true
			return l
		}
		p := a.expr(e.X)
		i := a.expr(e.I)
		if p.d || i.d {
			a.escapeVal(a.st, p)
			return aloc{d: true}
		}
		return aloc{pts: p.pts, weak: true}
	case *ir.Deref:
		p := a.expr(e.X)
		if p.d {
			return aloc{d: true}
		}
		return aloc{pts: p.pts, weak: len(p.pts) > 1}
	}
	panic(&ir.PosError{Pos: e.At(), Msg: "not an lvalue"})
}

func extend(l aloc, s ir.Step, t ir.Type) aloc {
	out := aloc{weak: l.weak}
	for _, tg := range l.pts {
		if tg.obj == nil {
			continue // a NULL target: the specializer reports the dereference
		}
		out.pts = append(out.pts, target{obj: tg.obj, path: append(append([]ir.Step(nil), tg.path...), s), t: t})
	}
	if len(out.pts) == 0 {
		out.d = true
	}
	return out
}

// load reads a scalar through an abstract lvalue.
func (a *analyzer) load(l aloc, t ir.Type) aval {
	if l.d || len(l.pts) == 0 {
		return dynamic
	}
	var out aval
	first := true
	for _, tg := range l.pts {
		if tg.obj == nil {
			// Through NULL: in a context where the pointer is NULL the generic code does not
			// get here (or faults); the specializer residualizes such a dereference.
			continue
		}
		v := a.read(tg, t)
		if v.d {
			return dynamic
		}
		if first {
			out, first = v, false
			continue
		}
		if v.tok != out.tok {
			out.tok = -1 // several possible leaves: static, but none in particular
		}
		out.kmask &= v.kmask &^ (v.bits ^ out.bits)
		out.bits &= out.kmask
		out.pts = unionTargets(out.pts, v.pts)
		out.fns = unionFns(out.fns, v.fns)
	}
	if first {
		return dynamic // only NULL
	}
	return out
}

// read reads one leaf: a local's leaf from the state, kernel memory from the declarations.
func (a *analyzer) read(tg target, t ir.Type) aval {
	o := tg.obj
	if o == nil {
		return dynamic
	}
	if o.local {
		os := a.st.objs[o]
		if os == nil {
			return aval{}
		}
		if os.escaped {
			return dynamic
		}
		return os.cells[pathKey(tg.path)]
	}
	path := heapPath(o, tg.path)
	r := a.r
	if name, ok := r.BoundPaths[path]; ok {
		return aval{tok: a.tok(nil, "bound:"+name), pts: []target{{obj: a.boundObj(name), t: r.Roots[name].Type.(*ir.PtrType).Elem}}}
	}
	if a.guarded(path) {
		if os := a.st.objs[o]; os != nil {
			if v, written := os.cells[pathKey(tg.path)]; written {
				return v
			}
		}
		return aval{tok: a.tok(nil, "guarded:"+path)}.with(a.facts[path], t) // known after the guards
	}
	if s, ok := r.Statics[path]; ok {
		v := aval{tok: a.tok(nil, "static:"+path)}.with(a.facts[path], t)
		if pt, isPtr := s.Type.(*ir.PtrType); isPtr {
			v.pts = []target{{}, {obj: a.heapObj(path, pt.Elem, false), t: pt.Elem}}
		}
		return v
	}
	if n := len(tg.path); n > 0 && tg.path[n-1].Field == nil {
		arr := heapPath(o, tg.path[:n-1])
		if s, ok := r.Statics[arr]; ok {
			if _, isArr := s.Type.(*ir.ArrayType); isArr {
				return aval{tok: a.tok(nil, "static:"+arr)}
			}
		}
	}
	if o.isVar && len(tg.path) == 0 {
		if root := r.Roots[o.heap]; root != nil && root.Class == decl.Static {
			v := aval{tok: a.tok(nil, "static:"+o.heap)}
			if pt, isPtr := root.Type.(*ir.PtrType); isPtr {
				v.pts = []target{{}, {obj: a.heapObj(o.heap, pt.Elem, false), t: pt.Elem}}
			}
			return v
		}
	}
	return dynamic
}

// store writes through an abstract lvalue: a strong update of one known leaf, else a weak one.
// Kernel memory is written by residual code: the state does not change (and a static pointer
// stored there escapes).
func (a *analyzer) store(l aloc, v aval, at ir.Node) {
	if l.d {
		a.escapeVal(a.st, v)
		return
	}
	weak := l.weak || len(l.pts) > 1
	for _, tg := range l.pts {
		if tg.obj == nil {
			continue
		}
		if !tg.obj.local {
			a.escapeVal(a.st, v)
			if a.guarded(heapPath(tg.obj, tg.path)) {
				// What the residual writes there is what later reads see.
				nv := v
				if weak {
					nv = dynamic
				} else if !nv.d && nv.tok == 0 {
					nv.tok = a.tok(at, "def:"+heapPath(tg.obj, tg.path))
				}
				a.st.mut(tg.obj).cells[pathKey(tg.path)] = nv
			}
			continue
		}
		if _, agg := tg.t.(*ir.StructType); agg {
			continue // aggregates are copied leaf by leaf (copyAgg)
		}
		os := a.st.mut(tg.obj)
		if os.escaped {
			a.escapeVal(a.st, v)
			continue
		}
		key := pathKey(tg.path)
		nv := v
		if !nv.d && nv.tok == 0 {
			nv.tok = a.tok(at, "def:"+key)
		}
		if weak {
			if old, ok := os.cells[key]; ok {
				nv = a.join([]aval{old, nv}, false, nil, at, "weak:"+tg.obj.name+key)
			}
		}
		os.cells[key] = nv
	}
}

// copyAgg copies an aggregate leaf by leaf.
func (a *analyzer) copyAgg(dst, src aloc, t ir.Type, at ir.Node) {
	for _, lf := range ir.Leaves(t) {
		steps := collapse(lf.Steps)
		s := aloc{d: src.d, weak: src.weak}
		for _, tg := range src.pts {
			s.pts = append(s.pts, target{obj: tg.obj, path: append(append([]ir.Step(nil), tg.path...), steps...), t: lf.Type})
		}
		d := aloc{d: dst.d, weak: dst.weak}
		for _, tg := range dst.pts {
			d.pts = append(d.pts, target{obj: tg.obj, path: append(append([]ir.Step(nil), tg.path...), steps...), t: lf.Type})
		}
		a.store(d, a.load(s, lf.Type), at)
	}
}

// call analyses a call: generic callees in their own instance (polyvariance by call site),
// declared lookups with static arguments fold, other shim calls are residual.
func (a *analyzer) call(c *ir.Call) aval {
	if v, ok := a.subst[c]; ok {
		return v // analysed already, by split
	}
	var fns []*ir.Func
	if f := c.Callee(); f != nil {
		fns = []*ir.Func{f}
	} else {
		fv := a.expr(c.Fn)
		if fv.d || len(fv.fns) == 0 {
			for _, arg := range c.Args {
				a.escapeVal(a.st, a.expr(arg))
			}
			return dynamic
		}
		fns = fv.fns
	}
	args := make([]aval, len(c.Args))
	for i, arg := range c.Args {
		args[i] = a.expr(arg)
	}
	if len(fns) != 1 {
		return dynamic
	}
	f := fns[0]
	if a.r.Outlines[f.Name] != nil {
		return a.outline(f, c, args)
	}
	if f.Body != nil {
		return a.inline(f, c, args)
	}
	if lk := a.r.Lookups[f.Name]; lk != nil && f.Shim == ir.ShimPure {
		static := true
		for _, v := range args {
			static = static && !v.d
		}
		if static {
			if lk.Bound {
				return aval{tok: a.tok(nil, "bound:"+lk.Name), pts: []target{{obj: a.boundObj(lk.Name), t: f.Type.Result.(*ir.PtrType).Elem}}}
			}
			return aval{tok: a.tok(nil, "lookup:"+lk.Name)}
		}
	}
	a.escapeVal(a.st, args...)
	return dynamic
}

// inline analyses a generic callee in the instance of this call site.
func (a *analyzer) inline(f *ir.Func, c *ir.Call, args []aval) aval {
	return a.leave(a.enter(f, c, args), c)
}

// enter analyses a generic callee's body up to its returns: their paths (and the path falling
// off its end) wait at the frame's return target.
func (a *analyzer) enter(f *ir.Func, c *ir.Call, args []aval) *aframe {
	for _, fr := range a.frames {
		if fr.in.Func == f {
			panic(&ir.PosError{Pos: c.P, Msg: "recursive call of " + f.Name + " is outside the subset"})
		}
	}
	parent := a.fr().in
	in := newInstance(f)
	parent.calls[c] = in
	fr := &aframe{in: in, vars: map[*ir.Var]*aobj{}, labels: map[string]*atarget{}}
	fr.ret = a.newTarget(a.depth, c)
	if _, void := f.Type.Result.(*ir.VoidType); !void {
		fr.retObj = a.newLocal(f.Name+"_ret", f.Type.Result)
	}
	for i, p := range f.Params {
		o := a.newLocal(p.Name, p.Type)
		fr.vars[p] = o
		v := args[i]
		if !v.d && v.tok == 0 {
			v.tok = a.tok(c, "arg")
		}
		a.st.mut(o).cells[""] = v
	}
	fr.deps = a.st.deps
	a.frames = append(a.frames, fr)
	a.stmts(f.Body.Stmts)
	a.frames = a.frames[:len(a.frames)-1]
	if a.st != nil {
		fr.ret.edges = append(fr.ret.edges, aedge{st: a.st})
		a.st = nil
	}
	return fr
}

// leave merges the paths waiting at a callee's return target and returns its value; the
// callee's locals are gone from the path.
func (a *analyzer) leave(fr *aframe, c *ir.Call) aval {
	a.land(fr.ret)
	if a.st == nil {
		panic(&ir.PosError{Pos: c.P, Msg: fr.in.Func.Name + " never returns"})
	}
	a.st.deps = fr.deps // every path that came to the call goes on here
	ret := dynamic
	if fr.retObj != nil {
		if os := a.st.objs[fr.retObj]; os != nil {
			if os.escaped {
				ret = dynamic
			} else {
				ret = os.cells[""]
			}
		} else {
			ret = aval{}
		}
	}
	for _, o := range fr.vars {
		delete(a.st.objs, o)
	}
	if fr.retObj != nil {
		delete(a.st.objs, fr.retObj)
	}
	return ret
}
