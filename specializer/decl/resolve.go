package decl

import (
	"fmt"
	"sort"

	"specbed/specializer/ir"
)

// RootKind says what a path root names.
type RootKind int

const (
	RootParam RootKind = iota
	RootGlobal
	RootBound // a bound path or a bound lookup result (inst->NAME)
)

// Root is something a path may start from.
type Root struct {
	Name  string
	Kind  RootKind
	Class Class // for params and globals
	Type  ir.Type
	Var   *ir.Var // params and globals
	Line  int
}

// StaticPath is a resolved static path.
type StaticPath struct {
	Path  Path
	Type  ir.Type // the path's C type: an integer, a pointer, or an array of bytes
	Range *Range
	Line  int
}

// Resolved is a declaration file checked against the program it declares.
type Resolved struct {
	File     *File
	Prog     *ir.Program
	Entry    *ir.Func
	Roots    map[string]*Root
	Statics  map[string]*StaticPath // by canonical path
	Dynamics map[string]bool
	// BoundPaths maps a pointer path to the bound name its value is read from.
	BoundPaths map[string]string
	Lookups    map[string]*Lookup // by function
	Values     map[string]*ValueDecl
	Instance   *ir.StructType
	// Fixed maps a dynamic parameter to the static guard expression it equals after the guards.
	Fixed map[string]GExpr
	// FixedPaths maps a kernel field a guard pins down to its static guard expression: known
	// after the guards, until the residual writes it.
	FixedPaths map[string]GExpr
	// Bound lists the bound names in declaration order (the instance members the loader fills).
	Bound []string
	// Outlines are the generic functions the residual calls instead of inlining them, by name.
	Outlines map[string]*ir.Func
	// Pins lists the guards that pin a kernel field in the contexts where their static disjuncts
	// are all false: static || ... || path == value leaves the residual test path == value, and
	// the specialization knows the field after it. In declaration order.
	Pins []Pin
}

// Pin is a guard static || ... || path == value, seen in the contexts where it pins path.
type Pin struct {
	Path string // the kernel field (canonical path)
	// Known is what those contexts know about names and kernel fields (canonical paths) of the
	// guard: the static disjuncts are false (x != 0 false: x is 0; (x & m) != 0 false: x's bits
	// m are 0) and the field has its value when that is a literal.
	Known map[string]KnownBits
}

// KnownBits are bits of an integer known in a context case: those in Mask have the values in
// Bits.
type KnownBits struct{ Mask, Bits uint64 }

// Resolve checks f against prog.
func Resolve(f *File, prog *ir.Program) (*Resolved, error) {
	r := &Resolved{File: f, Prog: prog, Roots: map[string]*Root{}, Statics: map[string]*StaticPath{},
		Dynamics: map[string]bool{}, BoundPaths: map[string]string{}, Lookups: map[string]*Lookup{},
		Values: map[string]*ValueDecl{}, Fixed: map[string]GExpr{}, FixedPaths: map[string]GExpr{}}
	errf := func(line int, format string, args ...any) error {
		return &Error{File: f.Path, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	r.Entry = prog.Func(f.Entry.Name)
	if r.Entry == nil || r.Entry.Body == nil {
		return nil, errf(f.Entry.Line, "entry %s is not a function defined in the sources", f.Entry.Name)
	}
	if !ir.IsInt(r.Entry.Type.Result) {
		return nil, errf(f.Entry.Line, "entry %s must return an integer (the guard fallback is returned)", f.Entry.Name)
	}
	if err := r.params(errf); err != nil {
		return nil, err
	}
	for i := range f.Globals {
		g := &f.Globals[i]
		v := prog.Global(g.Name)
		if v == nil {
			return nil, errf(g.Line, "global %s is not declared in the sources", g.Name)
		}
		if g.Class == Static && !ir.IsScalar(v.Type) {
			return nil, errf(g.Line, "static global %s has type %s: only integers and pointers", g.Name, v.Type)
		}
		r.Roots[g.Name] = &Root{Name: g.Name, Kind: RootGlobal, Class: g.Class, Type: v.Type, Var: v, Line: g.Line}
	}
	for i := range f.Lookups {
		lk := &f.Lookups[i]
		fn := prog.Func(lk.Func)
		if fn == nil || fn.Shim != ir.ShimPure {
			return nil, errf(lk.Line, "lookup %s: not a SHIM_PURE function of the sources", lk.Func)
		}
		if lk.Bound {
			if !ir.IsPtr(fn.Type.Result) {
				return nil, errf(lk.Line, "lookup %s bound %s: the function must return a pointer", lk.Func, lk.Name)
			}
			r.Roots[lk.Name] = &Root{Name: lk.Name, Kind: RootBound, Type: fn.Type.Result, Line: lk.Line}
			r.Bound = append(r.Bound, lk.Name)
		} else if !ir.IsInt(fn.Type.Result) {
			return nil, errf(lk.Line, "lookup %s value %s: the function must return an integer", lk.Func, lk.Name)
		}
		r.Lookups[lk.Func] = lk
	}
	for i := range f.Values {
		r.Values[f.Values[i].Name] = &f.Values[i]
	}
	// Bound paths may build on each other (a bound name as the root of another): resolve in order.
	for i := range f.Bounds {
		b := &f.Bounds[i]
		t, err := r.typeOf(b.Path)
		if err != nil {
			return nil, errf(b.Line, "bound %s: %v", b.Name, err)
		}
		if pt, ok := t.(*ir.PtrType); !ok || !isStruct(pt.Elem) {
			return nil, errf(b.Line, "bound %s: %s has type %s, not a pointer to a struct", b.Name, b.Path, t)
		}
		r.Roots[b.Name] = &Root{Name: b.Name, Kind: RootBound, Type: t, Line: b.Line}
		r.BoundPaths[b.Path.String()] = b.Name
		r.Bound = append(r.Bound, b.Name)
	}
	if err := r.instance(errf); err != nil {
		return nil, err
	}
	for i := range f.Statics {
		s := &f.Statics[i]
		t, err := r.typeOf(s.Path)
		if err != nil {
			return nil, errf(s.Line, "static %s: %v", s.Path, err)
		}
		switch tt := t.(type) {
		case *ir.IntType:
			if s.Range != nil {
				if min, max := tt.Range(); s.Range.Lo < min || s.Range.Hi >= 0 && uint64(s.Range.Hi) > max {
					return nil, errf(s.Line, "static %s: range %s exceeds its type %s", s.Path, s.Range, tt)
				}
			}
		case *ir.PtrType:
			if s.Range != nil {
				return nil, errf(s.Line, "static %s: a pointer takes no range", s.Path)
			}
		case *ir.ArrayType:
			if et, ok := tt.Elem.(*ir.IntType); !ok || et.Bytes != 1 || s.Range != nil {
				return nil, errf(s.Line, "static %s: arrays are static only as bytes (u8 elements, no range)", s.Path)
			}
		default:
			return nil, errf(s.Line, "static %s has type %s: declare its scalar fields instead", s.Path, t)
		}
		r.Statics[s.Path.String()] = &StaticPath{Path: s.Path, Type: t, Range: s.Range, Line: s.Line}
	}
	for i := range f.Dynamics {
		d := &f.Dynamics[i]
		if _, err := r.typeOf(d.Path); err != nil {
			return nil, errf(d.Line, "dynamic %s: %v", d.Path, err)
		}
		r.Dynamics[d.Path.String()] = true
	}
	if err := r.guards(errf); err != nil {
		return nil, err
	}
	if err := r.outlines(errf); err != nil {
		return nil, err
	}
	r.Pins = r.pins()
	return r, nil
}

// outlines checks the outline declarations: generic functions other than the entry, returning
// nothing or an integer, with integer and pointer parameters (they become the residual
// function's parameters).
func (r *Resolved) outlines(errf func(int, string, ...any) error) error {
	r.Outlines = map[string]*ir.Func{}
	for _, o := range r.File.Outlines {
		fn := r.Prog.Func(o.Name)
		switch {
		case fn == nil || fn.Body == nil:
			return errf(o.Line, "outline %s: not a function defined in the sources", o.Name)
		case fn == r.Entry:
			return errf(o.Line, "outline %s: the entry is the residual's own function", o.Name)
		case !ir.IsInt(fn.Type.Result) && !isVoid(fn.Type.Result):
			return errf(o.Line, "outline %s: it must return nothing or an integer, not %s", o.Name, fn.Type.Result)
		}
		for _, p := range fn.Params {
			if !ir.IsScalar(p.Type) {
				return errf(o.Line, "outline %s: parameter %s has type %s, not an integer or a pointer", o.Name, p.Name, p.Type)
			}
		}
		r.Outlines[o.Name] = fn
	}
	return nil
}

func isVoid(t ir.Type) bool { _, ok := t.(*ir.VoidType); return ok }

func isStruct(t ir.Type) bool { _, ok := t.(*ir.StructType); return ok }

func (r *Resolved) params(errf func(int, string, ...any) error) error {
	f := r.File
	declared := map[string]*Binding{}
	for i := range f.Params {
		declared[f.Params[i].Name] = &f.Params[i]
	}
	for _, v := range r.Entry.Params {
		b := declared[v.Name]
		if b == nil {
			return errf(f.Entry.Line, "entry %s: parameter %s is not declared (param %s static|dynamic|bound)", r.Entry.Name, v.Name, v.Name)
		}
		delete(declared, v.Name)
		switch b.Class {
		case Static:
			if !ir.IsInt(v.Type) {
				return errf(b.Line, "param %s static: only integer parameters take context values (a pointer is bound)", v.Name)
			}
		case Bound:
			if pt, ok := v.Type.(*ir.PtrType); !ok || !isStruct(pt.Elem) {
				return errf(b.Line, "param %s bound: type %s is not a pointer to a struct", v.Name, v.Type)
			}
			r.Bound = append(r.Bound, v.Name)
		}
		r.Roots[v.Name] = &Root{Name: v.Name, Kind: RootParam, Class: b.Class, Type: v.Type, Var: v, Line: b.Line}
	}
	for _, b := range f.Params {
		if declared[b.Name] != nil {
			return errf(b.Line, "param %s: %s has no such parameter", b.Name, r.Entry.Name)
		}
	}
	return nil
}

func (r *Resolved) instance(errf func(int, string, ...any) error) error {
	f := r.File
	if f.Instance.Name == "" {
		if len(r.Bound) > 0 {
			return errf(r.Roots[r.Bound[0]].Line, "%s is bound but no \"instance\" struct is declared", r.Bound[0])
		}
		return nil
	}
	st := r.Prog.Structs[f.Instance.Name]
	if st == nil || !st.Complete {
		return errf(f.Instance.Line, "instance: struct %s is not defined in the sources", f.Instance.Name)
	}
	for _, name := range r.Bound {
		m := st.Field(name)
		if m == nil || !ir.Same(m.Type, r.Roots[name].Type) {
			return errf(r.Roots[name].Line, "struct %s needs a member %s of type %s", st.Tag, ir.Declare(r.Roots[name].Type, name), r.Roots[name].Type)
		}
	}
	r.Instance = st
	return nil
}

// TypeOf types a path, checking that every pointer it goes through is static.
func (r *Resolved) TypeOf(p Path) (ir.Type, error) { return r.typeOf(p) }

func (r *Resolved) typeOf(p Path) (ir.Type, error) {
	root := r.Roots[p.Root]
	if root == nil {
		return nil, fmt.Errorf("%s is not a parameter, global or bound name", p.Root)
	}
	if root.Kind != RootBound && root.Class == Dynamic && len(p.Steps) > 0 && p.Steps[0].Kind == Arrow {
		return nil, fmt.Errorf("%s is dynamic: nothing reached through it can be static", p.Root)
	}
	t := root.Type
	for i, s := range p.Steps {
		prefix := Path{Root: p.Root, Steps: p.Steps[:i]}
		switch s.Kind {
		case Arrow:
			pt, ok := t.(*ir.PtrType)
			if !ok {
				return nil, fmt.Errorf("%s is not a pointer", prefix)
			}
			if i > 0 {
				if _, bound := r.BoundPaths[prefix.String()]; !bound && r.Statics[prefix.String()] == nil {
					return nil, fmt.Errorf("the pointer %s is not declared static or bound (declare it before the paths through it)", prefix)
				}
			}
			t = pt.Elem
			fallthrough
		case Dot:
			st, ok := t.(*ir.StructType)
			if !ok || !st.Complete {
				return nil, fmt.Errorf("%s is not a complete struct", prefix)
			}
			m := st.Field(s.Field)
			if m == nil {
				return nil, fmt.Errorf("struct %s has no member %s", st.Tag, s.Field)
			}
			t = m.Type
		case Elem:
			at, ok := t.(*ir.ArrayType)
			if !ok || s.Index >= at.Len {
				return nil, fmt.Errorf("%s[%d] is not an element of an array", prefix, s.Index)
			}
			t = at.Elem
		}
	}
	return t, nil
}

func (r *Resolved) guards(errf func(int, string, ...any) error) error {
	for _, g := range r.File.Guards {
		if err := r.guardTerms(g.Expr); err != nil {
			return errf(g.Line, "guard: %v", err)
		}
		b, ok := g.Expr.(GBinary)
		if !ok || b.Op != "==" {
			continue
		}
		for _, side := range [][2]GExpr{{b.X, b.Y}, {b.Y, b.X}} {
			if !r.isStaticGuard(side[1]) {
				continue
			}
			switch x := side[0].(type) {
			case GName:
				if r.Roots[x.Name] == nil || r.Roots[x.Name].Class != Dynamic {
					continue
				}
				if _, dup := r.Fixed[x.Name]; dup {
					return errf(g.Line, "guard: %s is fixed by two guards", x.Name)
				}
				r.Fixed[x.Name] = side[1]
			case GPath:
				key := x.Path.String()
				if _, dup := r.FixedPaths[key]; dup {
					return errf(g.Line, "guard: %s is fixed by two guards", key)
				}
				r.FixedPaths[key] = side[1]
			default:
				continue
			}
			break
		}
	}
	return nil
}

// guardTerms checks the names and paths a guard reads: integer parameters, declared values,
// and integer fields of kernel memory that are not static (a static field needs no guard).
func (r *Resolved) guardTerms(e GExpr) error {
	switch e := e.(type) {
	case GName:
		if r.Values[e.Name] == nil && (r.Roots[e.Name] == nil || r.Roots[e.Name].Kind != RootParam || !ir.IsInt(r.Roots[e.Name].Type)) {
			return fmt.Errorf("%s is not an integer parameter or a declared value", e.Name)
		}
	case GPath:
		t, err := r.typeOf(e.Path)
		if err != nil {
			return err
		}
		if !ir.IsInt(t) || len(e.Path.Steps) == 0 || e.Path.Steps[0].Kind != Arrow {
			return fmt.Errorf("%s is not an integer field reached through a pointer", e.Path)
		}
	case GUnary:
		return r.guardTerms(e.X)
	case GBinary:
		if err := r.guardTerms(e.X); err != nil {
			return err
		}
		return r.guardTerms(e.Y)
	}
	return nil
}

// pins finds the guards that pin a kernel field in some contexts (Resolved.Pins).
func (r *Resolved) pins() []Pin {
	var out []Pin
	seen := map[string]bool{}
	for _, g := range r.File.Guards {
		terms := disjuncts(g.Expr)
		if len(terms) < 2 {
			continue // a lone equality is always true after the guards: FixedPaths
		}
		var rest []GExpr
		known := map[string]KnownBits{}
		for _, t := range terms {
			if !r.staticTerm(t) {
				rest = append(rest, t)
				continue
			}
			if name, kb, ok := falseTerm(t); ok {
				old := known[name]
				known[name] = KnownBits{Mask: old.Mask | kb.Mask, Bits: old.Bits | kb.Bits}
			}
		}
		if len(rest) != 1 {
			continue
		}
		b, ok := rest[0].(GBinary)
		if !ok || b.Op != "==" {
			continue
		}
		for _, side := range [][2]GExpr{{b.X, b.Y}, {b.Y, b.X}} {
			p, ok := side[0].(GPath)
			if !ok || !r.staticTerm(side[1]) {
				continue
			}
			key := p.Path.String()
			if _, fixed := r.FixedPaths[key]; fixed || seen[key] {
				break
			}
			seen[key] = true
			if k, lit := side[1].(GInt); lit {
				known[key] = KnownBits{Mask: ^uint64(0), Bits: uint64(k.Val)}
			}
			out = append(out, Pin{Path: key, Known: known})
			break
		}
	}
	return out
}

// falseTerm is what a guard term that is false says about a name or kernel field: x, x != 0
// and (x & m) != 0 false make x, or its bits m, zero.
func falseTerm(t GExpr) (string, KnownBits, bool) {
	var mask uint64 = ^uint64(0)
	if b, ok := t.(GBinary); ok && b.Op == "!=" {
		if k, ok := b.Y.(GInt); !ok || k.Val != 0 {
			return "", KnownBits{}, false
		}
		t = b.X
		if a, ok := t.(GBinary); ok && a.Op == "&" {
			k, ok := a.Y.(GInt)
			x := a.X
			if !ok {
				k, ok = a.X.(GInt)
				x = a.Y
			}
			if !ok {
				return "", KnownBits{}, false
			}
			mask, t = uint64(k.Val), x
		}
	}
	switch x := t.(type) {
	case GName:
		return x.Name, KnownBits{Mask: mask}, true
	case GPath:
		return x.Path.String(), KnownBits{Mask: mask}, true
	}
	return "", KnownBits{}, false
}

// disjuncts splits a guard at its top-level ||.
func disjuncts(e GExpr) []GExpr {
	if b, ok := e.(GBinary); ok && b.Op == "||" {
		return append(disjuncts(b.X), disjuncts(b.Y)...)
	}
	return []GExpr{e}
}

// staticTerm reports whether a guard expression is known at specialization time: static names,
// values and static kernel fields only.
func (r *Resolved) staticTerm(e GExpr) bool {
	switch e := e.(type) {
	case GName:
		return r.Values[e.Name] != nil || r.Roots[e.Name] != nil && r.Roots[e.Name].Class == Static
	case GPath:
		return r.Statics[e.Path.String()] != nil
	case GUnary:
		return r.staticTerm(e.X)
	case GBinary:
		return r.staticTerm(e.X) && r.staticTerm(e.Y)
	}
	return true
}

// isStaticGuard reports whether a guard expression names only static things.
func (r *Resolved) isStaticGuard(e GExpr) bool {
	if hasPath(e) {
		return false
	}
	for _, n := range Names(e) {
		if r.Values[n] == nil && (r.Roots[n] == nil || r.Roots[n].Class != Static) {
			return false
		}
	}
	return true
}

// ContextKeys lists every key a context must supply, sorted: static params and globals, static
// paths, values and value lookups.
func (r *Resolved) ContextKeys() []string {
	var keys []string
	for name, root := range r.Roots {
		if root.Kind != RootBound && root.Class == Static {
			keys = append(keys, name)
		}
	}
	for k := range r.Statics {
		keys = append(keys, k)
	}
	for k := range r.Values {
		keys = append(keys, k)
	}
	for _, lk := range r.Lookups {
		if !lk.Bound {
			keys = append(keys, lk.Name)
		}
	}
	sort.Strings(keys)
	return keys
}

// KeyType returns the C type a context key's value must fit (nil for a declared value, which
// takes any integer kind) and its declared range.
func (r *Resolved) KeyType(key string) (ir.Type, *Range) {
	if s := r.Statics[key]; s != nil {
		return s.Type, s.Range
	}
	if v := r.Values[key]; v != nil {
		return nil, v.Range
	}
	for _, lk := range r.Lookups {
		if !lk.Bound && lk.Name == key {
			return r.Prog.Func(lk.Func).Type.Result, lk.Range
		}
	}
	if root := r.Roots[key]; root != nil {
		return root.Type, nil
	}
	return nil, nil
}

func hasPath(e GExpr) bool {
	switch e := e.(type) {
	case GPath:
		return true
	case GUnary:
		return hasPath(e.X)
	case GBinary:
		return hasPath(e.X) || hasPath(e.Y)
	}
	return false
}
