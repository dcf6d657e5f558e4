package ir

// Leaf is a scalar inside an object: its byte offset, type and selection path.
type Leaf struct {
	Off   int64
	Type  Type
	Steps []Step
}

// Leaves lists the scalar leaves of t in offset order (t itself when scalar). Arrays of bytes
// are expanded element by element like any other array.
func Leaves(t Type) []Leaf {
	var out []Leaf
	var walk func(t Type, off int64, steps []Step)
	walk = func(t Type, off int64, steps []Step) {
		switch t := t.(type) {
		case *StructType:
			for _, f := range t.Fields {
				walk(f.Type, off+f.Offset, append(append([]Step(nil), steps...), Step{Field: f}))
			}
		case *ArrayType:
			es := t.Elem.Size()
			for i := int64(0); i < t.Len; i++ {
				walk(t.Elem, off+i*es, append(append([]Step(nil), steps...), Step{Index: i}))
			}
		default:
			if IsScalar(t) {
				out = append(out, Leaf{Off: off, Type: t, Steps: steps})
			}
		}
	}
	walk(t, 0, nil)
	return out
}

// Locate finds the sub-object of type want at byte offset off inside an object of type t and
// returns the selection path to it. Among nested candidates at the same offset it returns the
// outermost one whose type matches.
func Locate(t Type, off int64, want Type) ([]Step, bool) {
	if off == 0 && Same(t, want) {
		return nil, true
	}
	switch t := t.(type) {
	case *StructType:
		for _, f := range t.Fields {
			if off >= f.Offset && off < f.Offset+f.Type.Size() {
				if s, ok := Locate(f.Type, off-f.Offset, want); ok {
					return append([]Step{{Field: f}}, s...), true
				}
			}
		}
	case *ArrayType:
		es := t.Elem.Size()
		if es > 0 && off >= 0 && off < t.Size() {
			i := off / es
			if s, ok := Locate(t.Elem, off-i*es, want); ok {
				return append([]Step{{Index: i}}, s...), true
			}
		}
	}
	return nil, false
}

// StepsOffset returns the byte offset a selection path reaches inside an object of type t,
// and the type there.
func StepsOffset(t Type, steps []Step) (int64, Type) {
	var off int64
	for _, s := range steps {
		if s.Field != nil {
			off += s.Field.Offset
			t = s.Field.Type
			continue
		}
		at := t.(*ArrayType)
		off += s.Index * at.Elem.Size()
		t = at.Elem
	}
	return off, t
}
