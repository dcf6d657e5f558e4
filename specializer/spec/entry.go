package spec

import (
	"fmt"
	"path/filepath"

	"specbed/specializer/decl"
	"specbed/specializer/ir"
)

// entry builds the residual entry: its parameters, the guards, then the specialized body.
func (sp *specializer) entry(oracle Oracle, name string) error {
	r := sp.r
	f := r.Entry
	at := f.Pos
	res := &ir.Func{Name: name, Type: &ir.FuncType{Result: f.Type.Result}, Pos: at}
	sp.res.Func = res // outlined functions take their names from it
	sp.names[name] = 1
	if r.Instance != nil {
		sp.inst = &ir.Var{Name: sp.uniq("inst"), Type: &ir.PtrType{Elem: r.Instance}, Kind: ir.Param, Pos: at}
		res.Params = append(res.Params, sp.inst)
	}
	fr := &frame{fn: f, vars: map[*ir.Var]*object{}, labels: map[string]*target{},
		ret: &target{depth: 0, hint: "out"}, at: at}
	sp.frames = []*frame{fr}
	sp.st = newState()
	if sp.inst != nil {
		// Guards on kernel fields read them through the instance: inst points to the instance
		// object, whose members are the bound pointers.
		o := sp.newLocal("inst", sp.inst.Type)
		o.rv, o.resParam = sp.inst, true
		fr.vars[sp.inst] = o
		sp.st.add(o, false)
		sp.instObj = &object{kind: objHeap, t: r.Instance, name: "inst", lay: sp.layoutOf(r.Instance),
			ptrX: &ir.VarRef{E: ir.E{T: sp.inst.Type, P: at}, Var: sp.inst}}
		sp.st.mut(o).slots[0] = slot{v: value{k: vPtr, t: sp.inst.Type, obj: sp.instObj}}
	}
	var body []ir.Stmt
	sp.out = &body
	for _, p := range f.Params {
		if _, agg := p.Type.(*ir.StructType); agg {
			return ir.Errorf(p.Pos, "entry parameter %s is a struct: pass a pointer", p.Name)
		}
		o := sp.newLocal(p.Name, p.Type)
		fr.vars[p] = o
		root := r.Roots[p.Name]
		switch root.Class {
		case decl.Dynamic:
			o.rv = &ir.Var{Name: sp.uniq(p.Name), Type: p.Type, Kind: ir.Param, Pos: p.Pos}
			o.resParam = true
			sp.rvObj[o.rv] = o
			res.Params = append(res.Params, o.rv)
			sp.st.add(o, true)
		case decl.Static:
			sp.st.add(o, false)
			v, err := sp.ctxValue(p.Name, p.Type, nil, p.Pos)
			if err != nil {
				return err
			}
			sp.st.mut(o).slots[0] = slot{v: v}
		case decl.Bound:
			sp.st.add(o, false)
			bo, pt := sp.boundObj(p.Name)
			sp.st.mut(o).slots[0] = slot{v: value{k: vPtr, t: pt, obj: bo}}
		}
	}
	for _, p := range res.Params {
		res.Type.Params = append(res.Type.Params, p.Type)
	}
	pinned, err := sp.guards()
	if err != nil {
		return err
	}
	fr.inst = oracle.Entry(pinned)
	sp.res.Pinned = pinned
	if sp.st != nil {
		if err := sp.stmts(f.Body.Stmts); err != nil {
			return err
		}
		if err := sp.land(fr.ret, at); err != nil {
			return err
		}
	}
	res.Body = &ir.Block{S: ir.S{P: at}, Stmts: body}
	removeDeadStores(res.Body)
	for _, d := range sp.decisions {
		sp.res.Decided[d.n] |= d.o
	}
	for _, d := range sp.observed {
		sp.res.Observed[d.n] |= d.o
	}
	sp.res.Outlined = usedOutlines(res, sp.res.Outlined)
	for _, fn := range append([]*ir.Func{res}, sp.res.Outlined...) {
		ir.Inspect(fn.Body, func(n ir.Node) bool {
			if s, ok := n.(ir.Stmt); ok && s.At().Line > 0 {
				sp.res.Lines[ir.Pos{File: s.At().File, Line: s.At().Line}] = true
			}
			return true
		})
	}
	sp.res.Inst = sp.inst
	return nil
}

// guards emits the declared guards (a failing guard returns the fallback value) and then fixes
// the parameters the equality guards pin down. It returns the kernel fields that guards whose
// static part folded away pin (decl.Resolved.Pins).
func (sp *specializer) guards() ([]string, error) {
	var pins []string
	r := sp.r
	fr := sp.fr()
	for _, g := range r.File.Guards {
		at := ir.Pos{File: filepath.Base(r.File.Path), Line: g.Line}
		x, err := sp.guardExpr(g.Expr, at)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: guard: %w", r.File.Path, g.Line, err)
		}
		v, err := sp.expr(x)
		if err != nil {
			return nil, err
		}
		fail := &ir.Return{S: ir.S{P: at}, X: constInt(r.Entry.Type.Result.(*ir.IntType), uint64(r.File.Fallback.Val), at)}
		if v.static() {
			if !v.truth() {
				sp.emit(fail)
				sp.st = nil
				return nil, nil
			}
			continue
		}
		ce, err := sp.liftAt(v, x.Type(), at)
		if err != nil {
			return nil, err
		}
		sp.emit(&ir.If{S: ir.S{P: at}, Cond: &ir.Unary{E: ir.E{T: ir.Int, P: at}, Op: ir.LogNot, X: ce}, Then: fail})
		// What is left of the guard once its static part folded may pin a kernel field:
		// (flags & MSG_MORE) != 0 || sk->up.pending == 0 is pending == 0 for a non-corking send.
		if path, k, ok := sp.pinned(ce); ok {
			sp.st.setHeap(path, slot{v: k})
			if _, fixed := r.FixedPaths[path]; !fixed {
				pins = append(pins, path)
			}
		}
	}
	for path, ge := range r.FixedPaths {
		p, _ := decl.ParsePath(path)
		t, err := r.TypeOf(p)
		if err != nil {
			return nil, err
		}
		x, err := sp.guardExpr(ge, ir.Pos{File: filepath.Base(r.File.Path)})
		if err != nil {
			return nil, err
		}
		v, err := sp.expr(x)
		if err != nil {
			return nil, err
		}
		it := t.(*ir.IntType)
		sp.st.setHeap(path, slot{v: intVal(it, v.t.(*ir.IntType).Ext(v.bits))})
	}
	for _, p := range r.Entry.Params {
		ge, fixed := r.Fixed[p.Name]
		if !fixed {
			continue
		}
		at := ir.Pos{File: r.File.Path}
		x, err := sp.guardExpr(ge, at)
		if err != nil {
			return nil, err
		}
		v, err := sp.expr(x)
		if err != nil {
			return nil, err
		}
		if !v.static() {
			return nil, fmt.Errorf("%s: the guard value of %s is not static", r.File.Path, p.Name)
		}
		o := fr.vars[p]
		pt, ok := p.Type.(*ir.IntType)
		if !ok {
			return nil, fmt.Errorf("%s: guarded parameter %s is not an integer", r.File.Path, p.Name)
		}
		sp.st.mut(o).slots[0] = slot{v: intVal(pt, v.t.(*ir.IntType).Ext(v.bits))}
	}
	return pins, nil
}

// kindTypes are the C types of context value kinds, for declared values in guards.
var kindTypes = map[string]*ir.IntType{"u8": ir.UChar, "u16": ir.UShort, "u32": ir.UInt, "u64": ir.ULongLong,
	"s8": ir.SChar, "s16": ir.Short, "s32": ir.Int, "s64": ir.LongLong, "bool": ir.Bool, "ipv4": ir.UInt}

// guardExpr lowers a guard to IR with C's conversions, so the specializer evaluates it like code.
func (sp *specializer) guardExpr(g decl.GExpr, at ir.Pos) (ir.Expr, error) {
	switch g := g.(type) {
	case decl.GInt:
		if g.Val >= -1<<31 && g.Val < 1<<31 {
			return constInt(ir.Int, uint64(g.Val), at), nil
		}
		return constInt(ir.LongLong, uint64(g.Val), at), nil
	case decl.GName:
		if v := sp.r.Values[g.Name]; v != nil {
			cv := sp.ctx.Values[g.Name]
			t := kindTypes[cv.Kind]
			if t == nil {
				return nil, fmt.Errorf("value %s has kind %s", g.Name, cv.Kind)
			}
			return constInt(t, cv.Bits, at), nil
		}
		for _, p := range sp.r.Entry.Params {
			if p.Name == g.Name {
				return &ir.VarRef{E: ir.E{T: p.Type, P: at}, Var: p}, nil
			}
		}
		return nil, fmt.Errorf("unknown name %s", g.Name)
	case decl.GPath:
		return sp.pathExpr(g.Path, at)
	case decl.GUnary:
		x, err := sp.guardExpr(g.X, at)
		if err != nil {
			return nil, err
		}
		it, ok := x.Type().(*ir.IntType)
		if !ok {
			return nil, fmt.Errorf("%s on a non-integer", g.Op)
		}
		if g.Op == "!" {
			return &ir.Unary{E: ir.E{T: ir.Int, P: at}, Op: ir.LogNot, X: x}, nil
		}
		pt := ir.Promote(it)
		op := ir.Neg
		if g.Op == "~" {
			op = ir.BitNot
		}
		return &ir.Unary{E: ir.E{T: pt, P: at}, Op: op, X: conv(x, pt)}, nil
	case decl.GBinary:
		x, err := sp.guardExpr(g.X, at)
		if err != nil {
			return nil, err
		}
		y, err := sp.guardExpr(g.Y, at)
		if err != nil {
			return nil, err
		}
		xt, ok1 := x.Type().(*ir.IntType)
		yt, ok2 := y.Type().(*ir.IntType)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s on non-integers", g.Op)
		}
		op := map[string]ir.BinOp{"+": ir.Add, "-": ir.Sub, "*": ir.Mul, "/": ir.Div, "%": ir.Mod, "<<": ir.Shl,
			">>": ir.Shr, "&": ir.And, "|": ir.Or, "^": ir.Xor, "==": ir.Eq, "!=": ir.Ne, "<": ir.Lt, "<=": ir.Le,
			">": ir.Gt, ">=": ir.Ge, "&&": ir.LogAnd, "||": ir.LogOr}[g.Op]
		switch {
		case op == ir.LogAnd || op == ir.LogOr:
			return &ir.Binary{E: ir.E{T: ir.Int, P: at}, Op: op, X: x, Y: y}, nil
		case op == ir.Shl || op == ir.Shr:
			pt := ir.Promote(xt)
			return &ir.Binary{E: ir.E{T: pt, P: at}, Op: op, X: conv(x, pt), Y: conv(y, ir.Promote(yt))}, nil
		}
		t := ir.Usual(xt, yt)
		rt := t
		if op.IsCompare() {
			rt = ir.Int
		}
		return &ir.Binary{E: ir.E{T: rt, P: at}, Op: op, X: conv(x, t), Y: conv(y, t)}, nil
	}
	return nil, fmt.Errorf("bad guard expression")
}

func conv(x ir.Expr, t *ir.IntType) ir.Expr {
	if xt, ok := x.Type().(*ir.IntType); ok && ir.SameInt(xt, t) {
		return x
	}
	return &ir.Cast{E: ir.E{T: t, P: x.At()}, X: x, Implicit: true}
}

// pathExpr builds the IR expression reading a declaration path, from the entry's parameters.
func (sp *specializer) pathExpr(p decl.Path, at ir.Pos) (ir.Expr, error) {
	var x ir.Expr
	for _, v := range sp.r.Entry.Params {
		if v.Name == p.Root {
			x = &ir.VarRef{E: ir.E{T: v.Type, P: at}, Var: v}
		}
	}
	if x == nil {
		root := sp.r.Roots[p.Root]
		if root == nil || root.Kind != decl.RootBound {
			return nil, fmt.Errorf("%s: the root must be a parameter or a bound name", p)
		}
		// A bound name is read from the instance: inst->NAME.
		f := sp.r.Instance.Field(p.Root)
		x = &ir.Member{E: ir.E{T: f.Type, P: at}, X: &ir.VarRef{E: ir.E{T: sp.inst.Type, P: at}, Var: sp.inst}, Field: f, Arrow: true}
	}
	for _, s := range p.Steps {
		switch s.Kind {
		case decl.Dot, decl.Arrow:
			t := x.Type()
			if s.Kind == decl.Arrow {
				t = t.(*ir.PtrType).Elem
			}
			f := t.(*ir.StructType).Field(s.Field)
			x = &ir.Member{E: ir.E{T: f.Type, P: at}, X: x, Field: f, Arrow: s.Kind == decl.Arrow}
		default:
			x = &ir.Index{E: ir.E{T: x.Type().(*ir.ArrayType).Elem, P: at}, X: x, I: constInt(ir.Int, uint64(s.Index), at)}
		}
	}
	return x, nil
}

// pinned recognizes a residual guard condition "FIELD == constant", FIELD a kernel field read
// through the instance, and returns the field's declaration path and value.
func (sp *specializer) pinned(c ir.Expr) (string, value, bool) {
	for {
		b, ok := c.(*ir.Binary)
		if !ok {
			return "", value{}, false
		}
		if k, isConst := b.Y.(*ir.Const); isConst && b.Op == ir.Ne && k.Val == 0 && isCompare(b.X) {
			c = b.X // (x == k) != 0
			continue
		}
		if b.Op != ir.Eq {
			return "", value{}, false
		}
		x, y := stripCasts(b.X), b.Y
		if _, isConst := x.(*ir.Const); isConst {
			x, y = stripCasts(b.Y), b.X
		}
		k, isConst := y.(*ir.Const)
		path, ok := sp.instPath(x)
		if !isConst || !ok {
			return "", value{}, false
		}
		it, ok := x.Type().(*ir.IntType)
		kt, kok := k.T.(*ir.IntType)
		if !ok || !kok || it.Wrap(kt.Ext(k.Val)) != kt.Ext(k.Val) && it.Int64(it.Wrap(kt.Ext(k.Val))) != kt.Int64(k.Val) {
			return "", value{}, false // the constant does not fit the field: the guard never holds
		}
		return path, intVal(it, kt.Ext(k.Val)), true
	}
}

func isCompare(e ir.Expr) bool {
	b, ok := e.(*ir.Binary)
	return ok && b.Op.IsCompare()
}

func stripCasts(e ir.Expr) ir.Expr {
	for {
		c, ok := e.(*ir.Cast)
		if !ok || !ir.IsInt(c.T) || !ir.IsInt(c.X.Type()) || c.T.Size() < c.X.Type().Size() {
			return e
		}
		e = c.X
	}
}

// instPath spells the declaration path of a residual lvalue inst->NAME->...: "NAME->...".
func (sp *specializer) instPath(e ir.Expr) (string, bool) {
	m, ok := e.(*ir.Member)
	if !ok {
		return "", false
	}
	if r, isRef := m.X.(*ir.VarRef); isRef && r.Var == sp.inst && m.Arrow {
		return m.Field.Name, true
	}
	base, ok := sp.instPath(m.X)
	if !ok {
		return "", false
	}
	if m.Arrow {
		return base + "->" + m.Field.Name, true
	}
	return base + "." + m.Field.Name, true
}
