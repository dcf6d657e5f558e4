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
//     that may differ between two paths that can both come (its definition differs) becomes
//     dynamic; paths separated by static decisions never meet in the residual, so their values
//     stay static, and a path that left the static thread after another jumped away does not
//     come with it (paths.go);
//   - a call whose value the next statement tests (err = f(); if (err) ...) is analysed once
//     per group of the callee's return paths, as the specializer does it (split.go), so a
//     failure path the context leaves residual leaves through its test;
//   - bits of static integers that constants or the scenario fix are followed (known.go): a
//     condition they decide has one arm, as in the specializer;
//   - it is polyvariant by call site: each call is analysed in its own context (an Instance), as
//     the specializer inlines it; and by guard case: a guard that pins a kernel field in the
//     contexts where its static disjuncts are false (decl.Pin) gives a scenario where it does
//     and one where it does not (Scenarios), the specializer takes the instance tree of the
//     scenario its context is in.
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
	scenarios []Scenario
	// Nodes joins the binding times of every analysed expression and conditional over all
	// instances of every scenario.
	Nodes map[ir.Node]BT
	// Loops joins the classification of loops over all instances (S: static everywhere).
	Loops map[ir.Stmt]BT
	// Instances counts the analysed function instances, over all scenarios.
	Instances int
}

// Instance is one function analysed at one call path.
type Instance struct {
	Func  *ir.Func
	calls map[*ir.Call]*Instance
	loops map[ir.Stmt]bool // true: dynamic
	nodes map[ir.Node]BT
}

// Scenario is the analysis of the entry in one case of the pinning guards (decl.Resolved.Pins):
// the guards pin the fields in Pinned, and no other.
type Scenario struct {
	Pinned []string // canonical paths, in declaration order
	Root   *Instance
}

// maxPins bounds the pinning guards analysed case by case (2^maxPins scenarios); with more, the
// analysis assumes no pin, which is safe: a pin only makes more static.
const maxPins = 3

// Scenarios lists the analysed cases, the one without pins first.
func (r *Result) Scenarios() []Scenario { return r.scenarios }

// Entry implements spec.Oracle: the scenario with the fields the guards pinned in a context
// (fields that guards fix in every context are left out), or the one without pins.
func (r *Result) Entry(pinned []string) spec.Instance {
	for _, sc := range r.scenarios {
		if samePaths(sc.Pinned, pinned) {
			return sc.Root
		}
	}
	return r.scenarios[0].Root
}

func samePaths(x, y []string) bool {
	if len(x) != len(y) {
		return false
	}
	set := map[string]bool{}
	for _, p := range x {
		set[p] = true
	}
	for _, p := range y {
		if !set[p] {
			return false
		}
	}
	return true
}

// Walk visits the instance tree below in depth first, callees in source order, with the call
// path from in (in included).
func (in *Instance) Walk(visit func(path []*Instance)) {
	var walk func(path []*Instance)
	walk = func(path []*Instance) {
		visit(path)
		cur := path[len(path)-1]
		calls := make([]*ir.Call, 0, len(cur.calls))
		for c := range cur.calls {
			calls = append(calls, c)
		}
		sort.Slice(calls, func(i, j int) bool {
			a, b := calls[i].P, calls[j].P
			if a.File != b.File {
				return a.File < b.File
			}
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		for _, c := range calls {
			walk(append(path[:len(path):len(path)], cur.calls[c]))
		}
	}
	walk([]*Instance{in})
}

// VarBT joins the binding times of this instance's reads of local variables or parameters
// named name (0 when it has none).
func (in *Instance) VarBT(name string) BT { return varBT(in.Func, in.nodes, name) }

// FieldBT joins the binding times of this instance's reads of struct members named field.
func (in *Instance) FieldBT(field string) BT { return fieldBT(in.Func, in.nodes, field) }

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
	res = &Result{Nodes: map[ir.Node]BT{}, Loops: map[ir.Stmt]BT{}}
	defer func() {
		if p := recover(); p != nil {
			pe, ok := p.(*ir.PosError)
			if !ok {
				panic(p)
			}
			res, err = nil, fmt.Errorf("binding-time analysis: %w", pe)
		}
	}()
	pins := r.Pins
	if len(pins) > maxPins {
		pins = nil
	}
	// A lone guard "FIELD == literal" fixes every bit of the field in every scenario.
	noFacts := map[string]decl.KnownBits{}
	for path, ge := range r.FixedPaths {
		if k, ok := ge.(decl.GInt); ok {
			noFacts[path] = decl.KnownBits{Mask: ^uint64(0), Bits: uint64(k.Val)}
		}
	}
	declAssigns := map[*ir.Decl]ir.Stmt{}
	for mask := 0; mask < 1<<len(pins); mask++ {
		a := &analyzer{r: r, res: res, heap: map[string]*aobj{}, pinned: map[string]bool{}, facts: noFacts,
			subst: map[*ir.Call]aval{}, declAssigns: declAssigns, outlines: map[string]*Instance{}}
		var pinned []string
		for i, p := range pins {
			if mask&(1<<i) != 0 {
				a.pinned[p.Path] = true
				pinned = append(pinned, p.Path)
				a.facts = mergeFacts(a.facts, p.Known)
			}
		}
		res.scenarios = append(res.scenarios, Scenario{Pinned: pinned, Root: a.entry()})
	}
	return res, nil
}

// aval is an abstract value.
type aval struct {
	d     bool
	tok   int        // static: which definition the value comes from (0: undefined)
	pts   []target   // static pointer: possible targets
	fns   []*ir.Func // static function pointer: possible functions
	kmask uint64     // static integer: the bits of it that the program text (constants) or
	bits  uint64     // the scenario fixes, and their values (see known.go)
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
	path *choice // the static decisions the path took (paths.go)
	deps []int   // per residual nesting level, the earliest departure from its thread (paths.go)
}

func (s *astate) fork() *astate {
	n := &astate{objs: make(map[*aobj]*aobjState, len(s.objs)), path: s.path, deps: s.deps}
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
func (r *Result) VarBT(f *ir.Func, name string) BT { return varBT(f, r.Nodes, name) }

func varBT(f *ir.Func, nodes map[ir.Node]BT, name string) BT {
	var bt BT
	ir.Inspect(f.Body, func(n ir.Node) bool {
		if v, ok := n.(*ir.VarRef); ok && (v.Var.Name == name || strings.HasPrefix(v.Var.Name, name+"_")) {
			bt |= nodes[v]
		}
		return true
	})
	return bt
}

// FieldBT joins the binding times of the reads of struct members named field in f.
func (r *Result) FieldBT(f *ir.Func, field string) BT { return fieldBT(f, r.Nodes, field) }

func fieldBT(f *ir.Func, nodes map[ir.Node]BT, field string) BT {
	var bt BT
	ir.Inspect(f.Body, func(n ir.Node) bool {
		if m, ok := n.(*ir.Member); ok && m.Field.Name == field {
			bt |= nodes[m]
		}
		return true
	})
	return bt
}
