package bta

import (
	"fmt"
	"strings"

	"specbed/specializer/ir"
)

// outline analyses a call of an outlined function (decl "outline") as the specializer makes it
// (spec/outline.go): for the caller, a shim effect (the locals passed escape, the value is
// dynamic); the function itself once per combination of static-identity pointer arguments, in
// a fresh state where every other argument is dynamic and no guard pins a kernel field.
func (a *analyzer) outline(f *ir.Func, c *ir.Call, args []aval) aval {
	parent := a.fr().in
	key, static := outlineKey(f, args)
	if in := a.outlines[key]; in != nil {
		parent.calls[c] = in
		a.escapeVal(a.st, args...)
		return dynamic
	}
	in := newInstance(f)
	a.outlines[key] = in
	parent.calls[c] = in

	saved := struct {
		st      *astate
		depth   int
		frames  []*aframe
		targets []*atarget
		sloops  []*astate
		out     bool
	}{a.st, a.depth, a.frames, a.targets, a.sloops, a.inOutline}
	fr := &aframe{in: in, vars: map[*ir.Var]*aobj{}, labels: map[string]*atarget{}}
	a.st, a.depth, a.frames, a.targets, a.sloops, a.inOutline = &astate{objs: map[*aobj]*aobjState{}}, 0, []*aframe{fr}, nil, nil, true
	fr.ret = a.newTarget(0, f.Body)
	for i, p := range f.Params {
		o := a.newLocal(p.Name, p.Type)
		fr.vars[p] = o
		v := dynamic
		if static[i] {
			v = aval{tok: a.tok(f.Body, "param:"+p.Name), pts: args[i].pts}
		}
		a.st.mut(o).cells[""] = v
	}
	a.stmts(f.Body.Stmts)
	a.land(fr.ret)
	a.st, a.depth, a.frames, a.targets, a.sloops, a.inOutline = saved.st, saved.depth, saved.frames, saved.targets, saved.sloops, saved.out

	a.escapeVal(a.st, args...)
	return dynamic
}

// outlineKey is spec's: f with the objects its static-identity pointer arguments point to (a
// static pointer whose targets are all kernel objects).
func outlineKey(f *ir.Func, args []aval) (string, []bool) {
	static := make([]bool, len(args))
	key := []string{f.Name}
	for i, v := range args {
		heap := !v.d && len(v.pts) == 1 && v.pts[0].obj != nil && !v.pts[0].obj.local
		if !heap {
			key = append(key, "-")
			continue
		}
		static[i] = true
		key = append(key, fmt.Sprintf("%s%v", v.pts[0].obj.name, v.pts[0].path))
	}
	return strings.Join(key, "|"), static
}
