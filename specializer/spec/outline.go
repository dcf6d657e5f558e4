package spec

import (
	"fmt"
	"strings"

	"specbed/specializer/ir"
)

// An outlined function (decl "outline") is specialized once into a function of the residual
// of its own, which every call site calls, instead of being inlined at each site: the code
// size of a function called from many unrolled sites (a TCP send's push of each segment) stays
// that of one copy. A copy is made per combination of static-identity pointer arguments (the
// bound socket, say): those stay static in the copy, so the fields the declarations make static
// through them still fold. Every other argument (integers, pointers to locals, dynamic
// pointers) becomes a parameter of the copy and is dynamic there: it is specialized for what
// all its callers share, not for one site's values.
//
// For its callers an outlined call is like a shim effect that writes nothing they know: the
// locals passed to it are written to memory for the call and keep their known values after it,
// and what the guards pinned of kernel fields stays known. So an outlined body that stores to
// kernel memory or through a pointer parameter is refused.

// outlined is one residual copy of an outlined function.
type outlined struct {
	fn     *ir.Func // the residual function
	static []bool   // per generic parameter: bound to the call's static pointer, not passed
	done   bool     // its body is specialized (false while it is)
}

// outline emits a call of f's residual copy for args, specializing the copy on first use.
func (sp *specializer) outline(f *ir.Func, c *ir.Call, args []value) (value, error) {
	at := c.P
	key, static := outlineKey(f, args)
	o := sp.outlines[key]
	if o == nil {
		var err error
		if o, err = sp.specializeOutline(f, c, args, static, key); err != nil {
			return value{}, err
		}
	} else if !o.done {
		return value{}, ir.Errorf(at, "recursive call of the outlined %s is outside the subset", f.Name)
	}
	var first []ir.Expr
	if sp.inst != nil {
		first = append(first, &ir.VarRef{E: ir.E{T: sp.inst.Type, P: at}, Var: sp.inst})
	}
	var dynArgs []value
	var params []ir.Type
	for i, a := range args {
		if !static[i] {
			dynArgs = append(dynArgs, a)
			params = append(params, f.Type.Params[i])
		}
	}
	sp.res.Stats.CallsOutlined++
	return sp.emitCall(o.fn, first, dynArgs, params, true, at)
}

// outlineKey names the copy of f that args call: f with the objects its static-identity pointer
// arguments point to.
func outlineKey(f *ir.Func, args []value) (string, []bool) {
	static := make([]bool, len(args))
	key := []string{f.Name}
	for i, a := range args {
		if a.k == vPtr && a.obj != nil && a.obj.kind == objHeap {
			static[i] = true
			key = append(key, fmt.Sprintf("%s+%d", a.obj.name, a.off))
		} else {
			key = append(key, "-")
		}
	}
	return strings.Join(key, "|"), static
}

// specializeOutline specializes f's body into a residual function of its own, with a fresh
// path state: no local of a caller is alive there, and no kernel field is known but those the
// declarations make static (what a caller's guards pinned is read from memory).
func (sp *specializer) specializeOutline(f *ir.Func, c *ir.Call, args []value, static []bool, key string) (*outlined, error) {
	at := c.P
	inst := sp.fr().inst.Callee(c, f)
	if inst == nil {
		return nil, ir.Errorf(at, "the binding-time analysis has no instance for this call of %s", f.Name)
	}
	res := &ir.Func{Name: sp.uniq(sp.res.Func.Name + "_" + f.Name), Type: &ir.FuncType{Result: f.Type.Result}, Pos: f.Pos}
	o := &outlined{fn: res, static: static}
	sp.outlines[key] = o
	if sp.inst != nil {
		res.Params = append(res.Params, sp.inst)
	}

	saved := struct {
		st      *state
		out     *[]ir.Stmt
		depth   int
		frames  []*frame
		breaks  []*target
		pending []pendingJump
	}{sp.st, sp.out, sp.depth, sp.frames, sp.breaks, sp.pending}
	defer func() {
		sp.st, sp.out, sp.depth, sp.frames, sp.breaks, sp.pending = saved.st, saved.out, saved.depth, saved.frames, saved.breaks, saved.pending
	}()

	fr := &frame{fn: f, inst: inst, vars: map[*ir.Var]*object{}, labels: map[string]*target{},
		ret: &target{depth: 0, hint: "out"}, at: f.Pos, outlined: true}
	var body []ir.Stmt
	sp.st, sp.out, sp.depth, sp.frames, sp.breaks, sp.pending = newState(), &body, 0, []*frame{fr}, nil, nil
	for i, p := range f.Params {
		ob := sp.newLocal(p.Name, p.Type)
		fr.vars[p] = ob
		fr.objs = append(fr.objs, ob)
		if static[i] {
			sp.st.add(ob, false)
			v := args[i]
			v.t = p.Type
			sp.st.mut(ob).slots[0] = slot{v: v}
			continue
		}
		ob.rv = &ir.Var{Name: sp.uniq(p.Name), Type: p.Type, Kind: ir.Param, Pos: p.Pos}
		ob.resParam = true
		sp.rvObj[ob.rv] = ob
		res.Params = append(res.Params, ob.rv)
		sp.st.add(ob, true)
	}
	for _, p := range res.Params {
		res.Type.Params = append(res.Type.Params, p.Type)
	}
	if err := sp.stmts(f.Body.Stmts); err != nil {
		if err == errFallback {
			return nil, err
		}
		return nil, fmt.Errorf("%w\n\tin %s, outlined at %s", err, f.Name, at)
	}
	if err := sp.land(fr.ret, f.Pos); err != nil {
		return nil, err
	}
	res.Body = &ir.Block{S: ir.S{P: f.Pos}, Stmts: body}
	removeDeadStores(res.Body)
	o.done = true
	sp.res.Outlined = append(sp.res.Outlined, res)
	return o, nil
}

// inOutline reports whether the current path belongs to an outlined function's body.
func (sp *specializer) inOutline() bool { return len(sp.frames) > 0 && sp.frames[0].outlined }

// usedOutlines keeps the outlined functions the entry reaches (an attempt that split.go undid
// may have specialized one nobody calls), callees first.
func usedOutlines(entry *ir.Func, all []*ir.Func) []*ir.Func {
	defined := map[*ir.Func]bool{}
	for _, f := range all {
		defined[f] = true
	}
	used := map[*ir.Func]bool{}
	var visit func(f *ir.Func)
	visit = func(f *ir.Func) {
		ir.Inspect(f.Body, func(n ir.Node) bool {
			if r, ok := n.(*ir.FuncRef); ok && defined[r.Func] && !used[r.Func] {
				used[r.Func] = true
				visit(r.Func)
			}
			return true
		})
	}
	visit(entry)
	var out []*ir.Func
	for _, f := range all {
		if used[f] {
			out = append(out, f)
		}
	}
	return out
}
