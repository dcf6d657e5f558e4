package spec

import (
	"fmt"
	"strings"

	"specbed/specializer/decl"
	"specbed/specializer/ir"
)

// loc is an lvalue: static (an object and a byte offset) or dynamic (a residual lvalue).
type loc struct {
	obj *object
	off int64
	t   ir.Type
	x   ir.Expr
}

// lvalue evaluates an lvalue expression.
func (sp *specializer) lvalue(e ir.Expr) (loc, error) {
	at := e.At()
	switch e := e.(type) {
	case *ir.VarRef:
		if e.Var.Kind == ir.Global {
			return loc{obj: sp.globalObj(e.Var), t: e.Var.Type}, nil
		}
		o := sp.fr().vars[e.Var]
		if o == nil || sp.st.get(o) == nil {
			return loc{}, ir.Errorf(at, "%s is not alive here", e.Var.Name)
		}
		return loc{obj: o, t: e.Var.Type}, nil
	case *ir.Member:
		if e.Arrow {
			p, err := sp.expr(e.X)
			if err != nil {
				return loc{}, err
			}
			if p.k == vPtr && p.obj == nil {
				p = sp.nullDeref(e.X)
			}
			switch p.k {
			case vPtr:
				return loc{obj: p.obj, off: p.off + e.Field.Offset, t: e.Field.Type}, nil
			case vDyn:
				return loc{t: e.Field.Type, x: &ir.Member{E: e.E, X: p.x, Field: e.Field, Arrow: true}}, nil
			}
			return loc{}, ir.Errorf(at, "-> on a %s value", p)
		}
		l, err := sp.lvalue(e.X)
		if err != nil {
			return loc{}, err
		}
		if l.x != nil {
			return loc{t: e.Field.Type, x: &ir.Member{E: e.E, X: l.x, Field: e.Field}}, nil
		}
		return loc{obj: l.obj, off: l.off + e.Field.Offset, t: e.Field.Type}, nil
	case *ir.Index:
		return sp.index(e)
	case *ir.Deref:
		p, err := sp.expr(e.X)
		if err != nil {
			return loc{}, err
		}
		if p.k == vPtr && p.obj == nil {
			p = sp.nullDeref(e.X)
		}
		switch p.k {
		case vPtr:
			return loc{obj: p.obj, off: p.off, t: e.T}, nil
		case vDyn:
			return loc{t: e.T, x: &ir.Deref{E: e.E, X: p.x}}, nil
		}
		return loc{}, ir.Errorf(at, "* on a %s value", p)
	}
	return loc{}, ir.Errorf(at, "not an lvalue")
}

func (sp *specializer) index(e *ir.Index) (loc, error) {
	at := e.At()
	if at2, isArr := e.X.Type().(*ir.ArrayType); isArr {
		l, err := sp.lvalue(e.X)
		if err != nil {
			return loc{}, err
		}
		i, err := sp.expr(e.I)
		if err != nil {
			return loc{}, err
		}
		es := at2.Elem.Size()
		if l.x == nil && i.k == vInt {
			n := i.t.(*ir.IntType).Int64(i.bits)
			if n < 0 || n >= at2.Len {
				return loc{}, ir.Errorf(at, "index %d out of bounds of %s (length %d)", n, exprText(e.X), at2.Len)
			}
			return loc{obj: l.obj, off: l.off + n*es, t: e.T}, nil
		}
		base := l.x
		if base == nil {
			if l.obj.kind == objLocal {
				if err := sp.escape(l.obj, at); err != nil {
					return loc{}, err
				}
			}
			if base, err = l.obj.lvalue(sp, l.off, at2, at); err != nil {
				return loc{}, err
			}
		}
		ix, err := sp.liftAt(i, e.I.Type(), at)
		if err != nil {
			return loc{}, err
		}
		return loc{t: e.T, x: &ir.Index{E: e.E, X: base, I: ix}}, nil
	}
	p, err := sp.expr(e.X)
	if err != nil {
		return loc{}, err
	}
	mark := len(*sp.out)
	i, err := sp.expr(e.I)
	if err != nil {
		return loc{}, err
	}
	p = sp.spill(p, mark, at)
	if p.k == vPtr && p.obj == nil {
		p = sp.nullDeref(e.X)
	}
	if p.k == vPtr && i.k == vInt {
		return loc{obj: p.obj, off: p.off + i.t.(*ir.IntType).Int64(i.bits)*e.T.Size(), t: e.T}, nil
	}
	px, err := sp.liftAt(p, e.X.Type(), at)
	if err != nil {
		return loc{}, err
	}
	ix, err := sp.liftAt(i, e.I.Type(), at)
	if err != nil {
		return loc{}, err
	}
	return loc{t: e.T, x: &ir.Index{E: e.E, X: px, I: ix}}, nil
}

// nullDeref is a static NULL pointer about to be dereferenced. The path doing it may never run
// (the generic code's invariants rule it out, the specializer cannot see that), so the residual
// dereferences NULL exactly as the generic code would.
func (sp *specializer) nullDeref(e ir.Expr) value {
	return dyn(&ir.Const{E: ir.E{T: e.Type(), P: e.At()}})
}

// load reads a scalar lvalue.
func (sp *specializer) load(l loc, at ir.Pos) (value, error) {
	if l.x != nil {
		return dyn(l.x), nil
	}
	o := l.obj
	if o.kind == objHeap {
		return sp.heapLoad(o, l.off, l.t, at)
	}
	os := sp.st.get(o)
	if os == nil {
		return value{}, ir.Errorf(at, "%s is used outside its lifetime", o.name)
	}
	i := o.lay.leaf(l.off, l.t)
	if i < 0 {
		return value{}, ir.Errorf(at, "access to %s at byte %d as %s does not match its layout", o.name, l.off, l.t)
	}
	sl := os.slots[i]
	if sl.mem || sl.v.k == vUndef {
		// In memory, or never set: then the residual reads whatever memory holds, as C would
		// (an uninitialized read on a path the residual may never take, typically).
		if !sl.mem {
			sp.st.mut(o).slots[i].mem = true
		}
		x, err := o.lvalue(sp, l.off, l.t, at)
		if err != nil {
			return value{}, err
		}
		v := dyn(x)
		if !os.escaped {
			v.src, v.leaf, v.fact = o, i, sl.fact
		}
		return v, nil
	}
	v := sl.v
	v.t = l.t
	return v, nil
}

// storeLoc writes a scalar lvalue.
func (sp *specializer) storeLoc(l loc, v value, at ir.Pos) error {
	if l.x != nil {
		if sp.inOutline() {
			return ir.Errorf(at, "an outlined function writes through a pointer its callers may know the target of (%s)", exprText(l.x))
		}
		rhs, err := sp.liftAt(v, l.t, at)
		if err != nil {
			return err
		}
		sp.emit(&ir.ExprStmt{S: ir.S{P: at}, X: &ir.Assign{E: ir.E{T: l.t, P: at}, L: l.x, R: rhs}})
		return nil
	}
	o := l.obj
	if o.kind == objHeap {
		return sp.heapStore(o, l.off, l.t, v, at)
	}
	os := sp.st.mut(o)
	if os == nil {
		return ir.Errorf(at, "%s is used outside its lifetime", o.name)
	}
	i := o.lay.leaf(l.off, l.t)
	if i < 0 {
		return ir.Errorf(at, "access to %s at byte %d as %s does not match its layout", o.name, l.off, l.t)
	}
	if v.k == vDyn || os.escaped {
		lhs, err := o.lvalue(sp, l.off, l.t, at)
		if err != nil {
			return err
		}
		rhs, err := sp.liftAt(v, l.t, at)
		if err != nil {
			return err
		}
		sp.emit(&ir.ExprStmt{S: ir.S{P: at}, X: &ir.Assign{E: ir.E{T: l.t, P: at}, L: lhs, R: rhs}})
		os = sp.st.mut(o) // lifting may have escaped objects (and copied this state)
		f := v.fact
		if v.static() {
			f = factOf(v)
		}
		if os.escaped {
			f = noFact // residual code may change an escaped object's memory at any call
		}
		os.slots[i] = slot{v: value{k: vUndef, t: l.t}, mem: true, fact: f}
		return nil
	}
	v.t = l.t
	os.slots[i] = slot{v: v}
	return nil
}

// copyAgg assigns an aggregate leaf by leaf (or as one residual assignment when both sides are
// plain memory).
func (sp *specializer) copyAgg(dst, src loc, at ir.Pos) error {
	if dst.x != nil && src.x != nil {
		sp.emit(&ir.ExprStmt{S: ir.S{P: at}, X: &ir.Assign{E: ir.E{T: dst.t, P: at}, L: dst.x, R: src.x}})
		return nil
	}
	for _, lf := range ir.Leaves(dst.t) {
		s := sub(src, lf, at)
		v, err := sp.load(s, at)
		if err != nil {
			return err
		}
		if err := sp.storeLoc(sub(dst, lf, at), v, at); err != nil {
			return err
		}
	}
	return nil
}

// sub is the leaf lf of the aggregate at l.
func sub(l loc, lf ir.Leaf, at ir.Pos) loc {
	if l.x != nil {
		return loc{t: lf.Type, x: applySteps(l.x, lf.Steps, at)}
	}
	return loc{obj: l.obj, off: l.off + lf.Off, t: lf.Type}
}

// zero sets every leaf of the aggregate at l to zero.
func (sp *specializer) zero(l loc, at ir.Pos) error {
	for _, lf := range ir.Leaves(l.t) {
		var v value
		if it, ok := lf.Type.(*ir.IntType); ok {
			v = intVal(it, 0)
		} else {
			v = value{k: vPtr, t: lf.Type}
		}
		if err := sp.storeLoc(sub(l, lf, at), v, at); err != nil {
			return err
		}
	}
	return nil
}

// escape moves a local object into memory for good: its address reaches residual code.
func (sp *specializer) escape(o *object, at ir.Pos) error {
	os := sp.st.get(o)
	if os == nil || os.escaped {
		return nil
	}
	os = sp.st.mut(o)
	os.escaped = true
	for i := range os.slots {
		os = sp.st.mut(o)
		sl := os.slots[i]
		if sl.mem {
			continue
		}
		os.slots[i] = slot{v: value{k: vUndef, t: sl.v.t}, mem: true}
		if err := sp.store(o, i, sl.v, at); err != nil {
			return err
		}
	}
	return nil
}

// liftAt turns a value into a residual expression of type t. A static pointer to a local makes
// that local escape.
func (sp *specializer) liftAt(v value, t ir.Type, at ir.Pos) (ir.Expr, error) {
	if v.k == vPtr && v.obj != nil && v.obj.kind == objLocal {
		if err := sp.escape(v.obj, at); err != nil {
			return nil, err
		}
	}
	return sp.lift(v, t, at)
}

// lift turns a value into a residual expression of type t without touching the state (the
// caller has made any local it points to escape).
func (sp *specializer) lift(v value, t ir.Type, at ir.Pos) (ir.Expr, error) {
	switch v.k {
	case vDyn:
		return v.x, nil
	case vInt:
		if it, ok := t.(*ir.IntType); ok {
			return constInt(it, v.t.(*ir.IntType).Ext(v.bits), at), nil
		}
		if ir.IsPtr(t) && v.bits == 0 {
			return &ir.Const{E: ir.E{T: t, P: at}}, nil
		}
		return &ir.Cast{E: ir.E{T: t, P: at}, X: &ir.Const{E: ir.E{T: v.t, P: at}, Val: v.bits}}, nil
	case vFunc:
		return &ir.FuncRef{E: ir.E{T: &ir.PtrType{Elem: v.fn.Type}, P: at}, Func: v.fn}, nil
	case vPtr:
		if v.obj == nil {
			return &ir.Const{E: ir.E{T: t, P: at}}, nil
		}
		elem := v.t.(*ir.PtrType).Elem
		var x ir.Expr
		if v.obj.kind == objHeap && v.obj.ptrX != nil && v.off == 0 {
			x = v.obj.ptrX
		} else {
			if _, void := elem.(*ir.VoidType); void {
				elem = v.obj.t // a void * to an object: take the object's address
				if v.off != 0 {
					return nil, ir.Errorf(at, "void pointer into the middle of %s", v.obj.name)
				}
			}
			lv, err := v.obj.lvalue(sp, v.off, elem, at)
			if err != nil {
				return nil, err
			}
			x = &ir.AddrOf{E: ir.E{T: &ir.PtrType{Elem: elem}, P: at}, X: lv}
		}
		if !ir.Same(x.Type(), t) {
			x = &ir.Cast{E: ir.E{T: t, P: at}, X: x, Implicit: isVoidPtr(t) || isVoidPtr(x.Type())}
		}
		return x, nil
	}
	return nil, ir.Errorf(at, "use of an undefined value")
}

func isVoidPtr(t ir.Type) bool {
	p, ok := t.(*ir.PtrType)
	if !ok {
		return false
	}
	_, void := p.Elem.(*ir.VoidType)
	return void
}

// spill makes sure a dynamic value computed before mark is evaluated before the statements
// emitted since mark (left-to-right evaluation): it is saved in a temporary first.
func (sp *specializer) spill(v value, mark int, at ir.Pos) value {
	if v.k != vDyn || len(*sp.out) == mark {
		return v
	}
	if _, isConst := v.x.(*ir.Const); isConst {
		return v
	}
	tmp := &ir.Var{Name: sp.uniq("tmp"), Type: v.t, Kind: ir.Local}
	ref := &ir.VarRef{E: ir.E{T: v.t, P: at}, Var: tmp}
	s := &ir.ExprStmt{S: ir.S{P: at}, X: &ir.Assign{E: ir.E{T: v.t, P: at}, L: ref, R: v.x}}
	*sp.out = append((*sp.out)[:mark], append([]ir.Stmt{s}, (*sp.out)[mark:]...)...)
	return dyn(ref)
}

// globalObj returns the heap object of a global variable.
func (sp *specializer) globalObj(g *ir.Var) *object {
	if o := sp.heap[g.Name]; o != nil {
		return o
	}
	o := &object{kind: objHeap, t: g.Type, name: g.Name, lay: newLayout(g.Type),
		varX: &ir.VarRef{E: ir.E{T: g.Type}, Var: g}}
	sp.heap[g.Name] = o
	return o
}

// pointee returns the heap object a static pointer path points to; ptrX reads the pointer.
func (sp *specializer) pointee(path string, pt *ir.PtrType, ptrX ir.Expr) *object {
	if o := sp.heap["*"+path]; o != nil {
		return o
	}
	o := &object{kind: objHeap, t: pt.Elem, name: path, lay: newLayout(pt.Elem), ptrX: ptrX}
	sp.heap["*"+path] = o
	return o
}

// boundObj returns the object a bound name points to (inst->NAME).
func (sp *specializer) boundObj(name string) (*object, *ir.PtrType) {
	root := sp.r.Roots[name]
	pt := root.Type.(*ir.PtrType)
	f := sp.r.Instance.Field(name)
	x := &ir.Member{E: ir.E{T: pt}, X: &ir.VarRef{E: ir.E{T: sp.inst.Type}, Var: sp.inst}, Field: f, Arrow: true}
	return sp.pointee(name, pt, x), pt
}

// heapPath is the declaration-file path of the leaf at off (type t) in heap object o, plus the
// selection steps to it.
func heapPath(o *object, off int64, t ir.Type) (string, []ir.Step, bool) {
	steps, ok := ir.Locate(o.t, off, t)
	if !ok {
		return "", nil, false
	}
	var b strings.Builder
	b.WriteString(o.name)
	for i, s := range steps {
		switch {
		case s.Field != nil && i == 0 && o.ptrX != nil:
			b.WriteString("->" + s.Field.Name)
		case s.Field != nil:
			b.WriteString("." + s.Field.Name)
		default:
			fmt.Fprintf(&b, "[%d]", s.Index)
		}
	}
	return b.String(), steps, true
}

// heapLoad reads kernel memory: static when the declarations say so (value from the context),
// else a residual read.
func (sp *specializer) heapLoad(o *object, off int64, t ir.Type, at ir.Pos) (value, error) {
	if o == sp.instObj {
		if f, ok := ir.Locate(o.t, off, t); ok && len(f) == 1 && f[0].Field != nil {
			bo, pt := sp.boundObj(f[0].Field.Name)
			return value{k: vPtr, t: pt, obj: bo}, nil
		}
	}
	path, steps, ok := heapPath(o, off, t)
	if !ok {
		return value{}, ir.Errorf(at, "access to %s at byte %d as %s does not match its layout", o.name, off, t)
	}
	if name, bound := sp.r.BoundPaths[path]; bound {
		bo, pt := sp.boundObj(name)
		return value{k: vPtr, t: pt, obj: bo}, nil
	}
	if sl, known := sp.st.heap[path]; known && !sl.mem {
		v := sl.v
		v.t = t
		return v, nil
	}
	if v, ok, err := sp.staticAt(o, off, path, steps, t, at); ok || err != nil {
		return v, err
	}
	if o.varX != nil && len(steps) == 0 {
		if root := sp.r.Roots[o.name]; root != nil && root.Class == decl.Static {
			return sp.ctxValue(o.name, t, o.varX, at)
		}
	}
	x, err := o.lvalue(sp, off, t, at)
	if err != nil {
		return value{}, err
	}
	return dyn(x), nil
}

// staticAt returns the context value of a static path in o (or of an element of a static byte
// array), and whether the path is static.
func (sp *specializer) staticAt(o *object, off int64, path string, steps []ir.Step, t ir.Type, at ir.Pos) (value, bool, error) {
	if _, ok := sp.r.Statics[path]; ok {
		var ptrX ir.Expr
		if ir.IsPtr(t) {
			x, err := o.lvalue(sp, off, t, at)
			if err != nil {
				return value{}, true, err
			}
			ptrX = x
		}
		v, err := sp.ctxValue(path, t, ptrX, at)
		return v, true, err
	}
	if n := len(steps); n > 0 && steps[n-1].Field == nil {
		arr := path[:strings.LastIndexByte(path, '[')]
		if s, ok := sp.r.Statics[arr]; ok {
			if _, isArr := s.Type.(*ir.ArrayType); isArr {
				b := sp.ctx.Values[arr].Bytes
				return intVal(t.(*ir.IntType), uint64(b[steps[n-1].Index])), true, nil
			}
		}
	}
	return value{}, false, nil
}

// ctxValue converts a context value to a static value of type t. ptrX reads the pointer when
// the value is a non-null static pointer.
func (sp *specializer) ctxValue(key string, t ir.Type, ptrX ir.Expr, at ir.Pos) (value, error) {
	cv, ok := sp.ctx.Values[key]
	if !ok {
		return value{}, ir.Errorf(at, "context has no value for %s", key)
	}
	switch t := t.(type) {
	case *ir.IntType:
		return intVal(t, cv.Bits), nil
	case *ir.PtrType:
		if cv.Bits == 0 {
			return value{k: vPtr, t: t}, nil
		}
		if ptrX == nil {
			return value{}, ir.Errorf(at, "static pointer %s has no residual form", key)
		}
		return value{k: vPtr, t: t, obj: sp.pointee(key, t, ptrX)}, nil
	}
	return value{}, ir.Errorf(at, "%s: no static value of type %s", key, t)
}

// heapStore writes kernel memory: always residual; static fields are invariants and may not be
// written.
func (sp *specializer) heapStore(o *object, off int64, t ir.Type, v value, at ir.Pos) error {
	path, steps, ok := heapPath(o, off, t)
	if !ok {
		return ir.Errorf(at, "access to %s at byte %d as %s does not match its layout", o.name, off, t)
	}
	if sp.inOutline() {
		return ir.Errorf(at, "an outlined function writes kernel memory (%s), which its callers may know", path)
	}
	if _, static, _ := sp.staticAt(o, off, path, steps, t, at); static {
		return ir.Errorf(at, "write to %s, which the declarations make static (invariant)", path)
	}
	if _, bound := sp.r.BoundPaths[path]; bound {
		return ir.Errorf(at, "write to %s, which the declarations bind per instance", path)
	}
	if o.varX != nil && len(steps) == 0 {
		if root := sp.r.Roots[o.name]; root != nil && root.Class == decl.Static {
			return ir.Errorf(at, "write to the static global %s", o.name)
		}
	}
	lhs, err := o.lvalue(sp, off, t, at)
	if err != nil {
		return err
	}
	rhs, err := sp.liftAt(v, t, at)
	if err != nil {
		return err
	}
	sp.emit(&ir.ExprStmt{S: ir.S{P: at}, X: &ir.Assign{E: ir.E{T: t, P: at}, L: lhs, R: rhs}})
	_, guarded := sp.r.FixedPaths[path]
	if _, pinned := sp.st.heap[path]; guarded || pinned {
		if v.static() {
			sp.st.setHeap(path, slot{v: v})
		} else {
			sp.st.setHeap(path, slot{mem: true})
		}
	}
	return nil
}

// exprText is a short rendering of an expression for messages.
func exprText(e ir.Expr) string {
	switch e := e.(type) {
	case *ir.VarRef:
		return e.Var.Name
	case *ir.Member:
		if e.Arrow {
			return exprText(e.X) + "->" + e.Field.Name
		}
		return exprText(e.X) + "." + e.Field.Name
	case *ir.Cast:
		return exprText(e.X)
	case *ir.Index:
		return exprText(e.X) + "[...]"
	case *ir.Deref:
		return "*" + exprText(e.X)
	}
	return "the pointer"
}
