package bta

import (
	"specbed/specializer/decl"
	"specbed/specializer/ir"
	"specbed/specializer/spec"
)

// Known bits. A static integer may have bits that every context of the analysis agrees on:
// constants of the program text, and what the scenario's guard case says (decl.Pin.Known). The
// analysis follows them through the operations that keep them (&, |, ~, comparisons, casts),
// and decides a condition whose truth they fix as the specializer will: only the arm it takes
// is analysed.

// exact is v with every bit of type t known to be bits.
func (v aval) exact(t *ir.IntType, bits uint64) aval {
	v.kmask, v.bits = t.Mask(), t.Wrap(bits)
	return v
}

// with adds what a scenario knows to a value of type t.
func (v aval) with(kb decl.KnownBits, t ir.Type) aval {
	it, ok := t.(*ir.IntType)
	if !ok || v.d || it.Bool {
		return v
	}
	m := kb.Mask & it.Mask()
	v.kmask |= m
	v.bits = v.bits&^m | kb.Bits&m
	return v
}

// full reports whether every bit of v, of type t, is known.
func (v aval) full(t ir.Type) bool {
	it, ok := t.(*ir.IntType)
	return ok && !v.d && v.kmask&it.Mask() == it.Mask()
}

// truth is v's truth as a condition of type t, when known bits fix it.
func (v aval) truth(t ir.Type) (truth, ok bool) {
	if v.d {
		return false, false
	}
	if v.kmask&v.bits != 0 {
		return true, true
	}
	return false, v.full(t)
}

func boolBits(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func unaryKnown(e *ir.Unary, x, v aval) aval {
	t, ok := e.T.(*ir.IntType)
	if !ok {
		return v
	}
	switch e.Op {
	case ir.LogNot:
		if truth, ok := x.truth(e.X.Type()); ok {
			return v.exact(t, boolBits(!truth))
		}
	case ir.BitNot:
		v.kmask = x.kmask & t.Mask()
		v.bits = ^x.bits & v.kmask
	case ir.Neg:
		if x.full(e.X.Type()) {
			return v.exact(t, -x.bits)
		}
	}
	return v
}

// bitwise combines the known bits of x and y under & or |.
func bitwise(op ir.BinOp, t *ir.IntType, x, y, v aval) aval {
	ones := func(a aval) uint64 { return a.kmask & a.bits }
	zeros := func(a aval) uint64 { return a.kmask &^ a.bits }
	switch op {
	case ir.And:
		z, o := zeros(x)|zeros(y), ones(x)&ones(y)
		v.kmask, v.bits = (z|o)&t.Mask(), o&t.Mask()
	case ir.Or:
		z, o := zeros(x)&zeros(y), ones(x)|ones(y)
		v.kmask, v.bits = (z|o)&t.Mask(), o&t.Mask()
	}
	return v
}

func binaryKnown(e *ir.Binary, xt *ir.IntType, x aval, yt *ir.IntType, y aval, v aval) aval {
	if x.full(xt) && y.full(yt) {
		if bits, err := spec.FoldBinary(e, xt, x.bits, yt, y.bits); err == nil {
			v.kmask, v.bits = ^uint64(0), bits
			if t, ok := e.T.(*ir.IntType); ok {
				v.kmask = t.Mask()
			}
			return v
		}
		return v
	}
	t, ok := e.T.(*ir.IntType)
	if !ok {
		return v
	}
	switch e.Op {
	case ir.And, ir.Or:
		if xt.Bytes == t.Bytes && yt.Bytes == t.Bytes {
			return bitwise(e.Op, t, x, y, v)
		}
	case ir.Eq, ir.Ne:
		if xt.Bytes == yt.Bytes && x.kmask&y.kmask&(x.bits^y.bits) != 0 {
			return v.exact(t, boolBits(e.Op == ir.Ne)) // a known bit differs
		}
	}
	return v
}

// castKnown keeps the known bits an integer conversion keeps: the low bits, and the high bits
// of a zero extension.
func castKnown(from, to *ir.IntType, x, v aval) aval {
	if to.Bool {
		if truth, ok := x.truth(from); ok {
			return v.exact(to, boolBits(truth))
		}
		return v
	}
	if x.full(from) {
		return v.exact(to, from.Ext(x.bits))
	}
	v.kmask = x.kmask & from.Mask() & to.Mask()
	v.bits = x.bits & v.kmask
	if to.Bytes > from.Bytes && !from.Signed {
		v.kmask |= to.Mask() &^ from.Mask()
	}
	return v
}

// compoundKnown is what x op= y leaves known, for & and |.
func compoundKnown(e *ir.Assign, cur, r, v aval) aval {
	t, ok := e.T.(*ir.IntType)
	rt, rok := e.R.Type().(*ir.IntType)
	if !ok || !rok || rt.Bytes != t.Bytes || t.Bool {
		return v
	}
	return bitwise(e.Op, t, cur, r, v)
}

// mergeFacts joins what two guard cases know.
func mergeFacts(a, b map[string]decl.KnownBits) map[string]decl.KnownBits {
	out := make(map[string]decl.KnownBits, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		o := out[k]
		out[k] = decl.KnownBits{Mask: o.Mask | v.Mask, Bits: o.Bits&^v.Mask | v.Bits&v.Mask}
	}
	return out
}
