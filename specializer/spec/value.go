package spec

import (
	"fmt"

	"specbed/specializer/ir"
)

// vkind is what the specializer knows about a value.
type vkind uint8

const (
	vUndef vkind = iota // an uninitialized local
	vInt                // a static integer
	vPtr                // a static pointer: into a known object, or null
	vFunc               // a static function pointer
	vDyn                // dynamic: computed by residual code
)

// value is a static value or a residual expression. Static pointers name their target object
// and byte offset; they turn into residual expressions only when they meet dynamic code.
type value struct {
	k    vkind
	t    ir.Type
	bits uint64   // vInt: canonical bits of t (ir.IntType.Wrap)
	obj  *object  // vPtr: target, nil for null
	off  int64    // vPtr: byte offset inside obj
	fn   *ir.Func // vFunc
	x    ir.Expr  // vDyn

	// Dynamic integers: what is known about the sign, where the value was loaded from (a local
	// leaf in memory, for refining branches on it), and the test a comparison with zero is.
	fact fact
	src  *object
	leaf int
	test *test
}

func intVal(t *ir.IntType, v uint64) value { return value{k: vInt, t: t, bits: t.Wrap(v)} }

func dyn(x ir.Expr) value { return value{k: vDyn, t: x.Type(), x: x} }

func (v value) static() bool { return v.k == vInt || v.k == vPtr || v.k == vFunc }

// truth reports a static scalar's truth value.
func (v value) truth() bool {
	switch v.k {
	case vInt:
		return v.bits != 0
	case vPtr:
		return v.obj != nil
	}
	return true // function pointers are never null
}

// same reports whether two static values are the same value (dynamic values never are).
func same(a, b value) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case vUndef:
		return true
	case vInt:
		return a.bits == b.bits && a.t.Size() == b.t.Size()
	case vPtr:
		return a.obj == b.obj && a.off == b.off
	case vFunc:
		return a.fn == b.fn
	}
	return false
}

func (v value) String() string {
	switch v.k {
	case vInt:
		return fmt.Sprintf("%d", v.t.(*ir.IntType).Int64(v.bits))
	case vPtr:
		if v.obj == nil {
			return "NULL"
		}
		return fmt.Sprintf("&%s+%d", v.obj.name, v.off)
	case vFunc:
		return v.fn.Name
	case vDyn:
		return "dynamic"
	}
	return "undefined"
}

// objKind says where an object lives.
type objKind uint8

const (
	objLocal objKind = iota // a local variable instance of the specialized code
	objHeap                 // kernel memory reached from a root, or a global variable
)

// object is memory the specializer reasons about. Locals are tracked leaf by leaf (see
// objState); heap objects are only read, from the context when declared static.
type object struct {
	kind objKind
	t    ir.Type
	name string // source name (locals) or canonical path (heap)
	lay  *layout
	seq  int // creation order, for deterministic iteration

	// Locals.
	rv       *ir.Var // residual variable, made when the object first needs memory
	resParam bool    // rv is a parameter of the residual (a dynamic entry parameter)

	// Heap objects: the object is *ptrX (a pointee) or, for a global variable, varX itself.
	ptrX ir.Expr
	varX ir.Expr
}

// layout caches the scalar leaves of a type, by offset.
type layout struct {
	leaves []ir.Leaf
	byOff  map[int64]int
}

func newLayout(t ir.Type) *layout {
	l := &layout{leaves: ir.Leaves(t), byOff: map[int64]int{}}
	for i, lf := range l.leaves {
		l.byOff[lf.Off] = i
	}
	return l
}

// leaf returns the index of the scalar leaf of type t at off, or -1.
func (l *layout) leaf(off int64, t ir.Type) int {
	i, ok := l.byOff[off]
	if !ok || l.leaves[i].Type.Size() != t.Size() || ir.IsPtr(l.leaves[i].Type) != ir.IsPtr(t) {
		return -1
	}
	return i
}

// lvalue builds the residual lvalue of the sub-object of type t at off in o.
func (o *object) lvalue(sp *specializer, off int64, t ir.Type, at ir.Pos) (ir.Expr, error) {
	steps, ok := ir.Locate(o.t, off, t)
	if !ok {
		return nil, ir.Errorf(at, "access to %s at byte %d as %s does not match its layout (type punning is outside the subset)", o.name, off, t)
	}
	var x ir.Expr
	switch {
	case o.kind == objLocal:
		x = &ir.VarRef{E: ir.E{T: o.t, P: at}, Var: sp.residualVar(o)}
	case o.varX != nil:
		x = o.varX
	default:
		if len(steps) == 0 {
			return &ir.Deref{E: ir.E{T: t, P: at}, X: o.ptrX}, nil
		}
		first := steps[0]
		if first.Field != nil {
			x = &ir.Member{E: ir.E{T: first.Field.Type, P: at}, X: o.ptrX, Field: first.Field, Arrow: true}
		} else {
			x = &ir.Index{E: ir.E{T: o.t.(*ir.ArrayType).Elem, P: at}, X: o.ptrX, I: constInt(ir.Int, uint64(first.Index), at)}
		}
		steps = steps[1:]
	}
	return applySteps(x, steps, at), nil
}

func applySteps(x ir.Expr, steps []ir.Step, at ir.Pos) ir.Expr {
	for _, s := range steps {
		if s.Field != nil {
			x = &ir.Member{E: ir.E{T: s.Field.Type, P: at}, X: x, Field: s.Field}
		} else {
			x = &ir.Index{E: ir.E{T: x.Type().(*ir.ArrayType).Elem, P: at}, X: x, I: constInt(ir.Int, uint64(s.Index), at)}
		}
	}
	return x
}

func constInt(t *ir.IntType, v uint64, at ir.Pos) *ir.Const {
	return &ir.Const{E: ir.E{T: t, P: at}, Val: t.Wrap(v)}
}
