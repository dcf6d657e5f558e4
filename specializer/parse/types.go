package parse

import (
	"modernc.org/cc/v4"
	"modernc.org/token"

	"specbed/specializer/ir"
)

// typ lowers a cc type; at is the node blamed when the type is outside the subset.
func (l *lowerer) typ(t cc.Type, at interface{ Position() token.Position }) ir.Type {
	if a := t.Attributes(); a != nil && a.IsVolatile() {
		l.refuse(at, "volatile is outside the subset")
	}
	switch t.Kind() {
	case cc.Void:
		return ir.Void
	case cc.Bool, cc.SChar, cc.UChar, cc.Short, cc.UShort, cc.Int, cc.UInt, cc.Long, cc.ULong, cc.LongLong, cc.ULongLong:
		return l.intType(t)
	case cc.Char:
		l.refuse(at, "plain char is outside the subset (its signedness differs between i386 and ARM): use u8 or s8")
	case cc.Enum:
		u := t.(*cc.EnumType).UnderlyingType()
		it := *l.intType(u)
		if td := t.Typedef(); td != nil {
			it.Name = td.Name()
		}
		return &it
	case cc.Ptr:
		return &ir.PtrType{Elem: l.typ(t.(*cc.PointerType).Elem(), at)}
	case cc.Array:
		at2 := t.(*cc.ArrayType)
		if at2.IsVLA() || at2.IsIncomplete() {
			l.refuse(at, "arrays must have a constant size")
		}
		return &ir.ArrayType{Elem: l.typ(at2.Elem(), at), Len: at2.Len()}
	case cc.Struct:
		return l.structType(t.(*cc.StructType), at)
	case cc.Function:
		ft := t.(*cc.FunctionType)
		if ft.IsVariadic() {
			l.refuse(at, "variadic functions are outside the subset")
		}
		out := &ir.FuncType{Result: l.typ(ft.Result(), at)}
		for _, p := range ft.Parameters() {
			if p.Type().Kind() == cc.Void {
				continue
			}
			out.Params = append(out.Params, l.typ(p.Type().Decay(), at))
		}
		return out
	case cc.Union:
		l.refuse(at, "unions are outside the subset")
	default:
		l.refuse(at, "type %s is outside the subset", t)
	}
	return nil
}

var intByKind = map[cc.Kind]*ir.IntType{
	cc.Bool: ir.Bool, cc.SChar: ir.SChar, cc.UChar: ir.UChar, cc.Short: ir.Short, cc.UShort: ir.UShort,
	cc.Int: ir.Int, cc.UInt: ir.UInt, cc.Long: ir.Long, cc.ULong: ir.ULong, cc.LongLong: ir.LongLong,
	cc.ULongLong: ir.ULongLong,
}

// intType keeps a typedef's name for printing (u32 rather than unsigned int).
func (l *lowerer) intType(t cc.Type) *ir.IntType {
	base := intByKind[t.Kind()]
	if base == nil {
		if t.Kind() == cc.Enum {
			return l.intType(t.(*cc.EnumType).UnderlyingType())
		}
		return ir.Int
	}
	if td := t.Typedef(); td != nil {
		it := *base
		it.Name = td.Name()
		return &it
	}
	return base
}

func (l *lowerer) structType(t *cc.StructType, at interface{ Position() token.Position }) *ir.StructType {
	tok := t.Tag()
	tag := tok.SrcStr()
	if tag == "" {
		l.refuse(at, "anonymous struct: every struct needs a tag")
	}
	st := l.structs[tag]
	if st == nil {
		st = &ir.StructType{Tag: tag}
		l.structs[tag] = st
		l.prog.Structs[tag] = st
	}
	if st.Complete || t.IsIncomplete() {
		return st
	}
	st.Complete = true // set first: fields may point back at this struct
	st.Bytes = t.Size()
	for i := 0; i < t.NumFields(); i++ {
		f := t.FieldByIndex(i)
		var fat interface{ Position() token.Position } = at
		if d := f.Declarator(); d != nil {
			fat = d
		}
		if f.IsBitfield() {
			l.refuse(fat, "bitfield %s.%s is outside the subset", tag, f.Name())
		}
		if f.IsFlexibleArrayMember() {
			l.refuse(fat, "flexible array member %s.%s is outside the subset", tag, f.Name())
		}
		if f.Name() == "" {
			l.refuse(at, "anonymous member in struct %s is outside the subset", tag)
		}
		st.Fields = append(st.Fields, &ir.Field{Name: f.Name(), Type: l.typ(f.Type(), fat), Offset: f.Offset()})
	}
	return st
}
