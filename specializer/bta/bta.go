// Package bta is the binding-time analysis: given the declarations (which inputs are static) but
// not their values, it classifies every expression of the generic program as static (computable
// at specialization time) or dynamic (residual), and every loop as static (unrollable: its trip
// count depends on static data only) or dynamic.
//
// It is an abstract interpretation of the IR that follows the specializer's semantics:
//   - locals are tracked leaf by leaf (struct fields, array elements merged per array), kernel
//     memory reached from bound pointers by the declared paths;
//   - pointers are static when their target is known (a local, a bound object, a static path),
//     so a static pointer may point to dynamic data;
//   - a local whose address reaches residual code becomes dynamic;
//   - control dependence: where paths that a dynamic decision separated merge again, a value
//     that may differ between them (its definition differs) becomes dynamic; paths separated by
//     static decisions never meet in the residual, so their values stay static;
//   - it is polyvariant by call site: each call is analysed in its own context (an Instance), as
//     the specializer inlines it, and instances are memoized by their binding-time signature
//     within one analysis.
package bta

import (
	"fmt"
	"sort"
	"strings"

	"specbed/specializer/decl"
	"specbed/specializer/ir"
	"specbed/specializer/spec"
)

// BT is a binding time.
type BT uint8

const (
	S    BT      = 1 << iota // static
	D                        // dynamic
	Both = S | D             // static in some instances, dynamic in others
)

func (b BT) String() string {
	switch b {
	case S:
		return "S"
	case D:
		return "D"
	case Both:
		return "S/D"
	}
	return "-"
}

// Result is the analysis of one declaration file.
type Result struct {
	root *Instance
	// Nodes joins the binding times of every analysed expression and conditional over all
	// instances.
	Nodes map[ir.Node]BT
	// Loops joins the classification of loops over all instances (S: static everywhere).
	Loops map[ir.Stmt]BT
	// Instances counts the analysed function instances.
	Instances int
}

// Instance is one function analysed at one call path.
type Instance struct {
	Func  *ir.Func
	calls map[*ir.Call]*Instance
	loops map[ir.Stmt]bool // true: dynamic
	nodes map[ir.Node]BT
}

// Entry implements spec.Oracle.
func (r *Result) Entry() spec.Instance { return r.root }

// Callee implements spec.Instance.
func (in *Instance) Callee(c *ir.Call, f *ir.Func) spec.Instance {
	if ci := in.calls[c]; ci != nil && ci.Func == f {
		return ci
	}
	return nil
}

// StaticLoop implements spec.Instance.
func (in *Instance) StaticLoop(s ir.Stmt) bool { return !in.loops[s] }

// Analyze runs the analysis for a resolved declaration file.
func Analyze(r *decl.Resolved) (res *Result, err error) {
	a := &analyzer{r: r, res: &Result{Nodes: map[ir.Node]BT{}, Loops: map[ir.Stmt]BT{}}, heap: map[string]*aobj{}}
	defer func() {
		if p := recover(); p != nil {
			pe, ok := p.(*ir.PosError)
			if !ok {
				panic(p)
			}
			res, err = nil, fmt.Errorf("binding-time analysis: %w", pe)
		}
	}()
	a.entry()
	return a.res, nil
}

// aval is an abstract value.
type aval struct {
	d   bool
	tok int        // static: which definition the value comes from (0: undefined)
	pts []target   // static pointer: possible targets
	fns []*ir.Func // static function pointer: possible functions
}

// target is a possible target of a static pointer: an object and the (array-collapsed) path of
// the sub-object inside it.
type target struct {
	obj  *aobj
	path []ir.Step // Index -1 stands for every element
	t    ir.Type
}

var dynamic = aval{d: true}

// aobj is an abstract object: a local of one instance, or kernel memory named by a path.
type aobj struct {
	name  string
	t     ir.Type
	local bool
	heap  string // heap: canonical path of the pointer to it, or of the global variable
	isVar bool   // heap: a global variable itself
	seq   int
}

// aobjState holds a local object's leaves (by collapsed path) and whether it escaped.
type aobjState struct {
	cells   map[string]aval
	escaped bool
	owner   *astate
}

type astate struct {
	objs map[*aobj]*aobjState
}

func (s *astate) fork() *astate {
	n := &astate{objs: make(map[*aobj]*aobjState, len(s.objs))}
	for o, os := range s.objs {
		n.objs[o] = os
	}
	return n
}

func (s *astate) mut(o *aobj) *aobjState {
	os := s.objs[o]
	if os == nil {
		os = &aobjState{cells: map[string]aval{}, owner: s}
		s.objs[o] = os
		return os
	}
	if os.owner != s {
		c := &aobjState{cells: make(map[string]aval, len(os.cells)), escaped: os.escaped, owner: s}
		for k, v := range os.cells {
			c.cells[k] = v
		}
		s.objs[o] = c
		os = c
	}
	return os
}

// pathKey spells a collapsed path.
func pathKey(steps []ir.Step) string {
	var b strings.Builder
	for _, s := range steps {
		if s.Field != nil {
			b.WriteString("." + s.Field.Name)
		} else {
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// collapse turns every index into "every element".
func collapse(steps []ir.Step) []ir.Step {
	out := make([]ir.Step, len(steps))
	for i, s := range steps {
		if s.Field == nil {
			s.Index = -1
		}
		out[i] = s
	}
	return out
}

func sortedObjs(m map[*aobj]*aobjState) []*aobj {
	out := make([]*aobj, 0, len(m))
	for o := range m {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// VarBT joins the binding times of the reads of local variables or parameters named name in f
// (0 when f never reads one).
func (r *Result) VarBT(f *ir.Func, name string) BT {
	var bt BT
	ir.Inspect(f.Body, func(n ir.Node) bool {
		if v, ok := n.(*ir.VarRef); ok && (v.Var.Name == name || strings.HasPrefix(v.Var.Name, name+"_")) {
			bt |= r.Nodes[v]
		}
		return true
	})
	return bt
}

// FieldBT joins the binding times of the reads of struct members named field in f.
func (r *Result) FieldBT(f *ir.Func, field string) BT {
	var bt BT
	ir.Inspect(f.Body, func(n ir.Node) bool {
		if m, ok := n.(*ir.Member); ok && m.Field.Name == field {
			bt |= r.Nodes[m]
		}
		return true
	})
	return bt
}
