package parse

import (
	"modernc.org/cc/v4"
	"modernc.org/token"

	"specbed/specializer/ir"
)

type posNode = interface{ Position() token.Position }

// expr lowers an expression. The result may be an lvalue of array type (see rvalue).
func (l *lowerer) expr(n cc.ExpressionNode) ir.Expr {
	// Lower first (so anything outside the subset is refused even inside a constant
	// expression), then use the value cc/v4 computed when the expression is constant.
	x := l.lower(n)
	if c := l.constant(n); c != nil {
		return c
	}
	return x
}

func (l *lowerer) lower(n cc.ExpressionNode) ir.Expr {
	p := l.pos(n)
	switch n := n.(type) {
	case *cc.PrimaryExpression:
		return l.primary(n)
	case *cc.PostfixExpression:
		return l.postfix(n)
	case *cc.UnaryExpression:
		return l.unary(n)
	case *cc.CastExpression:
		if n.Case == cc.CastExpressionUnary {
			return l.expr(n.UnaryExpression)
		}
		t := l.typ(n.TypeName.Type(), n)
		return l.cast(l.rvalue(l.expr(n.CastExpression)), t, n, false)
	case *cc.MultiplicativeExpression:
		op := map[cc.MultiplicativeExpressionCase]ir.BinOp{cc.MultiplicativeExpressionMul: ir.Mul,
			cc.MultiplicativeExpressionDiv: ir.Div, cc.MultiplicativeExpressionMod: ir.Mod}[n.Case]
		return l.arith(op, n.MultiplicativeExpression, n.CastExpression, n)
	case *cc.AdditiveExpression:
		op := ir.Add
		if n.Case == cc.AdditiveExpressionSub {
			op = ir.Sub
		}
		return l.additive(op, l.rvalue(l.expr(n.AdditiveExpression)), l.rvalue(l.expr(n.MultiplicativeExpression)), n)
	case *cc.ShiftExpression:
		op := ir.Shl
		if n.Case == cc.ShiftExpressionRsh {
			op = ir.Shr
		}
		return l.shift(op, n.ShiftExpression, n.AdditiveExpression, n)
	case *cc.RelationalExpression:
		op := map[cc.RelationalExpressionCase]ir.BinOp{cc.RelationalExpressionLt: ir.Lt, cc.RelationalExpressionGt: ir.Gt,
			cc.RelationalExpressionLeq: ir.Le, cc.RelationalExpressionGeq: ir.Ge}[n.Case]
		return l.compare(op, n.RelationalExpression, n.ShiftExpression, n)
	case *cc.EqualityExpression:
		op := ir.Eq
		if n.Case == cc.EqualityExpressionNeq {
			op = ir.Ne
		}
		return l.compare(op, n.EqualityExpression, n.RelationalExpression, n)
	case *cc.AndExpression:
		return l.arith(ir.And, n.AndExpression, n.EqualityExpression, n)
	case *cc.ExclusiveOrExpression:
		return l.arith(ir.Xor, n.ExclusiveOrExpression, n.AndExpression, n)
	case *cc.InclusiveOrExpression:
		return l.arith(ir.Or, n.InclusiveOrExpression, n.ExclusiveOrExpression, n)
	case *cc.LogicalAndExpression:
		return &ir.Binary{E: ir.E{T: ir.Int, P: p}, Op: ir.LogAnd, X: l.cond(n.LogicalAndExpression), Y: l.cond(n.InclusiveOrExpression)}
	case *cc.LogicalOrExpression:
		return &ir.Binary{E: ir.E{T: ir.Int, P: p}, Op: ir.LogOr, X: l.cond(n.LogicalOrExpression), Y: l.cond(n.LogicalAndExpression)}
	case *cc.ConditionalExpression:
		return l.conditional(n)
	case *cc.AssignmentExpression:
		return l.assign(n)
	case *cc.ExpressionList:
		if n.ExpressionList == nil {
			return l.expr(n.AssignmentExpression)
		}
		// cc/v4 builds the list right-recursively from the front: AssignmentExpression is the
		// first operand, ExpressionList the rest.
		x := l.expr(n.AssignmentExpression)
		y := l.rvalue(l.expr(n.ExpressionList))
		return &ir.Comma{E: ir.E{T: y.Type(), P: p}, X: x, Y: y}
	case *cc.ConstantExpression:
		return l.expr(n.ConditionalExpression)
	}
	l.refuse(n, "expression %T is outside the subset", n)
	return nil
}

// constant returns the integer constant cc/v4 computed for n (sizeof, enumerators, constant
// arithmetic), or nil.
func (l *lowerer) constant(n cc.ExpressionNode) ir.Expr {
	t := n.Type()
	if !n.Pure() {
		return nil // an assignment's value is known, but its effect must stay
	}
	if t == nil || t.Kind() == cc.Char || intByKind[t.Kind()] == nil && t.Kind() != cc.Enum {
		return nil
	}
	var v uint64
	switch x := n.Value().(type) {
	case cc.Int64Value:
		v = uint64(x)
	case cc.UInt64Value:
		v = uint64(x)
	default:
		return nil
	}
	it := l.typ(t, n).(*ir.IntType)
	return &ir.Const{E: ir.E{T: it, P: l.pos(n)}, Val: it.Wrap(v)}
}

func (l *lowerer) primary(n *cc.PrimaryExpression) ir.Expr {
	p := l.pos(n)
	switch n.Case {
	case cc.PrimaryExpressionIdent:
		switch d := n.ResolvedTo().(type) {
		case *cc.Declarator:
			if _, ok := d.Type().(*cc.FunctionType); ok {
				f := l.funcs[d.Name()]
				if f == nil {
					l.refuse(n, "undeclared function %s", d.Name())
				}
				return &ir.FuncRef{E: ir.E{T: &ir.PtrType{Elem: f.Type}, P: p}, Func: f}
			}
			v := l.vars[d]
			if v == nil {
				l.refuse(n, "%s is not a variable of the subset", d.Name())
			}
			return &ir.VarRef{E: ir.E{T: v.Type, P: p}, Var: v}
		case *cc.Parameter:
			if v := l.vars[d.Declarator]; v != nil {
				return &ir.VarRef{E: ir.E{T: v.Type, P: p}, Var: v}
			}
		case *cc.Enumerator:
			if c := l.constant(n); c != nil {
				return c
			}
		}
		l.refuse(n, "cannot resolve %s", n.Token.SrcStr())
	case cc.PrimaryExpressionExpr:
		return l.expr(n.ExpressionList)
	case cc.PrimaryExpressionInt, cc.PrimaryExpressionChar:
		if c := l.constant(n); c != nil {
			return c
		}
	case cc.PrimaryExpressionString, cc.PrimaryExpressionLString:
		l.refuse(n, "string literals are outside the subset")
	case cc.PrimaryExpressionFloat:
		l.refuse(n, "floating point is outside the subset")
	case cc.PrimaryExpressionStmt:
		l.refuse(n, "statement expressions are outside the subset")
	case cc.PrimaryExpressionGeneric:
		l.refuse(n, "_Generic is outside the subset")
	}
	l.refuse(n, "constant is outside the subset")
	return nil
}

func (l *lowerer) postfix(n *cc.PostfixExpression) ir.Expr {
	p := l.pos(n)
	switch n.Case {
	case cc.PostfixExpressionPrimary:
		return l.expr(n.PrimaryExpression)
	case cc.PostfixExpressionIndex:
		x := l.expr(n.PostfixExpression)
		i := l.rvalue(l.expr(n.ExpressionList))
		if ir.IsInt(x.Type()) { // i[x]
			x, i = l.rvalue(i), x
		}
		var elem ir.Type
		switch t := x.Type().(type) {
		case *ir.ArrayType:
			elem = t.Elem
		case *ir.PtrType:
			elem = t.Elem
		default:
			l.refuse(n, "indexing a %s", x.Type())
		}
		if !ir.IsInt(i.Type()) {
			l.refuse(n, "index of type %s", i.Type())
		}
		return &ir.Index{E: ir.E{T: elem, P: p}, X: x, I: l.convert(i, ir.Promote(i.Type().(*ir.IntType)), n)}
	case cc.PostfixExpressionCall:
		return l.call(n)
	case cc.PostfixExpressionSelect, cc.PostfixExpressionPSelect:
		arrow := n.Case == cc.PostfixExpressionPSelect
		x := l.expr(n.PostfixExpression)
		st, ok := x.Type().(*ir.StructType)
		if arrow {
			x = l.rvalue(x)
			pt, isPtr := x.Type().(*ir.PtrType)
			if isPtr {
				st, ok = pt.Elem.(*ir.StructType)
			} else {
				ok = false
			}
		}
		name := n.Token2.SrcStr()
		if !ok || st.Field(name) == nil {
			l.refuse(n, "no member %s", name)
		}
		f := st.Field(name)
		return &ir.Member{E: ir.E{T: f.Type, P: p}, X: x, Field: f, Arrow: arrow}
	case cc.PostfixExpressionInc, cc.PostfixExpressionDec:
		return l.incDec(l.expr(n.PostfixExpression), n.Case == cc.PostfixExpressionInc, true, n)
	}
	l.refuse(n, "compound literals are outside the subset")
	return nil
}

func (l *lowerer) call(n *cc.PostfixExpression) ir.Expr {
	fn := l.rvalue(l.expr(n.PostfixExpression))
	if d, ok := fn.(*ir.Deref); ok { // (*fp)(...)
		fn = d.X
	}
	pt, ok := fn.Type().(*ir.PtrType)
	var ft *ir.FuncType
	if ok {
		ft, ok = pt.Elem.(*ir.FuncType)
	}
	if !ok {
		l.refuse(n, "calling a non-function")
	}
	var args []ir.Expr
	for al := n.ArgumentExpressionList; al != nil; al = al.ArgumentExpressionList {
		args = append(args, l.rvalue(l.expr(al.AssignmentExpression)))
	}
	if ref, ok := fn.(*ir.FuncRef); ok && ref.Func.Body == nil && l.defined[ref.Func.Name] == nil && l.markers[ref.Func.Name] == ir.NotShim {
		l.refuse(n, "call of external function %s, which has no SHIM_PURE or SHIM_EFFECT marker", ref.Func.Name)
	}
	if len(args) != len(ft.Params) {
		l.refuse(n, "call with %d arguments to a function of %d parameters", len(args), len(ft.Params))
	}
	for i := range args {
		args[i] = l.convert(args[i], ft.Params[i], n)
	}
	return &ir.Call{E: ir.E{T: ft.Result, P: l.pos(n)}, Fn: fn, Args: args}
}

func (l *lowerer) unary(n *cc.UnaryExpression) ir.Expr {
	p := l.pos(n)
	switch n.Case {
	case cc.UnaryExpressionPostfix:
		return l.expr(n.PostfixExpression)
	case cc.UnaryExpressionInc, cc.UnaryExpressionDec:
		return l.incDec(l.expr(n.UnaryExpression), n.Case == cc.UnaryExpressionInc, false, n)
	case cc.UnaryExpressionAddrof:
		x := l.expr(n.CastExpression)
		if f, ok := x.(*ir.FuncRef); ok {
			return f
		}
		if !isLvalue(x) {
			l.refuse(n, "& of a non-lvalue")
		}
		return &ir.AddrOf{E: ir.E{T: &ir.PtrType{Elem: x.Type()}, P: p}, X: x}
	case cc.UnaryExpressionDeref:
		x := l.rvalue(l.expr(n.CastExpression))
		pt, ok := x.Type().(*ir.PtrType)
		if !ok {
			l.refuse(n, "* of a non-pointer")
		}
		if _, void := pt.Elem.(*ir.VoidType); void {
			l.refuse(n, "dereferencing void *")
		}
		return &ir.Deref{E: ir.E{T: pt.Elem, P: p}, X: x}
	case cc.UnaryExpressionPlus, cc.UnaryExpressionMinus, cc.UnaryExpressionCpl:
		x := l.rvalue(l.expr(n.CastExpression))
		it, ok := x.Type().(*ir.IntType)
		if !ok {
			l.refuse(n, "arithmetic on a non-integer")
		}
		pt := ir.Promote(it)
		x = l.convert(x, pt, n)
		if n.Case == cc.UnaryExpressionPlus {
			return x
		}
		op := ir.Neg
		if n.Case == cc.UnaryExpressionCpl {
			op = ir.BitNot
		}
		return &ir.Unary{E: ir.E{T: pt, P: p}, Op: op, X: x}
	case cc.UnaryExpressionNot:
		return &ir.Unary{E: ir.E{T: ir.Int, P: p}, Op: ir.LogNot, X: l.cond(n.CastExpression)}
	case cc.UnaryExpressionSizeofExpr, cc.UnaryExpressionSizeofType, cc.UnaryExpressionAlignofExpr, cc.UnaryExpressionAlignofType:
		if c := l.constant(n); c != nil {
			return c
		}
		l.refuse(n, "sizeof of a type of unknown size")
	}
	l.refuse(n, "this unary operator is outside the subset")
	return nil
}

func isLvalue(e ir.Expr) bool {
	switch e.(type) {
	case *ir.VarRef, *ir.Member, *ir.Index, *ir.Deref:
		return true
	}
	return false
}

func (l *lowerer) incDec(x ir.Expr, inc, post bool, at posNode) ir.Expr {
	if !isLvalue(x) || !ir.IsScalar(x.Type()) {
		l.refuse(at, "++/-- needs a scalar lvalue")
	}
	return &ir.IncDec{E: ir.E{T: x.Type(), P: l.pos(at)}, X: x, Inc: inc, Post: post}
}

// arith lowers * / % & ^ | on integers.
func (l *lowerer) arith(op ir.BinOp, a, b cc.ExpressionNode, at posNode) ir.Expr {
	x, y := l.rvalue(l.expr(a)), l.rvalue(l.expr(b))
	xt, ok1 := x.Type().(*ir.IntType)
	yt, ok2 := y.Type().(*ir.IntType)
	if !ok1 || !ok2 {
		l.refuse(at, "operator %s on non-integers", op)
	}
	t := ir.Usual(xt, yt)
	return &ir.Binary{E: ir.E{T: t, P: l.pos(at)}, Op: op, X: l.convert(x, t, at), Y: l.convert(y, t, at)}
}

func (l *lowerer) additive(op ir.BinOp, x, y ir.Expr, at posNode) ir.Expr {
	p := l.pos(at)
	xp, yp := ir.IsPtr(x.Type()), ir.IsPtr(y.Type())
	switch {
	case xp && yp:
		if op != ir.Sub {
			l.refuse(at, "adding two pointers")
		}
		return &ir.Binary{E: ir.E{T: ir.Int, P: p}, Op: ir.Sub, X: x, Y: y}
	case yp && op == ir.Add:
		x, y = y, x
		fallthrough
	case ir.IsPtr(x.Type()):
		if !ir.IsInt(y.Type()) {
			l.refuse(at, "pointer arithmetic with a non-integer")
		}
		if _, void := x.Type().(*ir.PtrType).Elem.(*ir.VoidType); void {
			l.refuse(at, "arithmetic on void *")
		}
		return &ir.Binary{E: ir.E{T: x.Type(), P: p}, Op: op, X: x, Y: l.convert(y, ir.Int, at)}
	}
	xt, ok1 := x.Type().(*ir.IntType)
	yt, ok2 := y.Type().(*ir.IntType)
	if !ok1 || !ok2 {
		l.refuse(at, "operator %s on non-integers", op)
	}
	t := ir.Usual(xt, yt)
	return &ir.Binary{E: ir.E{T: t, P: p}, Op: op, X: l.convert(x, t, at), Y: l.convert(y, t, at)}
}

func (l *lowerer) shift(op ir.BinOp, a, b cc.ExpressionNode, at posNode) ir.Expr {
	x, y := l.rvalue(l.expr(a)), l.rvalue(l.expr(b))
	xt, ok1 := x.Type().(*ir.IntType)
	yt, ok2 := y.Type().(*ir.IntType)
	if !ok1 || !ok2 {
		l.refuse(at, "shift of non-integers")
	}
	t := ir.Promote(xt)
	return &ir.Binary{E: ir.E{T: t, P: l.pos(at)}, Op: op, X: l.convert(x, t, at), Y: l.convert(y, ir.Promote(yt), at)}
}

func (l *lowerer) compare(op ir.BinOp, a, b cc.ExpressionNode, at posNode) ir.Expr {
	x, y := l.rvalue(l.expr(a)), l.rvalue(l.expr(b))
	p := l.pos(at)
	xt, ok1 := x.Type().(*ir.IntType)
	yt, ok2 := y.Type().(*ir.IntType)
	switch {
	case ok1 && ok2:
		t := ir.Usual(xt, yt)
		x, y = l.convert(x, t, at), l.convert(y, t, at)
	case ir.IsPtr(x.Type()) && ir.IsPtr(y.Type()):
	case ir.IsPtr(x.Type()) && isNullConst(y):
		y = l.convert(y, x.Type(), at)
	case ir.IsPtr(y.Type()) && isNullConst(x):
		x = l.convert(x, y.Type(), at)
	default:
		l.refuse(at, "comparing %s with %s", x.Type(), y.Type())
	}
	return &ir.Binary{E: ir.E{T: ir.Int, P: p}, Op: op, X: x, Y: y}
}

func isNullConst(e ir.Expr) bool {
	if c, ok := e.(*ir.Cast); ok && ir.IsPtr(c.T) {
		e = c.X
	}
	k, ok := e.(*ir.Const)
	return ok && k.Val == 0
}

func (l *lowerer) conditional(n *cc.ConditionalExpression) ir.Expr {
	if n.Case == cc.ConditionalExpressionLOr {
		return l.expr(n.LogicalOrExpression)
	}
	c := l.cond(n.LogicalOrExpression)
	x, y := l.rvalue(l.expr(n.ExpressionList)), l.rvalue(l.expr(n.ConditionalExpression))
	var t ir.Type
	xt, ok1 := x.Type().(*ir.IntType)
	yt, ok2 := y.Type().(*ir.IntType)
	switch {
	case ok1 && ok2:
		t = ir.Usual(xt, yt)
	case ir.IsPtr(x.Type()) && isNullConst(y):
		t = x.Type()
	case ir.IsPtr(y.Type()) && isNullConst(x):
		t = y.Type()
	case ir.Same(x.Type(), y.Type()):
		t = x.Type()
	case ir.IsPtr(x.Type()) && ir.IsPtr(y.Type()):
		t = x.Type() // e.g. T * and void *: C picks void *, but the subset keeps the typed side
		if _, void := x.Type().(*ir.PtrType).Elem.(*ir.VoidType); void {
			t = y.Type()
		}
	default:
		l.refuse(n, "?: with operands %s and %s", x.Type(), y.Type())
	}
	return &ir.Cond{E: ir.E{T: t, P: l.pos(n)}, C: c, X: l.convert(x, t, n), Y: l.convert(y, t, n)}
}

func (l *lowerer) assign(n *cc.AssignmentExpression) ir.Expr {
	if n.Case == cc.AssignmentExpressionCond {
		return l.expr(n.ConditionalExpression)
	}
	lhs := l.expr(n.UnaryExpression)
	if !isLvalue(lhs) {
		l.refuse(n, "assignment to a non-lvalue")
	}
	if _, arr := lhs.Type().(*ir.ArrayType); arr {
		l.refuse(n, "assignment to an array")
	}
	rhs := l.rvalue(l.expr(n.AssignmentExpression))
	p := l.pos(n)
	op := map[cc.AssignmentExpressionCase]ir.BinOp{
		cc.AssignmentExpressionMul: ir.Mul, cc.AssignmentExpressionDiv: ir.Div, cc.AssignmentExpressionMod: ir.Mod,
		cc.AssignmentExpressionAdd: ir.Add, cc.AssignmentExpressionSub: ir.Sub, cc.AssignmentExpressionLsh: ir.Shl,
		cc.AssignmentExpressionRsh: ir.Shr, cc.AssignmentExpressionAnd: ir.And, cc.AssignmentExpressionXor: ir.Xor,
		cc.AssignmentExpressionOr: ir.Or,
	}[n.Case]
	if op == 0 {
		return &ir.Assign{E: ir.E{T: lhs.Type(), P: p}, L: lhs, R: l.convert(rhs, lhs.Type(), n)}
	}
	a := &ir.Assign{E: ir.E{T: lhs.Type(), P: p}, Op: op, L: lhs}
	if ir.IsPtr(lhs.Type()) {
		if (op != ir.Add && op != ir.Sub) || !ir.IsInt(rhs.Type()) {
			l.refuse(n, "compound assignment %s= on a pointer", op)
		}
		a.OpType, a.R = lhs.Type(), l.convert(rhs, ir.Int, n)
		return a
	}
	lt, ok1 := lhs.Type().(*ir.IntType)
	rt, ok2 := rhs.Type().(*ir.IntType)
	if !ok1 || !ok2 {
		l.refuse(n, "compound assignment on non-integers")
	}
	if op == ir.Shl || op == ir.Shr {
		a.OpType, a.R = ir.Promote(lt), l.convert(rhs, ir.Promote(rt), n)
		return a
	}
	t := ir.Usual(lt, rt)
	a.OpType, a.R = t, l.convert(rhs, t, n)
	return a
}

// rvalue applies array-to-pointer decay.
func (l *lowerer) rvalue(e ir.Expr) ir.Expr {
	if at, ok := e.Type().(*ir.ArrayType); ok {
		return &ir.Cast{E: ir.E{T: &ir.PtrType{Elem: at.Elem}, P: e.At()}, X: e, Implicit: true}
	}
	return e
}

// convert applies an implicit conversion (assignment, argument, return, operand).
func (l *lowerer) convert(e ir.Expr, t ir.Type, at posNode) ir.Expr {
	return l.cast(e, t, at, true)
}

// cast converts e to t. Integer constants are converted on the spot.
func (l *lowerer) cast(e ir.Expr, t ir.Type, at posNode, implicit bool) ir.Expr {
	from := e.Type()
	if ir.Same(from, t) {
		if it, ok := t.(*ir.IntType); ok && !implicit {
			if ft := from.(*ir.IntType); ft.Name != it.Name {
				return &ir.Cast{E: ir.E{T: t, P: e.At()}, X: e} // keep a spelled typedef cast
			}
		}
		return e
	}
	switch t := t.(type) {
	case *ir.VoidType:
		return &ir.Cast{E: ir.E{T: t, P: e.At()}, X: e, Implicit: implicit}
	case *ir.IntType:
		if c, ok := e.(*ir.Const); ok {
			if ft, ok := from.(*ir.IntType); ok {
				return &ir.Const{E: ir.E{T: t, P: c.P}, Val: t.Wrap(ft.Ext(c.Val))}
			}
		}
		if !ir.IsScalar(from) {
			l.refuse(at, "converting %s to %s", from, t)
		}
		if ir.IsPtr(from) && !implicit && !t.Bool && t.Bytes != 4 {
			l.refuse(at, "converting a pointer to the %d-byte %s", t.Bytes, t)
		}
	case *ir.PtrType:
		if !ir.IsScalar(from) {
			l.refuse(at, "converting %s to %s", from, t)
		}
		if ir.IsInt(from) && !isNullConst(e) && implicit {
			l.refuse(at, "implicit conversion of an integer to %s", t)
		}
		if isNullConst(e) {
			return &ir.Const{E: ir.E{T: t, P: e.At()}}
		}
	case *ir.StructType:
		l.refuse(at, "converting %s to %s", from, t)
	default:
		l.refuse(at, "converting to %s", t)
	}
	return &ir.Cast{E: ir.E{T: t, P: e.At()}, X: e, Implicit: implicit}
}
