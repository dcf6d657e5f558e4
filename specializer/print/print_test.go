package print

import (
	"strings"
	"testing"

	"specbed/specializer/ir"
)

func TestExpressions(t *testing.T) {
	x := &ir.VarRef{E: ir.E{T: ir.UInt}, Var: &ir.Var{Name: "x", Type: ir.UInt}}
	k := func(t *ir.IntType, v uint64) *ir.Const { return &ir.Const{E: ir.E{T: t}, Val: t.Wrap(v)} }
	bin := func(op ir.BinOp, a, b ir.Expr) ir.Expr { return &ir.Binary{E: ir.E{T: ir.UInt}, Op: op, X: a, Y: b} }
	tests := []struct {
		e    ir.Expr
		want string
	}{
		{k(ir.Int, 5), "5"},
		{k(ir.Int, uint64(1<<32-5)), "-5"},
		{k(ir.Int, 1<<31), "(-2147483647 - 1)"},
		{k(ir.UInt, 7), "7U"},
		{k(ir.UInt, 0x202000a), "0x202000aU"},
		{k(ir.ULongLong, 1<<40), "0x10000000000ULL"},
		{k(ir.LongLong, uint64(1)<<63), "(-9223372036854775807LL - 1)"},
		{&ir.Const{E: ir.E{T: &ir.PtrType{Elem: &ir.StructType{Tag: "sk_buff"}}}}, "((struct sk_buff *)0)"},
		{bin(ir.Mul, bin(ir.Add, x, k(ir.UInt, 1)), x), "(x + 1U) * x"},
		{bin(ir.Sub, x, bin(ir.Sub, x, x)), "x - (x - x)"},
		{bin(ir.Sub, x, k(ir.Int, uint64(1<<32-3))), "x - -3"},
		{&ir.Unary{E: ir.E{T: ir.Int}, Op: ir.Neg, X: k(ir.Int, uint64(1<<32-3))}, "-(-3)"},
		{&ir.Cast{E: ir.E{T: ir.Int}, X: x, Implicit: true}, "x"},
		{&ir.Cast{E: ir.E{T: &ir.IntType{Name: "u16", Bytes: 2}}, X: bin(ir.Shl, x, k(ir.Int, 8))}, "(u16)(x << 8)"},
	}
	for _, tt := range tests {
		p := New(false)
		if got := p.expr(tt.e, precComma); got != tt.want {
			t.Errorf("printed %q, want %q", got, tt.want)
		}
	}
}

// Nothing spelled by an input reaches the output unchecked.
func TestRefusesForeignText(t *testing.T) {
	p := New(false)
	p.Comment("fine", "not */ fine")
	if _, err := p.Bytes(); err == nil {
		t.Error("a comment closing itself was printed")
	}
	p = New(false)
	p.ident("x; system(\"rm\")")
	if _, err := p.Bytes(); err == nil {
		t.Error("a non-identifier was printed")
	}
	p = New(true)
	p.out(ir.Pos{File: "a\"b.c", Line: 3}, "x;")
	if _, err := p.Bytes(); err == nil || !strings.Contains(err.Error(), "file name") {
		t.Errorf("a file name with a quote: %v", err)
	}
}

func TestLineDirectives(t *testing.T) {
	p := New(true)
	p.out(ir.Pos{File: "ip.c", Line: 10}, "a;")
	p.out(ir.Pos{File: "ip.c", Line: 11}, "b;") // follows on: no directive
	p.out(ir.Pos{File: "udp.c", Line: 3}, "c;")
	p.out(ir.Pos{File: "udp.c", Line: 3}, "d;") // same source line: shares it
	got, err := p.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := "#line 10 \"ip.c\"\na;\nb;\n#line 3 \"udp.c\"\nc;\nd;\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
