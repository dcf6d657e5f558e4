package parse

import (
	"modernc.org/cc/v4"

	"specbed/specializer/ir"
)

// block lowers a compound statement; top marks the function body (where labels may be).
func (l *lowerer) block(cs *cc.CompoundStatement, top bool) *ir.Block {
	b := &ir.Block{S: ir.S{P: l.pos(cs)}}
	for il := cs.BlockItemList; il != nil; il = il.BlockItemList {
		b.Stmts = append(b.Stmts, l.blockItem(il.BlockItem, top)...)
	}
	return b
}

func (l *lowerer) blockItem(bi *cc.BlockItem, top bool) []ir.Stmt {
	switch bi.Case {
	case cc.BlockItemDecl:
		return l.localDecl(bi.Declaration)
	case cc.BlockItemStmt:
		return l.stmt(bi.Statement, top)
	case cc.BlockItemLabel:
		l.refuse(bi.LabelDeclaration, "__label__ is outside the subset")
	default:
		l.refuse(bi.Declarator, "nested functions are outside the subset")
	}
	return nil
}

// localDecl lowers the declarations of locals, with their initializers.
func (l *lowerer) localDecl(d *cc.Declaration) []ir.Stmt {
	if d.Case != cc.DeclarationDecl {
		if d.Case == cc.DeclarationAssert {
			return nil
		}
		l.refuse(d, "__auto_type is outside the subset")
	}
	var out []ir.Stmt
	for il := d.InitDeclaratorList; il != nil; il = il.InitDeclaratorList {
		id := il.InitDeclarator
		dr := id.Declarator
		if dr.Name() == "__func__" { // injected by cc/v4 into every function body
			continue
		}
		switch {
		case dr.IsTypename():
			l.refuse(dr, "typedefs inside functions are outside the subset")
		case dr.IsStatic():
			l.refuse(dr, "static local %s: locals must be automatic", dr.Name())
		case dr.IsExtern():
			l.refuse(dr, "extern declaration inside a function is outside the subset")
		case dr.IsVolatile():
			l.refuse(dr, "volatile is outside the subset")
		}
		if _, ok := dr.Type().(*cc.FunctionType); ok {
			l.refuse(dr, "function declaration inside a function is outside the subset")
		}
		v := &ir.Var{Name: l.unique(dr.Name()), Type: l.typ(dr.Type(), dr), Kind: ir.Local, Pos: l.pos(dr)}
		l.vars[dr] = v
		ds := &ir.Decl{S: ir.S{P: v.Pos}, Var: v}
		if id.Case == cc.InitDeclaratorInit {
			in := id.Initializer
			if in.Case == cc.InitializerExpr {
				if _, agg := v.Type.(*ir.ArrayType); agg {
					l.refuse(in, "array %s needs an initializer list", v.Name)
				}
				ds.Init = l.convert(l.rvalue(l.expr(in.AssignmentExpression)), v.Type, in)
			} else {
				ds.List = []ir.InitElem{}
				l.initList(v.Type, in.InitializerList, nil, &ds.List)
			}
		}
		out = append(out, ds)
	}
	return out
}

// initList flattens an initializer list for an object of type t into scalar elements.
func (l *lowerer) initList(t ir.Type, list *cc.InitializerList, prefix []ir.Step, out *[]ir.InitElem) {
	next := 0 // positional cursor: field or element index
	for ; list != nil; list = list.InitializerList {
		path := prefix
		elemT := t
		if list.Designation != nil {
			first := true
			for dl := list.Designation.DesignatorList; dl != nil; dl = dl.DesignatorList {
				step, st := l.designator(elemT, dl.Designator)
				if first {
					next = l.stepIndex(elemT, step)
					first = false
				}
				path = append(append([]ir.Step(nil), path...), step)
				elemT = st
			}
		} else {
			step, st := l.positional(t, next, list.Initializer)
			path = append(append([]ir.Step(nil), path...), step)
			elemT = st
		}
		next++
		l.initElem(elemT, list.Initializer, path, out)
	}
}

func (l *lowerer) initElem(t ir.Type, in *cc.Initializer, path []ir.Step, out *[]ir.InitElem) {
	if in.Case == cc.InitializerInitList {
		switch t.(type) {
		case *ir.StructType, *ir.ArrayType:
			l.initList(t, in.InitializerList, path, out)
			return
		}
		l.refuse(in, "braces around a scalar initializer")
	}
	x := l.rvalue(l.expr(in.AssignmentExpression))
	if !ir.IsScalar(t) {
		// The only brace elision in the subset: {0} for an aggregate (everything is zeroed anyway).
		if c, ok := x.(*ir.Const); ok && c.Val == 0 {
			return
		}
		l.refuse(in, "brace elision is outside the subset: give nested aggregates their own braces")
	}
	*out = append(*out, ir.InitElem{Path: path, X: l.convert(x, t, in)})
}

func (l *lowerer) designator(t ir.Type, d *cc.Designator) (ir.Step, ir.Type) {
	switch d.Case {
	case cc.DesignatorField, cc.DesignatorField2:
		st, ok := t.(*ir.StructType)
		name := d.Token2.SrcStr()
		if d.Case == cc.DesignatorField2 {
			name = d.Token.SrcStr()
		}
		if !ok || st.Field(name) == nil {
			l.refuse(d, "designator .%s does not name a member", name)
		}
		f := st.Field(name)
		return ir.Step{Field: f}, f.Type
	case cc.DesignatorIndex:
		at, ok := t.(*ir.ArrayType)
		idx := l.constInt(d.ConstantExpression)
		if !ok || idx < 0 || idx >= at.Len {
			l.refuse(d, "array designator out of range")
		}
		return ir.Step{Index: idx}, at.Elem
	}
	l.refuse(d, "range designators are outside the subset")
	return ir.Step{}, nil
}

func (l *lowerer) stepIndex(t ir.Type, s ir.Step) int {
	if s.Field != nil {
		for i, f := range t.(*ir.StructType).Fields {
			if f == s.Field {
				return i
			}
		}
	}
	return int(s.Index)
}

func (l *lowerer) positional(t ir.Type, i int, at *cc.Initializer) (ir.Step, ir.Type) {
	switch t := t.(type) {
	case *ir.StructType:
		if i < len(t.Fields) {
			return ir.Step{Field: t.Fields[i]}, t.Fields[i].Type
		}
	case *ir.ArrayType:
		if int64(i) < t.Len {
			return ir.Step{Index: int64(i)}, t.Elem
		}
	}
	l.refuse(at, "too many initializers")
	return ir.Step{}, nil
}

func (l *lowerer) constInt(e cc.ExpressionNode) int64 {
	switch v := e.Value().(type) {
	case cc.Int64Value:
		return int64(v)
	case cc.UInt64Value:
		return int64(v)
	}
	l.refuse(e, "constant integer expression expected")
	return 0
}

// stmt lowers a statement; a declaration-free statement may lower to nothing (";").
func (l *lowerer) stmt(s *cc.Statement, top bool) []ir.Stmt {
	switch s.Case {
	case cc.StatementLabeled:
		ls := s.LabeledStatement
		if ls.Case != cc.LabeledStatementLabel {
			l.refuse(ls, "case label outside the body of a switch")
		}
		name := ls.Token.SrcStr()
		if !top && !l.residual {
			l.refuse(ls, "label %s: labels must be at the top level of the function body", name)
		}
		p := l.pos(ls)
		l.labels[name] = p
		return append([]ir.Stmt{&ir.Label{S: ir.S{P: p}, Name: name}}, l.stmt(ls.Statement, top)...)
	case cc.StatementCompound:
		return []ir.Stmt{l.block(s.CompoundStatement, false)}
	case cc.StatementExpr:
		es := s.ExpressionStatement
		if es.ExpressionList == nil {
			return nil
		}
		return []ir.Stmt{&ir.ExprStmt{S: ir.S{P: l.pos(es)}, X: l.expr(es.ExpressionList)}}
	case cc.StatementSelection:
		return []ir.Stmt{l.selection(s.SelectionStatement)}
	case cc.StatementIteration:
		return []ir.Stmt{l.iteration(s.IterationStatement)}
	case cc.StatementJump:
		return []ir.Stmt{l.jump(s.JumpStatement)}
	}
	l.refuse(s.AsmStatement, "inline asm is outside the subset")
	return nil
}

// body lowers a nested statement into a single statement.
func (l *lowerer) body(s *cc.Statement) ir.Stmt {
	ss := l.stmt(s, false)
	if len(ss) == 1 {
		return ss[0]
	}
	return &ir.Block{S: ir.S{P: l.pos(s)}, Stmts: ss}
}

func (l *lowerer) selection(s *cc.SelectionStatement) ir.Stmt {
	p := l.pos(s)
	switch s.Case {
	case cc.SelectionStatementIf, cc.SelectionStatementIfElse:
		n := &ir.If{S: ir.S{P: p}, Cond: l.cond(s.ExpressionList), Then: l.body(s.Statement)}
		if s.Case == cc.SelectionStatementIfElse {
			n.Else = l.body(s.Statement2)
		}
		return n
	}
	return l.switchStmt(s)
}

// switchStmt lowers a switch whose body is a block of case groups without fall-through.
func (l *lowerer) switchStmt(s *cc.SelectionStatement) ir.Stmt {
	x := l.rvalue(l.expr(s.ExpressionList))
	xt, ok := x.Type().(*ir.IntType)
	if !ok {
		l.refuse(s, "switch on a non-integer")
	}
	pt := ir.Promote(xt)
	x = l.convert(x, pt, s)
	sw := &ir.Switch{S: ir.S{P: l.pos(s)}, X: x}
	if s.Statement.Case != cc.StatementCompound {
		l.refuse(s, "the body of a switch must be a block")
	}
	l.breaks++
	defer func() { l.breaks-- }()
	var cur *ir.Case
	for il := s.Statement.CompoundStatement.BlockItemList; il != nil; il = il.BlockItemList {
		bi := il.BlockItem
		if bi.Case == cc.BlockItemStmt && bi.Statement.Case == cc.StatementLabeled &&
			bi.Statement.LabeledStatement.Case != cc.LabeledStatementLabel {
			ls := bi.Statement.LabeledStatement
			if cur == nil || len(cur.Body) > 0 {
				if cur != nil && !endsInJump(cur.Body) {
					l.refuse(ls, "fall-through into a case is outside the subset: end the previous case with break")
				}
				cur = &ir.Case{P: l.pos(ls)}
				sw.Cases = append(sw.Cases, cur)
			}
			// Collect stacked labels: case 1: case 2: stmt.
			for {
				switch ls.Case {
				case cc.LabeledStatementCaseLabel:
					cur.Vals = append(cur.Vals, pt.Wrap(uint64(l.constInt(ls.ConstantExpression))))
				case cc.LabeledStatementDefault:
					cur.Default = true
				default:
					l.refuse(ls, "case ranges and labels inside a switch are outside the subset")
				}
				if ls.Statement.Case != cc.StatementLabeled || ls.Statement.LabeledStatement.Case == cc.LabeledStatementLabel {
					break
				}
				ls = ls.Statement.LabeledStatement
			}
			cur.Body = append(cur.Body, l.stmt(ls.Statement, false)...)
			continue
		}
		if cur == nil {
			l.refuse(s, "statements before the first case label")
		}
		cur.Body = append(cur.Body, l.blockItem(bi, false)...)
	}
	return sw
}

// endsInJump reports whether a case body cannot fall through.
func endsInJump(ss []ir.Stmt) bool {
	if len(ss) == 0 {
		return false
	}
	switch s := ss[len(ss)-1].(type) {
	case *ir.Break, *ir.Continue, *ir.Return, *ir.Goto:
		return true
	case *ir.Block:
		return endsInJump(s.Stmts)
	}
	return false
}

func (l *lowerer) iteration(s *cc.IterationStatement) ir.Stmt {
	p := ir.S{P: l.pos(s)}
	l.loops++
	l.breaks++
	defer func() { l.loops--; l.breaks-- }()
	switch s.Case {
	case cc.IterationStatementWhile:
		return &ir.While{S: p, Cond: l.cond(s.ExpressionList), Body: l.body(s.Statement)}
	case cc.IterationStatementDo:
		return &ir.DoWhile{S: p, Body: l.body(s.Statement), Cond: l.cond(s.ExpressionList)}
	}
	f := &ir.For{S: p}
	if s.Case == cc.IterationStatementForDecl {
		ds := l.localDecl(s.Declaration)
		if len(ds) == 1 {
			f.Init = ds[0]
		} else {
			f.Init = &ir.Block{S: p, Stmts: ds}
		}
		if s.ExpressionList != nil {
			f.Cond = l.cond(s.ExpressionList)
		}
		if s.ExpressionList2 != nil {
			f.Post = l.expr(s.ExpressionList2)
		}
	} else {
		if s.ExpressionList != nil {
			f.Init = &ir.ExprStmt{S: p, X: l.expr(s.ExpressionList)}
		}
		if s.ExpressionList2 != nil {
			f.Cond = l.cond(s.ExpressionList2)
		}
		if s.ExpressionList3 != nil {
			f.Post = l.expr(s.ExpressionList3)
		}
	}
	f.Body = l.body(s.Statement)
	return f
}

func (l *lowerer) jump(s *cc.JumpStatement) ir.Stmt {
	p := ir.S{P: l.pos(s)}
	switch s.Case {
	case cc.JumpStatementGoto:
		g := &ir.Goto{S: p, Label: s.Token2.SrcStr()}
		l.gotos = append(l.gotos, g)
		return g
	case cc.JumpStatementContinue:
		return &ir.Continue{S: p}
	case cc.JumpStatementBreak:
		return &ir.Break{S: p}
	case cc.JumpStatementReturn:
		r := &ir.Return{S: p}
		rt := l.fn.Type.Result
		if s.ExpressionList != nil {
			x := l.rvalue(l.expr(s.ExpressionList))
			if _, void := rt.(*ir.VoidType); void {
				l.refuse(s, "return with a value in a void function")
			}
			r.X = l.convert(x, rt, s)
		} else if _, void := rt.(*ir.VoidType); !void {
			l.refuse(s, "return without a value in a function returning %s", rt)
		}
		return r
	}
	l.refuse(s, "computed goto is outside the subset")
	return nil
}

// cond lowers a controlling expression (any scalar).
func (l *lowerer) cond(e cc.ExpressionNode) ir.Expr {
	x := l.rvalue(l.expr(e))
	if !ir.IsScalar(x.Type()) {
		l.refuse(e, "condition of type %s is not a scalar", x.Type())
	}
	return x
}
