// Package spec specializes the generic program for a context: it evaluates what the context
// makes static (constant propagation and folding through locals, struct fields, pointers and
// calls), decides static conditionals, unrolls loops the binding-time analysis classifies as
// static (bounded), inlines calls (so every call site is specialized for its own static
// arguments: polyvariance by call site), folds declared SHIM_PURE lookups, and emits the
// residual entry in IR: dynamic code only, guards first, shim calls in their original order.
//
// Values are tracked online (a value is static when it is known), so the residual never branches
// on a known value. Loops follow the binding-time analysis (package bta): a loop it classifies
// as dynamic stays a loop, which bounds the specializer's work. Where paths merge, leaves whose
// static values differ are lifted into memory on each incoming path; a dynamic loop's head is
// found by iterating to a fixpoint.
package spec

import (
	"errors"
	"fmt"

	"specbed/specializer/ctxschema"
	"specbed/specializer/decl"
	"specbed/specializer/ir"
)

// Oracle is what the specializer needs from the binding-time analysis: an analysis instance per
// inlined call (the analysis is polyvariant by call site) and the classification of loops.
type Oracle interface {
	// Entry is the instance of the entry function in a context where the guards pinned the
	// kernel fields pinned (canonical paths, see decl.Resolved.Pins).
	Entry(pinned []string) Instance
}

// Instance is the analysis of one function at one call path.
type Instance interface {
	// Callee is the instance of the function called at c (nil if the analysis never reached it).
	Callee(c *ir.Call, f *ir.Func) Instance
	// StaticLoop reports whether a loop statement's trip count is static.
	StaticLoop(loop ir.Stmt) bool
}

// Stats counts what specialization did. Counts are per specialized instance: a branch inside a
// function inlined twice counts twice.
type Stats struct {
	BranchesRemoved int // conditionals (if, ?:, &&, ||, switch) decided at specialization time
	BranchesKept    int // conditionals left in the residual
	LoopsUnrolled   int // static loops unrolled
	Iterations      int // iterations they had in total
	LoopsKept       int // dynamic loops left in the residual
	CallsInlined    int // generic calls inlined
	LookupsFolded   int // SHIM_PURE calls folded into constants or instance values
	ShimCalls       int // shim calls left in the residual
	LoopRetries     int // re-specializations of residual loop bodies while finding their heads
	Splits          int // calls whose continuation was specialized per outcome (split.go)
	CallsOutlined   int // calls of outlined functions' residual copies (outline.go)
}

// Residual is the specialized entry.
type Residual struct {
	Func *ir.Func // the residual entry (its Name is set; Params: inst, then dynamic params)
	// Outlined are the residual copies of outlined functions the entry calls (outline.go),
	// each after those it calls.
	Outlined []*ir.Func
	Inst     *ir.Var // the instance parameter, or nil
	Decl     *decl.Resolved
	Ctx      *ctxschema.Context
	Stats    Stats
	// Lines are the generic source lines (file:line) residual code came from.
	Lines map[ir.Pos]bool
	// Decided maps generic conditionals decided statically at least once to their outcome
	// (true, false or both across instances).
	Decided map[ir.Node]Outcome
	// Observed maps generic expressions to whether their value was static (WentTrue), dynamic
	// (WentFalse) or both, over every time this specialization evaluated them: the binding times
	// this context actually had.
	Observed map[ir.Node]Outcome
	// Pinned lists the kernel fields the guards pinned in this context (decl.Resolved.Pins): the
	// binding-time scenario the specialization followed.
	Pinned []string
}

// Outcome records which ways a static conditional went.
type Outcome uint8

const (
	WentTrue  Outcome = 1 << iota // the then-branch (or a taken loop) was specialized
	WentFalse                     // the else-branch was
)

// Limits bound the work of one specialization.
type Limits struct {
	Unroll int // iterations per static loop
	Depth  int // inlining depth
	Stmts  int // residual statements
}

// DefaultLimits are used when a Limits field is zero.
var DefaultLimits = Limits{Unroll: decl.DefaultUnroll, Depth: 64, Stmts: 200000}

// Specialize specializes r's entry for ctx (already checked against r).
func Specialize(r *decl.Resolved, ctx *ctxschema.Context, oracle Oracle, name string, lim Limits) (*Residual, error) {
	if lim.Unroll == 0 {
		lim.Unroll = r.File.Unroll
	}
	if lim.Depth == 0 {
		lim.Depth = DefaultLimits.Depth
	}
	if lim.Stmts == 0 {
		lim.Stmts = DefaultLimits.Stmts
	}
	sp := &specializer{r: r, ctx: ctx, lim: lim, heap: map[string]*object{}, names: map[string]int{},
		lookups: map[string][]value{}, rvObj: map[*ir.Var]*object{}, layouts: map[ir.Type]*layout{}, subst: map[*ir.Call]value{}, declAssigns: map[*ir.Decl]ir.Stmt{}, writes: map[*ir.Func]map[*ir.Var]bool{}, outlines: map[string]*outlined{}, res: &Residual{Decl: r, Ctx: ctx, Lines: map[ir.Pos]bool{}, Decided: map[ir.Node]Outcome{}, Observed: map[ir.Node]Outcome{}}}
	for _, f := range r.Prog.Funcs {
		sp.names[f.Name] = 1
	}
	for _, g := range r.Prog.Globals {
		sp.names[g.Name] = 1
	}
	if err := sp.entry(oracle, name); err != nil {
		return nil, err
	}
	return sp.res, nil
}

// specializer holds one specialization's state. The current path is st (nil when the path has
// ended in a jump) and residual statements go to out.
type specializer struct {
	r   *decl.Resolved
	ctx *ctxschema.Context
	lim Limits
	res *Residual

	st      *state
	out     *[]ir.Stmt
	depth   int           // residual nesting: enclosing residual ifs, loops and switches
	frames  []*frame      // inlined calls, innermost last
	breaks  []*target     // residual loops and switches, innermost last (for plain break)
	pending []pendingJump // static jumps whose targets have not landed yet
	seq     int
	nstmt   int

	heap      map[string]*object
	names     map[string]int
	lookups   map[string][]value // folded lookups: the static arguments of the first call
	inst      *ir.Var
	instObj   *object             // what inst points to
	rvObj     map[*ir.Var]*object // residual variables of objects
	decisions []decision
	observed  []decision // expressions evaluated: static (WentTrue) or dynamic (WentFalse)
	layouts   map[ir.Type]*layout
	// split (split.go): results of calls specialized per group of return paths, and the
	// assignments declarations amount to.
	subst       map[*ir.Call]value
	declAssigns map[*ir.Decl]ir.Stmt
	writes      map[*ir.Func]map[*ir.Var]bool // parameters each function writes
	outlines    map[string]*outlined          // residual copies of outlined functions, by outlineKey
}

// frame is one inlined call.
type frame struct {
	fn     *ir.Func
	inst   Instance
	vars   map[*ir.Var]*object
	ret    *target
	retObj *object // holds the return value while paths merge (nil: the entry, which returns)
	labels map[string]*target
	loops  []*loopTargets
	scope  []*object // objects declared in the enclosing blocks, innermost last
	objs   []*object // every local object of this call (dropped when it returns)
	at     ir.Pos
	// outlined: the bottom frame of an outlined function's body (outline.go), which returns for
	// real and may not write kernel memory.
	outlined bool
}

type loopTargets struct{ brk, cont *target }

// target is a merge point that jumps reach: a label, a loop's exit or continue point, or the end
// of an inlined function.
type target struct {
	depth   int
	edges   []edge
	label   string // residual label, allocated at the first residual jump
	hint    string // label name stem
	resLoop bool   // the exit of a residual loop or switch: plain break works from directly inside
}

// errLimit reports a specialization that would be too large.
var errLimit = errors.New("specialization too large")

func (sp *specializer) emit(s ir.Stmt) {
	if sp.out == nil {
		return
	}
	*sp.out = append(*sp.out, s)
	sp.nstmt++
}

func (sp *specializer) fr() *frame { return sp.frames[len(sp.frames)-1] }

// uniq returns a fresh residual name based on base.
func (sp *specializer) uniq(base string) string {
	n := sp.names[base]
	sp.names[base] = n + 1
	if n == 0 {
		return base
	}
	return fmt.Sprintf("%s_%d", base, n+1)
}

// residualVar returns (making it on first use) the residual variable of a local object.
func (sp *specializer) residualVar(o *object) *ir.Var {
	if o.rv == nil {
		o.rv = &ir.Var{Name: sp.uniq(o.name), Type: o.t, Kind: ir.Local}
		sp.rvObj[o.rv] = o
	}
	return o.rv
}

// newLocal makes a local object (not yet alive in any state).
func (sp *specializer) newLocal(name string, t ir.Type) *object {
	sp.seq++
	return &object{kind: objLocal, t: t, name: name, lay: sp.layoutOf(t), seq: sp.seq}
}

// layoutOf returns the cached leaf layout of a type.
func (sp *specializer) layoutOf(t ir.Type) *layout {
	if l := sp.layouts[t]; l != nil {
		return l
	}
	l := newLayout(t)
	sp.layouts[t] = l
	return l
}

func (sp *specializer) decide(n ir.Node, taken bool) {
	sp.res.Stats.BranchesRemoved++
	o := WentFalse
	if taken {
		o = WentTrue
	}
	sp.decisions = append(sp.decisions, decision{n, o})
}

// decision is one static conditional decided (a log, so abandoned attempts can be undone).
type decision struct {
	n ir.Node
	o Outcome
}
