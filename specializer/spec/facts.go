package spec

import "specbed/specializer/ir"

// fact is what is known about a dynamic integer's sign: enough to decide the kernel's
// error-code tests (if (err), if (err < 0)) on paths where every error value is known nonzero
// or negative, even after those paths merged. It is a set of properties.
type fact uint8

const (
	noFact      fact = 0
	nonzero     fact = 1 << 0 // != 0
	nonpositive fact = 1 << 1 // <= 0 (signed): 0 or an error code (SHIM_ERRNO)
	negative         = nonzero | nonpositive
)

// meet is what two facts have in common.
func meet(a, b fact) fact { return a & b }

// factOf is the fact a static integer satisfies.
func factOf(v value) fact {
	it, ok := v.t.(*ir.IntType)
	if v.k != vInt || !ok {
		return noFact
	}
	switch {
	case it.Signed && it.Int64(v.bits) < 0:
		return negative
	case v.bits != 0:
		return nonzero
	case it.Signed:
		return nonpositive
	}
	return noFact
}

// slotFact is the fact a slot's content satisfies.
func slotFact(s slot) fact {
	if s.mem {
		return s.fact
	}
	return factOf(s.v)
}

// test is a comparison of a local leaf in memory with zero: "leaf op 0".
type test struct {
	obj  *object
	leaf int
	op   ir.BinOp
}

// negate is the test of the other branch.
func (t *test) negate() *test {
	neg := map[ir.BinOp]ir.BinOp{ir.Eq: ir.Ne, ir.Ne: ir.Eq, ir.Lt: ir.Ge, ir.Ge: ir.Lt, ir.Gt: ir.Le, ir.Le: ir.Gt}
	return &test{obj: t.obj, leaf: t.leaf, op: neg[t.op]}
}

// decideFact decides "x op 0" for a dynamic x with a fact (ok false: undecided).
func decideFact(f fact, op ir.BinOp, signed bool) (bool, bool) {
	switch {
	case f&nonzero != 0 && op == ir.Eq:
		return false, true
	case f&nonzero != 0 && op == ir.Ne:
		return true, true
	case !signed || f&nonpositive == 0:
		return false, false
	case op == ir.Gt:
		return false, true
	case op == ir.Le:
		return true, true
	case f == negative && op == ir.Lt:
		return true, true
	case f == negative && op == ir.Ge:
		return false, true
	}
	return false, false
}

// refine records what a residual branch learns about a leaf: on the path where "leaf op 0"
// holds. Equality makes the leaf static zero (memory holds zero there).
func (sp *specializer) refine(t *test) {
	if t == nil || sp.st == nil {
		return
	}
	os := sp.st.get(t.obj)
	if os == nil || !os.slots[t.leaf].mem || os.escaped {
		return
	}
	lt := t.obj.lay.leaves[t.leaf].Type
	it, ok := lt.(*ir.IntType)
	if !ok {
		if t.op == ir.Eq && ir.IsPtr(lt) { // a NULL pointer
			sp.st.mut(t.obj).slots[t.leaf] = slot{v: value{k: vPtr, t: lt}}
		}
		return
	}
	sl := sp.st.mut(t.obj).slots[t.leaf]
	switch t.op {
	case ir.Eq:
		sp.st.mut(t.obj).slots[t.leaf] = slot{v: intVal(it, 0)}
		return
	case ir.Ne:
		sl.fact |= nonzero
	case ir.Lt:
		if it.Signed {
			sl.fact = negative
		}
	case ir.Le:
		if it.Signed {
			sl.fact |= nonpositive
		}
	case ir.Gt:
		sl.fact = nonzero // positive
	}
	sp.st.mut(t.obj).slots[t.leaf] = sl
}

// testOf returns the test a dynamic condition amounts to (nil: none known).
func testOf(v value) *test {
	if v.k != vDyn {
		return nil
	}
	if v.test != nil {
		return v.test
	}
	if v.src != nil {
		return &test{obj: v.src, leaf: v.leaf, op: ir.Ne}
	}
	return nil
}
