package bta

import "specbed/specializer/ir"

// Static paths. Two paths that a static decision separated never both reach a merge point in
// one specialization: the specializer follows one arm. A merge where some path came by a
// residual jump makes a value dynamic only if two paths that can both come (no static decision
// separates them) bring different definitions of it; so a failure path left in the residual by
// one arm does not make dynamic what another arm computed. Each state carries the static
// decisions its path took.
//
// A decision is one evaluation of a conditional: its node, instance, and the copy of the code
// (split.go analyses a continuation once per group of return paths; the groups are chosen by
// residual decisions, so decisions in different copies never separate paths). Jumps out of a
// static loop forget the decisions taken inside it: different iterations take them differently.

// choice is a static decision a path took, in a persistent list (the newest first).
type choice struct {
	key  choiceKey
	arm  int
	next *choice
}

type choiceKey struct {
	n    ir.Node
	in   *Instance
	tok  int
	copy int
}

// choose records that the current path took arm of the static conditional n. A decision on a
// value with a token (tok > 0, arm its truth) is keyed by the token: decisions on the same
// value go the same way wherever they are.
func (a *analyzer) choose(n ir.Node, tok, arm int) {
	k := choiceKey{n: n, in: a.fr().in, copy: a.copy}
	if tok > 0 {
		k = choiceKey{tok: tok, copy: a.copy}
	}
	a.st.path = &choice{key: k, arm: arm, next: a.st.path}
}

// commonPath is the part of the edges' paths that they all share.
func commonPath(edges []aedge) *choice {
	p := edges[0].st.path
	for _, e := range edges[1:] {
		on := map[*choice]bool{}
		for c := e.st.path; c != nil; c = c.next {
			on[c] = true
		}
		for p != nil && !on[p] {
			p = p.next
		}
	}
	return p
}

// exclusive tells, for a merge, whether two of its edges never come in the same
// specialization: both static jumps of the thread (the specializer follows one static path),
// one departed after the other jumped, or separated by a static decision.
type exclusive struct {
	edges []aedge
	level int // the merge point's residual nesting level
	arms  []map[choiceKey]int
}

func (x *exclusive) of(i, j int) bool {
	ei, ej := x.edges[i], x.edges[j]
	di, dj := depAt(ei.st, x.level), depAt(ej.st, x.level)
	if !ei.residual && !ej.residual && di == 0 && dj == 0 {
		return true
	}
	if di == 0 && !ei.residual && ei.at != noTime && dj > ei.at || dj == 0 && !ej.residual && ej.at != noTime && di > ej.at {
		return true // one left the thread after the other jumped
	}
	if x.arms == nil {
		x.arms = make([]map[choiceKey]int, len(x.edges))
	}
	if x.arms[i] == nil {
		x.arms[i] = map[choiceKey]int{}
		for c := ei.st.path; c != nil; c = c.next {
			x.arms[i][c.key] = c.arm
		}
	}
	for c := ej.st.path; c != nil; c = c.next {
		if arm, ok := x.arms[i][c.key]; ok && arm != c.arm {
			return true
		}
	}
	return false
}

// Departures. At each residual nesting level the specializer follows one static thread of
// control; a path leaves it at a dynamic decision (its departure from that level) and comes
// back where the decision's arms meet again. A static jump X of the thread to a merge point and
// a path Y that left the thread after X jumped never both come: the thread that left X's point
// is dead where X was taken. So an edge whose path departed (from the target's level) after a
// static edge jumped is exclusive with it. A state records, per level, the earliest departure
// of the paths it stands for (0: all on the thread); jumps record their time. Jumps out of a
// static loop have no useful time: iterations repeat.

// noTime marks edges the departure rule does not apply to.
const noTime = int(^uint(0) >> 1)

// depart records a dynamic decision at level: the paths into its arms leave the thread now.
func (a *analyzer) depart(st *astate, level int) {
	st.deps = withDep(st.deps, level, a.clock)
}

func withDep(deps []int, level, t int) []int {
	if level < len(deps) && deps[level] != 0 {
		return deps // left it earlier
	}
	n := make([]int, max(len(deps), level+1))
	copy(n, deps)
	n[level] = t
	return n
}

// depAt is a state's earliest departure from level (0: none).
func depAt(st *astate, level int) int {
	if level < len(st.deps) {
		return st.deps[level]
	}
	return 0
}

// minDeps joins the departures of merged states up to level (all levels: -1).
func minDeps(edges []aedge, level int) []int {
	var out []int
	for _, e := range edges {
		for l, d := range e.st.deps {
			if d == 0 || level >= 0 && l > level {
				continue
			}
			if l >= len(out) {
				out = append(out, make([]int, l+1-len(out))...)
			}
			if out[l] == 0 || d < out[l] {
				out[l] = d
			}
		}
	}
	return out
}
