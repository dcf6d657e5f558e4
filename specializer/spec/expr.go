package spec

import (
	"specbed/specializer/ir"
)

// expr specializes an rvalue expression: a static value, or a residual expression (statements
// it needs first, such as inlined calls, go to sp.out).
func (sp *specializer) expr(e ir.Expr) (value, error) {
	v, err := sp.eval(e)
	if err == nil {
		o := WentFalse // observed dynamic
		if v.static() {
			o = WentTrue // observed static
		}
		sp.observed = append(sp.observed, decision{e, o})
	}
	return v, err
}

func (sp *specializer) eval(e ir.Expr) (value, error) {
	at := e.At()
	switch e := e.(type) {
	case *ir.Const:
		if it, ok := e.T.(*ir.IntType); ok {
			return intVal(it, e.Val), nil
		}
		return value{k: vPtr, t: e.T}, nil
	case *ir.FuncRef:
		return value{k: vFunc, t: e.T, fn: e.Func}, nil
	case *ir.VarRef, *ir.Member, *ir.Index, *ir.Deref:
		if !ir.IsScalar(e.Type()) {
			return value{}, ir.Errorf(at, "aggregate value used as a scalar")
		}
		l, err := sp.lvalue(e)
		if err != nil {
			return value{}, err
		}
		return sp.load(l, at)
	case *ir.AddrOf:
		l, err := sp.lvalue(e.X)
		if err != nil {
			return value{}, err
		}
		if l.x != nil {
			return dyn(&ir.AddrOf{E: e.E, X: l.x}), nil
		}
		return value{k: vPtr, t: e.T, obj: l.obj, off: l.off}, nil
	case *ir.Unary:
		return sp.unary(e)
	case *ir.Binary:
		switch e.Op {
		case ir.LogAnd, ir.LogOr:
			return sp.logical(e)
		}
		x, err := sp.expr(e.X)
		if err != nil {
			return value{}, err
		}
		mark := len(*sp.out)
		y, err := sp.expr(e.Y)
		if err != nil {
			return value{}, err
		}
		x = sp.spill(x, mark, at)
		return sp.binary(e, x, y)
	case *ir.Cond:
		return sp.cond(e)
	case *ir.Cast:
		return sp.cast(e)
	case *ir.Assign:
		return sp.assign(e)
	case *ir.IncDec:
		return sp.incDec(e)
	case *ir.Call:
		return sp.call(e)
	case *ir.Comma:
		x, err := sp.expr(e.X)
		if err != nil {
			return value{}, err
		}
		sp.discard(x, at)
		return sp.expr(e.Y)
	}
	return value{}, ir.Errorf(at, "unexpected expression %T", e)
}

// discard drops a value; a residual expression with effects becomes a statement.
func (sp *specializer) discard(v value, at ir.Pos) {
	if v.k == vDyn && hasEffects(v.x) {
		sp.emit(&ir.ExprStmt{S: ir.S{P: at}, X: v.x})
	}
}

// hasEffects reports whether a residual expression calls, assigns or increments.
func hasEffects(x ir.Expr) bool {
	eff := false
	ir.Inspect(x, func(n ir.Node) bool {
		switch n.(type) {
		case *ir.Call, *ir.Assign, *ir.IncDec:
			eff = true
		}
		return !eff
	})
	return eff
}

func (sp *specializer) unary(e *ir.Unary) (value, error) {
	x, err := sp.expr(e.X)
	if err != nil {
		return value{}, err
	}
	if truth, ok := known(x); ok && e.Op == ir.LogNot {
		return boolVal(!truth), nil
	}
	if x.static() {
		switch e.Op {
		case ir.LogNot:
			return boolVal(!x.truth()), nil
		case ir.Neg:
			return intVal(e.T.(*ir.IntType), -x.bits), nil
		default:
			return intVal(e.T.(*ir.IntType), ^x.bits), nil
		}
	}
	xe, err := sp.liftAt(x, e.X.Type(), e.P)
	if err != nil {
		return value{}, err
	}
	v := dyn(&ir.Unary{E: e.E, Op: e.Op, X: xe})
	if t := testOf(x); t != nil && e.Op == ir.LogNot {
		v.test = t.negate()
	}
	return v, nil
}

// known reports the truth of a condition when it is known: static, or a dynamic value without
// effects that is known nonzero.
func known(v value) (bool, bool) {
	if v.static() {
		return v.truth(), true
	}
	if v.k == vDyn && v.fact&nonzero != 0 && !hasEffects(v.x) {
		return true, true
	}
	return false, false
}

func boolVal(b bool) value {
	if b {
		return intVal(ir.Int, 1)
	}
	return intVal(ir.Int, 0)
}

// binary folds or residualizes a binary operation on evaluated operands.
func (sp *specializer) binary(e *ir.Binary, x, y value) (value, error) {
	if x.k == vInt && y.k == vInt {
		return foldInt(e, x, y)
	}
	if x.static() && y.static() {
		if v, ok, err := foldPtr(e, x, y); ok || err != nil {
			return v, err
		}
	}
	if e.Op.IsCompare() && x.k == vDyn && y.k == vInt && y.bits == 0 {
		// x op 0: decided by what is known of x's sign, or a test to refine branches on.
		signed := false
		if it, ok := e.X.Type().(*ir.IntType); ok {
			signed = it.Signed
		}
		if r, ok := decideFact(x.fact, e.Op, signed); ok && !hasEffects(x.x) {
			return boolVal(r), nil
		}
		v, err := sp.residualBinary(e, x, y)
		if err == nil {
			switch {
			case x.test != nil && e.Op == ir.Ne:
				v.test = x.test
			case x.test != nil && e.Op == ir.Eq:
				v.test = x.test.negate()
			case x.src != nil && (signed || e.Op == ir.Eq || e.Op == ir.Ne):
				v.test = &test{obj: x.src, leaf: x.leaf, op: e.Op}
			}
		}
		return v, err
	}
	if x.k == vDyn && y.k == vInt && y.bits == 0 && ir.IsPtr(e.T) {
		return x, nil // p + 0, p - 0
	}
	// Identities that do not change the value (and drop no effects).
	if it, ok := e.T.(*ir.IntType); ok && (x.k == vDyn) != (y.k == vDyn) {
		dv, sv := x, y
		if y.k == vDyn {
			dv, sv = y, x
		}
		if sv.k == vInt && ir.SameInt(dv.t.(*ir.IntType), it) {
			n := sv.bits
			switch {
			case n == 0 && (e.Op == ir.Add || e.Op == ir.Or || e.Op == ir.Xor):
				return dv, nil
			case n == 0 && y.k == vInt && (e.Op == ir.Sub || e.Op == ir.Shl || e.Op == ir.Shr):
				return dv, nil
			case n == 1 && (e.Op == ir.Mul || y.k == vInt && e.Op == ir.Div):
				return dv, nil
			case n == it.Mask() && e.Op == ir.And:
				return dv, nil
			}
		}
	}
	return sp.residualBinary(e, x, y)
}

func (sp *specializer) residualBinary(e *ir.Binary, x, y value) (value, error) {
	xe, err := sp.liftAt(x, e.X.Type(), e.P)
	if err != nil {
		return value{}, err
	}
	ye, err := sp.liftAt(y, e.Y.Type(), e.P)
	if err != nil {
		return value{}, err
	}
	return dyn(&ir.Binary{E: e.E, Op: e.Op, X: xe, Y: ye}), nil
}

// foldInt evaluates an integer operation with C's semantics on the operands' type.
func foldInt(e *ir.Binary, x, y value) (value, error) {
	xt := x.t.(*ir.IntType)
	a, b := x.bits, y.bits
	sa, sb := xt.Int64(a), y.t.(*ir.IntType).Int64(b)
	if e.Op.IsCompare() {
		var r bool
		if xt.Signed {
			r = map[ir.BinOp]bool{ir.Eq: sa == sb, ir.Ne: sa != sb, ir.Lt: sa < sb, ir.Le: sa <= sb, ir.Gt: sa > sb, ir.Ge: sa >= sb}[e.Op]
		} else {
			r = map[ir.BinOp]bool{ir.Eq: a == b, ir.Ne: a != b, ir.Lt: a < b, ir.Le: a <= b, ir.Gt: a > b, ir.Ge: a >= b}[e.Op]
		}
		return boolVal(r), nil
	}
	t := e.T.(*ir.IntType)
	var r uint64
	switch e.Op {
	case ir.Add:
		r = a + b
	case ir.Sub:
		r = a - b
	case ir.Mul:
		r = a * b
	case ir.Div, ir.Mod:
		if b == 0 {
			return value{}, ir.Errorf(e.P, "division by zero with static operands")
		}
		if t.Signed {
			if sb == -1 && sa == minOf(t) {
				return value{}, ir.Errorf(e.P, "signed overflow in a static division")
			}
			if e.Op == ir.Div {
				r = uint64(sa / sb)
			} else {
				r = uint64(sa % sb)
			}
		} else if e.Op == ir.Div {
			r = a / b
		} else {
			r = a % b
		}
	case ir.Shl, ir.Shr:
		if sb < 0 || sb >= 8*t.Bytes {
			return value{}, ir.Errorf(e.P, "shift by %d of a %d-bit value", sb, 8*t.Bytes)
		}
		if e.Op == ir.Shl {
			r = a << uint(sb)
		} else if t.Signed {
			r = uint64(sa >> uint(sb))
		} else {
			r = a >> uint(sb)
		}
	case ir.And:
		r = a & b
	case ir.Or:
		r = a | b
	case ir.Xor:
		r = a ^ b
	default:
		return value{}, ir.Errorf(e.P, "operator %s on integers", e.Op)
	}
	return intVal(t, r), nil
}

// FoldBinary evaluates e on integer constants x of type xt and y of type yt with C's
// semantics, as specialization does: the result's bits in e's type (int for comparisons).
func FoldBinary(e *ir.Binary, xt *ir.IntType, x uint64, yt *ir.IntType, y uint64) (uint64, error) {
	v, err := foldInt(e, intVal(xt, x), intVal(yt, y))
	return v.bits, err
}

func minOf(t *ir.IntType) int64 { m, _ := t.Range(); return m }

// foldPtr evaluates pointer arithmetic and comparisons on static pointers. ok is false when the
// result is not static (two different kernel objects: their order is unknown here).
func foldPtr(e *ir.Binary, x, y value) (value, bool, error) {
	switch e.Op {
	case ir.Add, ir.Sub:
		if x.k == vPtr && y.k == vInt {
			if x.obj == nil {
				return value{}, true, ir.Errorf(e.P, "arithmetic on a NULL pointer")
			}
			n := y.t.(*ir.IntType).Int64(y.bits) * x.t.(*ir.PtrType).Elem.Size()
			if e.Op == ir.Sub {
				n = -n
			}
			return value{k: vPtr, t: e.T, obj: x.obj, off: x.off + n}, true, nil
		}
		if x.k == vPtr && y.k == vPtr && e.Op == ir.Sub {
			if x.obj != y.obj || x.obj == nil {
				return value{}, false, nil
			}
			sz := x.t.(*ir.PtrType).Elem.Size()
			return intVal(ir.Int, uint64((x.off-y.off)/sz)), true, nil
		}
	case ir.Eq, ir.Ne, ir.Lt, ir.Le, ir.Gt, ir.Ge:
		if x.k != y.k || x.k == vInt {
			return value{}, false, nil
		}
		var eq bool
		switch {
		case x.k == vFunc:
			eq = x.fn == y.fn
		case x.obj == y.obj:
			if e.Op != ir.Eq && e.Op != ir.Ne {
				r := map[ir.BinOp]bool{ir.Lt: x.off < y.off, ir.Le: x.off <= y.off, ir.Gt: x.off > y.off, ir.Ge: x.off >= y.off}[e.Op]
				return boolVal(r), true, nil
			}
			eq = x.off == y.off
		case x.obj == nil || y.obj == nil || x.obj.kind == objLocal || y.obj.kind == objLocal:
			eq = false // distinct objects; null is no object
		default:
			return value{}, false, nil // two kernel objects may alias
		}
		switch e.Op {
		case ir.Eq:
			return boolVal(eq), true, nil
		case ir.Ne:
			return boolVal(!eq), true, nil
		}
		return value{}, true, ir.Errorf(e.P, "ordering pointers to different objects")
	}
	return value{}, false, nil
}

func (sp *specializer) cast(e *ir.Cast) (value, error) {
	at := e.P
	if _, arr := e.X.Type().(*ir.ArrayType); arr {
		l, err := sp.lvalue(e.X)
		if err != nil {
			return value{}, err
		}
		if l.x != nil {
			return dyn(&ir.Cast{E: e.E, X: l.x, Implicit: true}), nil
		}
		return value{k: vPtr, t: e.T, obj: l.obj, off: l.off}, nil
	}
	x, err := sp.expr(e.X)
	if err != nil {
		return value{}, err
	}
	switch t := e.T.(type) {
	case *ir.VoidType:
		sp.discard(x, at)
		return value{k: vInt, t: ir.Int}, nil
	case *ir.IntType:
		switch x.k {
		case vInt:
			return intVal(t, x.t.(*ir.IntType).Ext(x.bits)), nil
		case vPtr, vFunc:
			if x.k == vPtr && x.obj == nil {
				return intVal(t, 0), nil
			}
			if t.Bool {
				return intVal(t, 1), nil
			}
		}
	case *ir.PtrType:
		switch x.k {
		case vPtr:
			x.t = t
			return x, nil
		case vFunc:
			x.t = t
			return x, nil
		case vInt:
			if x.bits == 0 {
				return value{k: vPtr, t: t}, nil
			}
			return value{}, ir.Errorf(at, "a static integer used as a pointer")
		}
	}
	xe, err := sp.liftAt(x, e.X.Type(), at)
	if err != nil {
		return value{}, err
	}
	v := dyn(&ir.Cast{E: e.E, X: xe, Implicit: e.Implicit})
	if from, ok := e.X.Type().(*ir.IntType); ok {
		if to, ok := e.T.(*ir.IntType); ok && !to.Bool && (to.Bytes > from.Bytes && (to.Signed || !from.Signed) || to.Bytes == from.Bytes && to.Signed == from.Signed) {
			// The conversion keeps the value: and what is known about it.
			v.fact, v.src, v.leaf, v.test = x.fact, x.src, x.leaf, x.test
		}
	}
	return v, nil
}

func (sp *specializer) assign(e *ir.Assign) (value, error) {
	at := e.P
	l, err := sp.lvalue(e.L)
	if err != nil {
		return value{}, err
	}
	if _, agg := e.T.(*ir.StructType); agg {
		src, err := sp.lvalue(e.R)
		if err != nil {
			return value{}, err
		}
		return value{k: vInt, t: ir.Int}, sp.copyAgg(l, src, at)
	}
	// C leaves the order of the lvalue's and the right operand's evaluations unspecified; the
	// residual computes the lvalue's address after the right operand's statements.
	r, err := sp.expr(e.R)
	if err != nil {
		return value{}, err
	}
	if e.Op != 0 {
		cur, err := sp.load(l, at)
		if err != nil {
			return value{}, err
		}
		if r, err = sp.compound(e, cur, r); err != nil {
			return value{}, err
		}
	}
	if err := sp.storeLoc(l, r, at); err != nil {
		return value{}, err
	}
	if r.k == vDyn {
		// The value of an assignment expression is the stored value: read it back.
		return sp.load(l, at)
	}
	return r, nil
}

// compound computes cur op r for a compound assignment and converts back to the lvalue's type.
func (sp *specializer) compound(e *ir.Assign, cur, r value) (value, error) {
	opT := e.OpType
	bin := &ir.Binary{E: ir.E{T: opT, P: e.P}, Op: e.Op, X: &ir.Const{E: ir.E{T: opT}}, Y: e.R}
	if ir.IsPtr(opT) {
		v, ok, err := foldPtr(bin, cur, r)
		if ok || err != nil {
			return v, err
		}
	} else {
		it := opT.(*ir.IntType)
		if cur.k == vInt {
			cur = intVal(it, cur.t.(*ir.IntType).Ext(cur.bits))
		} else {
			x, err := sp.liftAt(cur, e.L.Type(), e.P)
			if err != nil {
				return value{}, err
			}
			cur = dyn(&ir.Cast{E: ir.E{T: it, P: e.P}, X: x, Implicit: true})
		}
		bin.X = &ir.Const{E: ir.E{T: it}}
		v, err := sp.binary(bin, cur, r)
		if err != nil {
			return value{}, err
		}
		lt := e.L.Type().(*ir.IntType)
		if v.k == vInt {
			return intVal(lt, it.Ext(v.bits)), nil
		}
		return dyn(&ir.Cast{E: ir.E{T: lt, P: e.P}, X: v.x, Implicit: true}), nil
	}
	x, err := sp.liftAt(cur, opT, e.P)
	if err != nil {
		return value{}, err
	}
	y, err := sp.liftAt(r, e.R.Type(), e.P)
	if err != nil {
		return value{}, err
	}
	return dyn(&ir.Binary{E: ir.E{T: opT, P: e.P}, Op: e.Op, X: x, Y: y}), nil
}

func (sp *specializer) incDec(e *ir.IncDec) (value, error) {
	l, err := sp.lvalue(e.X)
	if err != nil {
		return value{}, err
	}
	cur, err := sp.load(l, e.P)
	if err != nil {
		return value{}, err
	}
	if cur.k == vDyn && l.x == nil && l.obj.kind == objLocal {
		// In memory: the residual increments it.
		lv, err := l.obj.lvalue(sp, l.off, l.t, e.P)
		if err != nil {
			return value{}, err
		}
		return dyn(&ir.IncDec{E: e.E, X: lv, Inc: e.Inc, Post: e.Post}), nil
	}
	if cur.k == vDyn {
		return dyn(&ir.IncDec{E: e.E, X: cur.x, Inc: e.Inc, Post: e.Post}), nil
	}
	op := ir.Add
	if !e.Inc {
		op = ir.Sub
	}
	var next value
	if ir.IsPtr(l.t) {
		v, _, err := foldPtr(&ir.Binary{E: ir.E{T: l.t, P: e.P}, Op: op}, cur, intVal(ir.Int, 1))
		if err != nil {
			return value{}, err
		}
		next = v
	} else {
		it := l.t.(*ir.IntType)
		if it.Bool {
			next = intVal(it, 1)
			if !e.Inc {
				next = intVal(it, cur.bits-1)
			}
		} else {
			next = intVal(it, cur.bits+map[bool]uint64{true: 1, false: ^uint64(0)}[e.Inc])
		}
	}
	if err := sp.storeLoc(l, next, e.P); err != nil {
		return value{}, err
	}
	if e.Post {
		return cur, nil
	}
	return next, nil
}

// logical specializes && and ||: a static left operand decides; otherwise the right operand is
// specialized as the then-branch of a residual conditional, and folded back into an expression
// when it needed no statements.
func (sp *specializer) logical(e *ir.Binary) (value, error) {
	x, err := sp.expr(e.X)
	if err != nil {
		return value{}, err
	}
	and := e.Op == ir.LogAnd
	if truth, ok := known(x); ok {
		sp.decide(e, truth)
		if truth != and {
			return boolVal(!and), nil
		}
		y, err := sp.expr(e.Y)
		if err != nil {
			return value{}, err
		}
		return sp.truthValue(y, e.Y.Type(), e.P)
	}
	if x.static() {
		sp.decide(e, x.truth())
		if x.truth() != and {
			return boolVal(!and), nil
		}
		y, err := sp.expr(e.Y)
		if err != nil {
			return value{}, err
		}
		return sp.truthValue(y, e.Y.Type(), e.P)
	}
	xe, err := sp.liftAt(x, e.X.Type(), e.P)
	if err != nil {
		return value{}, err
	}
	cond := xe
	if !and {
		cond = &ir.Unary{E: ir.E{T: ir.Int, P: e.P}, Op: ir.LogNot, X: xe}
	}
	var yv value
	short := boolVal(!and)
	xt := testOf(x)
	v, err := sp.residualChoice(e, cond, func() (value, error) {
		if and {
			sp.refine(xt)
		} else if xt != nil {
			sp.refine(xt.negate())
		}
		y, err := sp.expr(e.Y)
		if err != nil {
			return value{}, err
		}
		yv, err = sp.truthValue(y, e.Y.Type(), e.P)
		return yv, err
	}, func() (value, error) { return short, nil }, ir.Int)
	if err != nil {
		return value{}, err
	}
	if v.k == vDyn && v.x == nil {
		// Folded into an expression: x && y / x || y; with a static y, x alone decides.
		if yv.static() {
			if yv.truth() == and {
				return sp.truthValue(x, e.X.Type(), e.P) // x && 1, x || 0
			}
			if !hasEffects(xe) {
				return boolVal(!and), nil // x && 0, x || 1
			}
		}
		ye, err := sp.liftAt(yv, ir.Int, e.P)
		if err != nil {
			return value{}, err
		}
		return dyn(&ir.Binary{E: e.E, Op: e.Op, X: xe, Y: ye}), nil
	}
	return v, nil
}

// truthValue converts a scalar value to C's 0 or 1 of type int.
func (sp *specializer) truthValue(v value, t ir.Type, at ir.Pos) (value, error) {
	if v.static() {
		return boolVal(v.truth()), nil
	}
	if v.test != nil || isBoolExpr(v.x) {
		return v, nil // already 0 or 1
	}
	x, err := sp.liftAt(v, t, at)
	if err != nil {
		return value{}, err
	}
	r := dyn(&ir.Binary{E: ir.E{T: ir.Int, P: at}, Op: ir.Ne, X: x, Y: zeroOf(t, at)})
	r.test = testOf(v)
	return r, nil
}

func zeroOf(t ir.Type, at ir.Pos) ir.Expr {
	if it, ok := t.(*ir.IntType); ok {
		return constInt(it, 0, at)
	}
	return &ir.Const{E: ir.E{T: t, P: at}}
}

// cond specializes c ? x : y.
func (sp *specializer) cond(e *ir.Cond) (value, error) {
	c, err := sp.expr(e.C)
	if err != nil {
		return value{}, err
	}
	if truth, ok := known(c); ok {
		sp.decide(e, truth)
		if truth {
			return sp.expr(e.X)
		}
		return sp.expr(e.Y)
	}
	ce, err := sp.liftAt(c, e.C.Type(), e.P)
	if err != nil {
		return value{}, err
	}
	var xv, yv value
	v, err := sp.residualChoice(e, ce, func() (value, error) {
		xv, err = sp.expr(e.X)
		return xv, err
	}, func() (value, error) {
		yv, err = sp.expr(e.Y)
		return yv, err
	}, e.T)
	if err != nil {
		return value{}, err
	}
	if v.k == vDyn && v.x == nil {
		xe, err := sp.liftAt(xv, e.T, e.P)
		if err != nil {
			return value{}, err
		}
		ye, err := sp.liftAt(yv, e.T, e.P)
		if err != nil {
			return value{}, err
		}
		r := dyn(&ir.Cond{E: e.E, C: ce, X: xe, Y: ye})
		r.fact = meet(valueFact(xv), valueFact(yv)) // c ? -ERESTARTSYS : -EINTR is negative
		return r, nil
	}
	return v, nil
}

// valueFact is the fact a value satisfies: a static integer's, or a dynamic value's own.
func valueFact(v value) fact {
	if v.static() {
		return factOf(v)
	}
	if v.k == vDyn {
		return v.fact
	}
	return noFact
}

// residualChoice specializes the two arms of a conditional expression under a dynamic
// condition. When neither arm needed residual statements or changed the static state, it
// returns a dynamic value with a nil expression: the caller folds the arms' values into one
// residual expression. Otherwise the arms become a residual if/else that store their values in
// a temporary of type t, and the temporary's value is returned.
func (sp *specializer) residualChoice(n ir.Node, cond ir.Expr, thenFn, elseFn func() (value, error), t ir.Type) (value, error) {
	at := n.At()
	sp.res.Stats.BranchesKept++
	base := sp.st
	tmp := sp.newLocal("t", t)
	var vals [2]value
	arm := func(i int, f func() (value, error)) func() error {
		return func() error {
			v, err := f()
			vals[i] = v
			return err
		}
	}
	thenOut, thenEnd, err := sp.arm(base, arm(0, thenFn))
	if err != nil {
		return value{}, err
	}
	elseOut, elseEnd, err := sp.arm(base, arm(1, elseFn))
	if err != nil {
		return value{}, err
	}
	if thenEnd.st == nil || elseEnd.st == nil {
		return value{}, ir.Errorf(at, "a conditional expression's arm does not complete")
	}
	if emptyBlock(thenOut) && emptyBlock(elseOut) && !modified(thenEnd.st, base) && !modified(elseEnd.st, base) {
		return value{k: vDyn}, nil
	}
	// Statement form: store each arm's value in the temporary, at the arm's end.
	for i, end := range []armEnd{thenEnd, elseEnd} {
		saved, savedSt := sp.out, sp.st
		sp.out, sp.st = &end.fix.Stmts, end.st
		sp.st.add(tmp, false)
		err := sp.storeLoc(loc{obj: tmp, t: t}, vals[i], at)
		sp.out, sp.st = saved, savedSt
		if err != nil {
			return value{}, err
		}
	}
	// The stores above sit in the arms' placeholders; give the join fresh ones.
	fixT, fixE := &ir.Block{}, &ir.Block{}
	thenOut = append(thenOut, fixT)
	elseOut = append(elseOut, fixE)
	sp.emit(&ir.If{S: ir.S{P: at}, Cond: cond, Then: &ir.Block{S: ir.S{P: at}, Stmts: thenOut},
		Else: &ir.Block{S: ir.S{P: at}, Stmts: elseOut}})
	if err := sp.join(at, armEnd{st: thenEnd.st, fix: fixT}, armEnd{st: elseEnd.st, fix: fixE}); err != nil {
		return value{}, err
	}
	v, err := sp.load(loc{obj: tmp, t: t}, at)
	sp.st.drop(tmp)
	return v, err
}

// modified reports whether a forked state changed any object since it left base.
func modified(s, base *state) bool {
	if len(s.objs) != len(base.objs) {
		return true
	}
	for i, e := range s.objs {
		if base.objs[i] != e {
			return true
		}
	}
	return false
}

// isBoolExpr reports a residual expression whose value is already 0 or 1.
func isBoolExpr(x ir.Expr) bool {
	switch x := x.(type) {
	case *ir.Binary:
		return x.Op.IsCompare() || x.Op == ir.LogAnd || x.Op == ir.LogOr
	case *ir.Unary:
		return x.Op == ir.LogNot
	}
	return false
}
