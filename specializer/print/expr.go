package print

import (
	"fmt"
	"strings"

	"specbed/specializer/ir"
)

// C precedence levels, lowest first.
const (
	precComma = iota + 1
	precAssign
	precCond
	precLogOr
	precLogAnd
	precBitOr
	precBitXor
	precBitAnd
	precEq
	precRel
	precShift
	precAdd
	precMul
	precUnary
	precPostfix
	precPrimary
)

var binPrec = map[ir.BinOp]int{
	ir.LogOr: precLogOr, ir.LogAnd: precLogAnd, ir.Or: precBitOr, ir.Xor: precBitXor, ir.And: precBitAnd,
	ir.Eq: precEq, ir.Ne: precEq, ir.Lt: precRel, ir.Le: precRel, ir.Gt: precRel, ir.Ge: precRel,
	ir.Shl: precShift, ir.Shr: precShift, ir.Add: precAdd, ir.Sub: precAdd, ir.Mul: precMul, ir.Div: precMul, ir.Mod: precMul,
}

// expr prints e in a context that needs at least precedence min.
func (p *Printer) expr(e ir.Expr, min int) string {
	s, prec := p.exprPrec(e)
	if prec < min {
		return "(" + s + ")"
	}
	return s
}

func (p *Printer) exprPrec(e ir.Expr) (string, int) {
	switch e := e.(type) {
	case *ir.Const:
		s := p.constant(e)
		if strings.HasPrefix(s, "-") {
			return s, precUnary
		}
		if strings.HasPrefix(s, "(") {
			return s, precPrimary
		}
		return s, precPrimary
	case *ir.VarRef:
		return p.ident(e.Var.Name), precPrimary
	case *ir.FuncRef:
		return p.ident(e.Func.Name), precPrimary
	case *ir.Unary:
		x := p.expr(e.X, precUnary)
		if e.Op == ir.Neg && strings.HasPrefix(x, "-") {
			x = "(" + x + ")"
		}
		return e.Op.String() + x, precUnary
	case *ir.Binary:
		prec := binPrec[e.Op]
		// Left-associative: the right operand needs strictly higher precedence.
		return p.expr(e.X, prec) + " " + e.Op.String() + " " + p.expr(e.Y, prec+1), prec
	case *ir.Cond:
		return p.expr(e.C, precLogOr) + " ? " + p.expr(e.X, precComma) + " : " + p.expr(e.Y, precCond), precCond
	case *ir.Cast:
		if e.Implicit {
			if c, ok := e.X.(*ir.Const); ok {
				if it, isInt := e.T.(*ir.IntType); isInt {
					if ct, cInt := c.T.(*ir.IntType); cInt {
						return p.exprPrec(&ir.Const{E: ir.E{T: it, P: c.P}, Val: it.Wrap(ct.Ext(c.Val))})
					}
				}
			}
			return p.exprPrec(e.X)
		}
		if _, void := e.T.(*ir.VoidType); void {
			return "(void)" + p.expr(e.X, precUnary), precUnary
		}
		return "(" + ir.Declare(e.T, "") + ")" + p.expr(e.X, precUnary), precUnary
	case *ir.Member:
		if e.Arrow {
			return p.expr(e.X, precPostfix) + "->" + p.ident(e.Field.Name), precPostfix
		}
		return p.expr(e.X, precPostfix) + "." + p.ident(e.Field.Name), precPostfix
	case *ir.Index:
		return p.expr(e.X, precPostfix) + "[" + p.expr(e.I, precComma) + "]", precPostfix
	case *ir.Deref:
		return "*" + p.expr(e.X, precUnary), precUnary
	case *ir.AddrOf:
		if d, ok := e.X.(*ir.Deref); ok {
			return p.exprPrec(d.X)
		}
		return "&" + p.expr(e.X, precUnary), precUnary
	case *ir.Assign:
		op := "="
		if e.Op != 0 {
			op = e.Op.String() + "="
		}
		return p.expr(e.L, precUnary) + " " + op + " " + p.expr(e.R, precAssign), precAssign
	case *ir.IncDec:
		op := "++"
		if !e.Inc {
			op = "--"
		}
		if e.Post {
			return p.expr(e.X, precPostfix) + op, precPostfix
		}
		return op + p.expr(e.X, precUnary), precUnary
	case *ir.Call:
		var args []string
		for _, a := range e.Args {
			args = append(args, p.expr(a, precAssign))
		}
		return p.expr(e.Fn, precPostfix) + "(" + strings.Join(args, ", ") + ")", precPostfix
	case *ir.Comma:
		return p.expr(e.X, precComma) + ", " + p.expr(e.Y, precAssign), precComma
	}
	p.fail("cannot print expression %T", e)
	return "0", precPrimary
}

// constant prints an integer constant of its type (a suffix keeps the type when it matters) or
// a null pointer.
func (p *Printer) constant(c *ir.Const) string {
	it, ok := c.T.(*ir.IntType)
	if !ok {
		return "((" + ir.Declare(c.T, "") + ")0)"
	}
	switch {
	case it.Signed && it.Bytes == 8:
		v := it.Int64(c.Val)
		if v == -1<<63 {
			return "(-9223372036854775807LL - 1)"
		}
		return fmt.Sprintf("%dLL", v)
	case it.Bytes == 8 && c.Val > 0xffff:
		return fmt.Sprintf("0x%xULL", c.Val)
	case it.Bytes == 8:
		return fmt.Sprintf("%dULL", c.Val)
	case it.Signed || it.Bytes < 4 || it.Bool:
		v := it.Int64(c.Val)
		if v == -1<<31 {
			return "(-2147483647 - 1)"
		}
		return fmt.Sprintf("%d", v)
	case c.Val > 0xffff:
		return fmt.Sprintf("0x%xU", c.Val)
	default:
		return fmt.Sprintf("%dU", c.Val)
	}
}
