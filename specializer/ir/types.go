// Package ir is the specializer's intermediate representation of the generic C subset: typed
// functions, locals, structured statements and typed expressions, each carrying the source
// position it came from. The parse pass produces it, the later passes read it, and the
// specializer's residual program is written in it too (so the printer prints IR).
//
// Sizes and offsets are in bytes and follow the ILP32 ABI of both targets (i386, ARM EABI).
package ir

import (
	"fmt"
	"strings"
)

// Type is a C type of the subset.
type Type interface {
	// Size is the type's size in bytes (0 for void, functions and incomplete structs).
	Size() int64
	// String is the C spelling of the type as an abstract declarator ("u32", "struct sock *").
	String() string
	isType()
}

// IntType is an integer type: _Bool, the char/short/int/long/long long family, their typedefs
// and enums.
type IntType struct {
	// Name is how the residual spells the type (a typedef name when the source used one).
	Name   string
	Bytes  int64
	Signed bool
	// Bool marks _Bool, whose conversion from any value is "!= 0".
	Bool bool
}

// PtrType is a pointer. Elem may be *VoidType or an incomplete *StructType.
type PtrType struct{ Elem Type }

// ArrayType is a fixed-size array.
type ArrayType struct {
	Elem Type
	Len  int64
}

// StructType is a struct with a tag. Fields are in declaration order.
type StructType struct {
	Tag      string
	Fields   []*Field
	Bytes    int64
	Complete bool
}

// Field is a struct member with its byte offset.
type Field struct {
	Name   string
	Type   Type
	Offset int64
}

// FuncType is a function's type.
type FuncType struct {
	Result Type
	Params []Type
}

// VoidType is void.
type VoidType struct{}

func (*IntType) isType()    {}
func (*PtrType) isType()    {}
func (*ArrayType) isType()  {}
func (*StructType) isType() {}
func (*FuncType) isType()   {}
func (*VoidType) isType()   {}

func (t *IntType) Size() int64    { return t.Bytes }
func (t *PtrType) Size() int64    { return 4 }
func (t *ArrayType) Size() int64  { return t.Len * t.Elem.Size() }
func (t *StructType) Size() int64 { return t.Bytes }
func (t *FuncType) Size() int64   { return 0 }
func (t *VoidType) Size() int64   { return 0 }

func (t *IntType) String() string    { return t.Name }
func (t *PtrType) String() string    { return Declare(t, "") }
func (t *ArrayType) String() string  { return Declare(t, "") }
func (t *StructType) String() string { return "struct " + t.Tag }
func (t *FuncType) String() string   { return Declare(t, "") }
func (t *VoidType) String() string   { return "void" }

// Field returns the member called name, or nil.
func (t *StructType) Field(name string) *Field {
	for _, f := range t.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// The C integer types the usual arithmetic conversions produce.
var (
	Bool      = &IntType{Name: "_Bool", Bytes: 1, Bool: true}
	SChar     = &IntType{Name: "signed char", Bytes: 1, Signed: true}
	UChar     = &IntType{Name: "unsigned char", Bytes: 1}
	Short     = &IntType{Name: "short", Bytes: 2, Signed: true}
	UShort    = &IntType{Name: "unsigned short", Bytes: 2}
	Int       = &IntType{Name: "int", Bytes: 4, Signed: true}
	UInt      = &IntType{Name: "unsigned int", Bytes: 4}
	Long      = &IntType{Name: "long", Bytes: 4, Signed: true}
	ULong     = &IntType{Name: "unsigned long", Bytes: 4}
	LongLong  = &IntType{Name: "long long", Bytes: 8, Signed: true}
	ULongLong = &IntType{Name: "unsigned long long", Bytes: 8}
	Void      = &VoidType{}
)

// Declare spells a declaration of name with type t ("u8 hh[16]", "int (*fn)(int)"); with an
// empty name it spells the abstract type.
func Declare(t Type, name string) string {
	base, decl := split(t, name)
	switch {
	case decl == "":
		return base
	case decl[0] == '[':
		return base + decl // an abstract array type: u8[14]
	}
	return base + " " + decl
}

// split returns the specifier part and the declarator part of a declaration.
func split(t Type, inner string) (string, string) {
	switch t := t.(type) {
	case *PtrType:
		s := "*" + inner
		switch t.Elem.(type) {
		case *ArrayType, *FuncType:
			s = "(" + s + ")"
		}
		return split(t.Elem, s)
	case *ArrayType:
		return split(t.Elem, fmt.Sprintf("%s[%d]", inner, t.Len))
	case *FuncType:
		ps := make([]string, len(t.Params))
		for i, p := range t.Params {
			ps[i] = Declare(p, "")
		}
		if len(ps) == 0 {
			ps = []string{"void"}
		}
		return split(t.Result, fmt.Sprintf("%s(%s)", inner, strings.Join(ps, ", ")))
	default:
		return t.String(), inner
	}
}

// IsInt reports whether t is an integer type.
func IsInt(t Type) bool { _, ok := t.(*IntType); return ok }

// IsPtr reports whether t is a pointer type.
func IsPtr(t Type) bool { _, ok := t.(*PtrType); return ok }

// IsScalar reports whether t is an integer or pointer type.
func IsScalar(t Type) bool { return IsInt(t) || IsPtr(t) }

// Mask returns the bit mask of an integer type's width.
func (t *IntType) Mask() uint64 {
	if t.Bytes >= 8 {
		return ^uint64(0)
	}
	return 1<<(8*uint(t.Bytes)) - 1
}

// Wrap converts a 64-bit two's complement value to t, as a C conversion does: _Bool becomes 0
// or 1, narrower types keep their low bits. The result is t's canonical bit pattern (masked).
func (t *IntType) Wrap(v uint64) uint64 {
	if t.Bool {
		if v != 0 {
			return 1
		}
		return 0
	}
	return v & t.Mask()
}

// Int64 interprets a canonical bit pattern of t as a (sign-extended) 64-bit value.
func (t *IntType) Int64(v uint64) int64 {
	if !t.Signed || t.Bytes >= 8 {
		return int64(v)
	}
	shift := 64 - 8*uint(t.Bytes)
	return int64(v<<shift) >> shift
}

// Ext returns t's canonical value v widened to 64 bits: sign-extended for signed types,
// zero-extended otherwise. It is the value C would produce converting v to a 64-bit type.
func (t *IntType) Ext(v uint64) uint64 { return uint64(t.Int64(v)) }

// Range reports the smallest and largest values of t, as signed and unsigned 64-bit bounds.
func (t *IntType) Range() (min int64, max uint64) {
	if t.Bool {
		return 0, 1
	}
	if t.Signed {
		bits := 8*uint(t.Bytes) - 1
		return -1 << bits, 1<<bits - 1
	}
	return 0, t.Mask()
}

// SameInt reports whether two integer types have the same representation.
func SameInt(a, b *IntType) bool {
	return a.Bytes == b.Bytes && a.Signed == b.Signed && a.Bool == b.Bool
}

// Promote applies C's integer promotions: types narrower than int become int.
func Promote(t *IntType) *IntType {
	if t.Bytes < 4 || t.Bool {
		return Int
	}
	return t
}

// Usual applies C's usual arithmetic conversions to two integer operand types (ILP32).
func Usual(a, b *IntType) *IntType {
	a, b = Promote(a), Promote(b)
	if SameInt(a, b) {
		return canonical(a)
	}
	if a.Bytes != b.Bytes {
		if a.Bytes < b.Bytes {
			a, b = b, a
		}
		return canonical(a) // the wider type can represent every value of the narrower here
	}
	// Same width, different signedness: unsigned wins.
	if a.Signed {
		return canonical(b)
	}
	return canonical(a)
}

// canonical maps an integer type to the plain C type of the same representation, so arithmetic
// results are spelled int / unsigned int / long long / unsigned long long.
func canonical(t *IntType) *IntType {
	switch {
	case t.Bytes == 8 && t.Signed:
		return LongLong
	case t.Bytes == 8:
		return ULongLong
	case t.Signed:
		return Int
	default:
		return UInt
	}
}

// Same reports structural type identity (typedef names aside).
func Same(a, b Type) bool {
	switch a := a.(type) {
	case *IntType:
		b, ok := b.(*IntType)
		return ok && SameInt(a, b)
	case *PtrType:
		b, ok := b.(*PtrType)
		return ok && Same(a.Elem, b.Elem)
	case *ArrayType:
		b, ok := b.(*ArrayType)
		return ok && a.Len == b.Len && Same(a.Elem, b.Elem)
	case *StructType:
		b, ok := b.(*StructType)
		return ok && a.Tag == b.Tag
	case *FuncType:
		b, ok := b.(*FuncType)
		if !ok || len(a.Params) != len(b.Params) || !Same(a.Result, b.Result) {
			return false
		}
		for i := range a.Params {
			if !Same(a.Params[i], b.Params[i]) {
				return false
			}
		}
		return true
	case *VoidType:
		_, ok := b.(*VoidType)
		return ok
	}
	return false
}
