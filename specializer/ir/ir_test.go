package ir

import "testing"

func TestDeclare(t *testing.T) {
	u8 := &IntType{Name: "u8", Bytes: 1}
	st := &StructType{Tag: "sock"}
	tests := []struct {
		t    Type
		name string
		want string
	}{
		{u8, "x", "u8 x"},
		{&PtrType{Elem: st}, "sk", "struct sock *sk"},
		{&ArrayType{Elem: u8, Len: 14}, "hh", "u8 hh[14]"},
		{&ArrayType{Elem: u8, Len: 14}, "", "u8[14]"},
		{&PtrType{Elem: &FuncType{Result: Int, Params: []Type{Int}}}, "fn", "int (*fn)(int)"},
		{&PtrType{Elem: &ArrayType{Elem: u8, Len: 4}}, "p", "u8 (*p)[4]"},
		{&FuncType{Result: Void}, "f", "void f(void)"},
	}
	for _, tt := range tests {
		if got := Declare(tt.t, tt.name); got != tt.want {
			t.Errorf("Declare(%s) = %q, want %q", tt.want, got, tt.want)
		}
	}
}

func TestIntegerRules(t *testing.T) {
	u16 := &IntType{Name: "u16", Bytes: 2}
	tests := []struct {
		a, b *IntType
		want *IntType
	}{
		{u16, u16, Int},
		{UInt, Int, UInt},
		{Long, UInt, UInt},
		{LongLong, UInt, LongLong},
		{ULongLong, LongLong, ULongLong},
		{Bool, UChar, Int},
	}
	for _, tt := range tests {
		if got := Usual(tt.a, tt.b); got != tt.want {
			t.Errorf("Usual(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
	if Int.Wrap(1<<32+5) != 5 || Bool.Wrap(256) != 1 || SChar.Int64(SChar.Wrap(200)) != -56 {
		t.Error("Wrap/Int64 do not follow C's conversions")
	}
	if Short.Ext(Short.Wrap(0xffff)) != ^uint64(0) || UShort.Ext(0xffff) != 0xffff {
		t.Error("Ext does not sign-extend only signed types")
	}
}

func TestLocate(t *testing.T) {
	inner := &StructType{Tag: "in", Bytes: 8, Complete: true}
	inner.Fields = []*Field{{Name: "a", Type: UInt, Offset: 0}, {Name: "b", Type: UInt, Offset: 4}}
	outer := &StructType{Tag: "out", Bytes: 20, Complete: true}
	outer.Fields = []*Field{{Name: "x", Type: UInt, Offset: 0}, {Name: "q", Type: &ArrayType{Elem: inner, Len: 2}, Offset: 4}}
	steps, ok := Locate(outer, 16, UInt)
	if !ok || len(steps) != 3 || steps[0].Field.Name != "q" || steps[1].Index != 1 || steps[2].Field.Name != "b" {
		t.Fatalf("Locate = %+v %v", steps, ok)
	}
	if off, typ := StepsOffset(outer, steps); off != 16 || typ != UInt {
		t.Errorf("StepsOffset = %d %s", off, typ)
	}
	if len(Leaves(outer)) != 5 {
		t.Errorf("%d leaves, want 5", len(Leaves(outer)))
	}
	if _, ok := Locate(outer, 2, UInt); ok {
		t.Error("located a u32 in the middle of a field")
	}
}
