package spec

import (
	"fmt"

	"specbed/specializer/ir"
)

// call specializes a call: generic functions are inlined, declared lookups with static
// arguments fold, other shim calls stay (with their static arguments folded in).
func (sp *specializer) call(c *ir.Call) (value, error) {
	if v, ok := sp.subst[c]; ok {
		return v, nil // split specialized this call already
	}
	at := c.P
	f := c.Callee()
	if f == nil {
		fv, err := sp.expr(c.Fn)
		if err != nil {
			return value{}, err
		}
		if fv.k != vFunc {
			return value{}, ir.Errorf(at, "indirect call through a function pointer that is not static in this context")
		}
		f = fv.fn
	}
	args, err := sp.args(c, f)
	if err != nil {
		return value{}, err
	}
	if sp.r.Outlines[f.Name] != nil {
		return sp.outline(f, c, args)
	}
	if f.Body != nil {
		return sp.inline(f, c, args)
	}
	if v, ok, err := sp.fold(f, args, at); ok || err != nil {
		return v, err
	}
	sp.res.Stats.ShimCalls++
	v, err := sp.emitCall(f, nil, args, f.Type.Params, false, at)
	if f.Errno && v.k == vDyn {
		v.fact = nonpositive // 0 or a negative error code
	}
	return v, err
}

// emitCall leaves a call of callee in the residual: the arguments first, then args lifted to
// the types params. Its value is dynamic (an int for a void callee, which nobody reads). keeps:
// the callee writes no local passed to it (an outlined function), so what is known of those
// locals holds after the call.
func (sp *specializer) emitCall(callee *ir.Func, first []ir.Expr, args []value, params []ir.Type, keeps bool, at ir.Pos) (value, error) {
	// A shim writes through pointers to locals only during the call and keeps none (the shim
	// contract), so a local passed directly escapes only for the call: its memory is current
	// afterwards and it can be tracked again (not what the shim may have written, though).
	var transient []*object
	var before [][]slot
	for _, a := range args {
		if a.k == vPtr && a.obj != nil && a.obj.kind == objLocal {
			if os := sp.st.get(a.obj); os != nil && !os.escaped {
				transient = append(transient, a.obj)
				before = append(before, append([]slot(nil), os.slots...))
			}
		}
	}
	xs := append([]ir.Expr(nil), first...)
	for i, a := range args {
		x, err := sp.liftAt(a, params[i], at)
		if err != nil {
			return value{}, err
		}
		xs = append(xs, x)
	}
	for i, o := range transient {
		os := sp.st.mut(o)
		os.escaped = false
		if keeps {
			// Escaping wrote every known leaf to memory, which the call leaves as it was.
			copy(os.slots, before[i])
			continue
		}
		for i := range os.slots {
			os.slots[i].fact = noFact
		}
	}
	call := &ir.Call{E: ir.E{T: callee.Type.Result, P: at}, Fn: &ir.FuncRef{E: ir.E{T: &ir.PtrType{Elem: callee.Type}, P: at}, Func: callee}, Args: xs}
	if _, void := callee.Type.Result.(*ir.VoidType); void {
		sp.emit(&ir.ExprStmt{S: ir.S{P: at}, X: call})
		return value{k: vInt, t: ir.Int}, nil
	}
	return dyn(call), nil
}

// args evaluates a call's arguments left to right.
func (sp *specializer) args(c *ir.Call, f *ir.Func) ([]value, error) {
	args := make([]value, len(c.Args))
	marks := make([]int, len(c.Args))
	for i, a := range c.Args {
		marks[i] = len(*sp.out)
		v, err := sp.expr(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	// Arguments computed before a later argument's statements are saved first.
	for i := 0; i+1 < len(args); i++ {
		args[i] = sp.spill(args[i], marks[i+1], c.P)
	}
	return args, nil
}

// fold folds a SHIM_PURE call the declarations list as a lookup, when its arguments are static.
func (sp *specializer) fold(f *ir.Func, args []value, at ir.Pos) (value, bool, error) {
	lk := sp.r.Lookups[f.Name]
	if lk == nil || f.Shim != ir.ShimPure {
		return value{}, false, nil
	}
	for _, a := range args {
		if !a.static() {
			return value{}, false, nil
		}
	}
	if prev, seen := sp.lookups[f.Name]; seen {
		for i := range prev {
			if !same(prev[i], args[i]) {
				return value{}, true, ir.Errorf(at, "%s is folded with different static arguments here than at its first call (argument %d: %s vs %s): one instance value cannot stand for both", f.Name, i+1, args[i], prev[i])
			}
		}
	} else {
		sp.lookups[f.Name] = args
	}
	sp.res.Stats.LookupsFolded++
	if lk.Bound {
		o, pt := sp.boundObj(lk.Name)
		return value{k: vPtr, t: pt, obj: o}, true, nil
	}
	v, err := sp.ctxValue(lk.Name, f.Type.Result, nil, at)
	return v, true, err
}

// inline specializes a generic function's body for its arguments at this call site, and
// merges the paths that return.
func (sp *specializer) inline(f *ir.Func, c *ir.Call, args []value) (value, error) {
	fr, err := sp.enter(f, c, args)
	if err != nil {
		return value{}, err
	}
	if err := sp.land(fr.ret, c.P); err != nil {
		return value{}, err
	}
	return sp.leave(fr, c.P)
}

// enter inlines f's body up to its returns: their paths wait at fr.ret (the current path is
// added to them if the body falls off its end). The callee's locals are gone from every path.
func (sp *specializer) enter(f *ir.Func, c *ir.Call, args []value) (*frame, error) {
	at := c.P
	if len(sp.frames) >= sp.lim.Depth {
		return nil, ir.Errorf(at, "calls nested more than %d deep", sp.lim.Depth)
	}
	for _, fr := range sp.frames {
		if fr.fn == f {
			return nil, ir.Errorf(at, "recursive call of %s is outside the subset", f.Name)
		}
	}
	inst := sp.fr().inst.Callee(c, f)
	if inst == nil {
		return nil, ir.Errorf(at, "the binding-time analysis has no instance for this call of %s", f.Name)
	}
	sp.res.Stats.CallsInlined++
	fr := &frame{fn: f, inst: inst, vars: map[*ir.Var]*object{}, labels: map[string]*target{}, at: at,
		ret: &target{depth: sp.depth, hint: f.Name + "_out"}}
	if _, void := f.Type.Result.(*ir.VoidType); !void {
		fr.retObj = sp.newLocal(f.Name+"_ret", f.Type.Result)
		sp.st.add(fr.retObj, false)
	}
	for i, p := range f.Params {
		o := sp.newLocal(p.Name, p.Type)
		fr.vars[p] = o
		fr.objs = append(fr.objs, o)
		if v := sp.aliasable(f, p, args[i]); v != nil {
			// A parameter the callee only reads, passed a residual variable nothing else can
			// change meanwhile: use that variable instead of a copy.
			o.rv = v
			sp.st.add(o, true)
			continue
		}
		sp.st.add(o, false)
		if err := sp.storeLoc(loc{obj: o, t: p.Type}, args[i], at); err != nil {
			return nil, err
		}
	}
	sp.frames = append(sp.frames, fr)
	err := sp.stmts(f.Body.Stmts)
	sp.frames = sp.frames[:len(sp.frames)-1]
	if err != nil {
		if err == errFallback {
			return nil, err
		}
		return nil, fmt.Errorf("%w\n\tin %s, inlined at %s", err, f.Name, at)
	}
	if sp.st != nil {
		sp.jump(fr.ret, at) // falling off the end
	}
	if len(fr.ret.edges) == 0 {
		return nil, ir.Errorf(at, "%s never returns here", f.Name)
	}
	for _, e := range fr.ret.edges {
		for _, o := range fr.objs {
			e.st.drop(o)
		}
	}
	return fr, nil
}

// leave takes the returned value after fr.ret has landed.
func (sp *specializer) leave(fr *frame, at ir.Pos) (value, error) {
	if sp.st == nil {
		return value{}, ir.Errorf(at, "%s never returns here", fr.fn.Name)
	}
	if fr.retObj == nil {
		return value{k: vInt, t: ir.Int}, nil
	}
	v, err := sp.load(loc{obj: fr.retObj, t: fr.retObj.t}, at)
	sp.st.drop(fr.retObj)
	return v, err
}

// aliasable returns the residual variable a parameter may share with its argument: the callee
// never writes the parameter or takes its address, the argument is a residual variable of the
// same type, and no static pointer reaches that variable's object (so the callee cannot change
// it behind the parameter's back).
func (sp *specializer) aliasable(f *ir.Func, p *ir.Var, arg value) *ir.Var {
	if arg.k != vDyn || sp.written(f)[p] {
		return nil
	}
	ref, ok := arg.x.(*ir.VarRef)
	if !ok || ref.Var.Kind == ir.Global || !ir.Same(ref.Var.Type, p.Type) {
		return nil
	}
	if ob := sp.rvObj[ref.Var]; ob != nil {
		os := sp.st.get(ob)
		if os == nil || os.escaped || sp.pointedTo(ob) {
			return nil
		}
	}
	return ref.Var
}

// pointedTo reports whether a static pointer in the current state targets o.
func (sp *specializer) pointedTo(o *object) bool {
	for _, e := range sp.st.objs {
		for _, sl := range e.os.slots {
			if !sl.mem && sl.v.k == vPtr && sl.v.obj == o {
				return true
			}
		}
	}
	return false
}

// written returns the parameters of f that f assigns or takes the address of.
func (sp *specializer) written(f *ir.Func) map[*ir.Var]bool {
	if w, ok := sp.writes[f]; ok {
		return w
	}
	w := map[*ir.Var]bool{}
	mark := func(e ir.Expr) {
		for {
			switch x := e.(type) {
			case *ir.VarRef:
				w[x.Var] = true
				return
			case *ir.Member:
				if x.Arrow {
					return
				}
				e = x.X
			case *ir.Index:
				if _, arr := x.X.Type().(*ir.ArrayType); !arr {
					return
				}
				e = x.X
			default:
				return
			}
		}
	}
	ir.Inspect(f.Body, func(n ir.Node) bool {
		switch n := n.(type) {
		case *ir.Assign:
			mark(n.L)
		case *ir.IncDec:
			mark(n.X)
		case *ir.AddrOf:
			mark(n.X)
		case *ir.Cast:
			if _, arr := n.X.Type().(*ir.ArrayType); arr {
				mark(n.X) // an array parameter decays to its address
			}
		}
		return true
	})
	sp.writes[f] = w
	return w
}
