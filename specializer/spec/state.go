package spec

import (
	"sort"

	"specbed/specializer/ir"
)

// slot is what the specializer knows about one scalar leaf of a local object: a static value,
// or mem (the value lives in the residual variable).
type slot struct {
	v    value
	mem  bool
	fact fact // for mem: what is known about the value in memory
}

// objState is the knowledge about one local object. Once escaped (its address reached residual
// code) every leaf lives in memory for good.
type objState struct {
	slots   []slot
	escaped bool
	owner   *state // copy-on-write: only the owner may modify
}

// state is the static store at a program point: the local objects alive there, and what the
// guards told about kernel fields (heap, by declaration path) that the code has not changed
// beyond knowing since. Objects are kept sorted by creation order: forks copy one small slice.
type state struct {
	objs      []entry
	objsOwned bool // the objs slice is this state's (else shared with a fork: copy first)
	heap      map[string]slot
	heapOwned bool
}

// entry is one live object and what is known of it.
type entry struct {
	o  *object
	os *objState
}

func newState() *state {
	return &state{objsOwned: true, heap: map[string]slot{}, heapOwned: true}
}

// fork returns a copy sharing everything until either side writes.
func (s *state) fork() *state {
	s.objsOwned, s.heapOwned = false, false
	return &state{objs: s.objs, heap: s.heap}
}

// own gives s its own objs slice before it changes which objects it holds or their states.
func (s *state) own() {
	if s.objsOwned {
		return
	}
	s.objs = append(make([]entry, 0, len(s.objs)+4), s.objs...)
	s.objsOwned = true
}

// find returns the index of o in s.objs, or where it would go.
func (s *state) find(o *object) (int, bool) {
	i := sort.Search(len(s.objs), func(i int) bool { return s.objs[i].o.seq >= o.seq })
	return i, i < len(s.objs) && s.objs[i].o == o
}

// set makes os what is known of o.
func (s *state) set(o *object, os *objState) {
	s.own()
	i, ok := s.find(o)
	if ok {
		s.objs[i].os = os
		return
	}
	s.objs = append(s.objs, entry{})
	copy(s.objs[i+1:], s.objs[i:])
	s.objs[i] = entry{o, os}
}

// drop makes an object dead in s.
func (s *state) drop(o *object) {
	if i, ok := s.find(o); ok {
		s.own()
		s.objs = append(s.objs[:i], s.objs[i+1:]...)
	}
}

// setHeap records what is known about a guarded kernel field.
func (s *state) setHeap(path string, sl slot) {
	if !s.heapOwned {
		h := make(map[string]slot, len(s.heap))
		for k, v := range s.heap {
			h[k] = v
		}
		s.heap, s.heapOwned = h, true
	}
	s.heap[path] = sl
}

// get returns o's state for reading (nil: o is not alive).
func (s *state) get(o *object) *objState {
	if i, ok := s.find(o); ok {
		return s.objs[i].os
	}
	return nil
}

// mut returns o's state for writing.
func (s *state) mut(o *object) *objState {
	os := s.get(o)
	if os == nil {
		return nil
	}
	if os.owner != s {
		c := &objState{slots: append([]slot(nil), os.slots...), escaped: os.escaped, owner: s}
		s.set(o, c)
		os = c
	}
	return os
}

// add makes a new local object alive with every leaf undefined (or in memory).
func (s *state) add(o *object, inMem bool) *objState {
	os := &objState{slots: make([]slot, len(o.lay.leaves)), owner: s}
	for i := range os.slots {
		os.slots[i] = slot{v: value{k: vUndef, t: o.lay.leaves[i].Type}, mem: inMem}
	}
	s.set(o, os)
	return os
}

// sortedObjs lists the objects of s in creation order (for deterministic output).
func (s *state) sortedObjs() []*object {
	out := make([]*object, len(s.objs))
	for i, e := range s.objs {
		out[i] = e.o
	}
	return out
}

// edge is one path into a merge point: its state and a placeholder block in the residual, at
// the end of that path, where the merge may put the assignments that move static values into
// memory (lifting). residual marks a path that arrives by a residual jump.
type edge struct {
	st       *state
	fix      *ir.Block
	residual bool
	jmp      *ir.Goto  // the goto of a residual jump (nil for break or fall-through)
	slot     *ir.Block // a static jump's slot for a goto (see pendingJump)
}

// merge joins the states of edges. Leaves with the same static value on every edge stay static;
// the others are lifted: each edge stores its static value into memory in its placeholder.
// Objects alive on only some edges are dropped (they are out of scope at the join).
func (sp *specializer) merge(edges []edge, at ir.Pos) (*state, error) {
	if len(edges) == 1 {
		return edges[0].st, nil
	}
	r := newState()
	first := edges[0].st
	// Objects whose state is the very same on every edge need no work (the common case: a
	// branch leaves most objects alone).
	var objs []*object
	for _, fe := range first.objs {
		o, fs := fe.o, fe.os
		shared, all := true, true
		for _, e := range edges[1:] {
			os := e.st.get(o)
			if os == nil {
				all = false
				break
			}
			shared = shared && os == fs
		}
		switch {
		case !all:
		case shared:
			r.objs = append(r.objs, entry{o, fs})
		default:
			objs = append(objs, o)
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].seq < objs[j].seq })
	// Decide which objects escape and which leaves go to memory, to a fixpoint: lifting a static
	// pointer to a local makes that local escape on every edge.
	escaped := map[*object]bool{}
	lift := map[*object][]bool{}
	for _, o := range objs {
		lift[o] = make([]bool, len(o.lay.leaves))
		for _, e := range edges {
			if e.st.get(o).escaped {
				escaped[o] = true
			}
		}
	}
	escape := func(t *object) {
		if escaped[t] {
			return
		}
		if _, ok := lift[t]; !ok {
			shared := r.get(t)
			if shared == nil || shared.escaped {
				return
			}
			// A shared object must now be materialized on every edge.
			r.drop(t)
			objs = append(objs, t)
			lift[t] = make([]bool, len(t.lay.leaves))
		}
		escaped[t] = true
	}
	for changed := true; changed; {
		changed = false
		for _, o := range objs {
			for i := range o.lay.leaves {
				if lift[o][i] {
					continue
				}
				need := escaped[o]
				ref := edges[0].st.get(o).slots[i]
				for _, e := range edges[1:] {
					sl := e.st.get(o).slots[i]
					if sl.mem != ref.mem || !sl.mem && !same(sl.v, ref.v) || sl.mem && sl.fact != ref.fact {
						need = true
						break
					}
				}
				if !need {
					continue
				}
				lift[o][i] = true
				changed = true
				for _, e := range edges {
					sl := e.st.get(o).slots[i]
					if !sl.mem && sl.v.k == vPtr && sl.v.obj != nil && sl.v.obj.kind == objLocal {
						escape(sl.v.obj)
					}
				}
			}
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].seq < objs[j].seq })
	// Guarded kernel fields: memory always holds their value, so differing knowledge is just
	// forgotten (no stores).
	for path, sl := range first.heap {
		for _, e := range edges[1:] {
			other, ok := e.st.heap[path]
			if !ok || other.mem || sl.mem || !same(other.v, sl.v) {
				sl = slot{mem: true}
			}
		}
		r.heap[path] = sl
	}
	for _, e := range edges {
		saved := sp.out
		sp.out = &e.fix.Stmts
		for _, o := range objs {
			os := e.st.get(o)
			for i, sl := range os.slots {
				if !lift[o][i] || sl.mem {
					continue
				}
				if err := sp.store(o, i, sl.v, at); err != nil {
					sp.out = saved
					return nil, err
				}
			}
		}
		sp.out = saved
	}
	for _, o := range objs {
		os := &objState{slots: append([]slot(nil), first.get(o).slots...), escaped: escaped[o], owner: r}
		for i := range os.slots {
			if !lift[o][i] && !os.slots[i].mem {
				continue
			}
			f := negative
			for _, e := range edges {
				f = meet(f, slotFact(e.st.get(o).slots[i]))
			}
			if escaped[o] {
				f = noFact
			}
			os.slots[i] = slot{v: value{k: vUndef, t: o.lay.leaves[i].Type}, mem: true, fact: f}
		}
		r.set(o, os)
	}
	return r, nil
}

// store emits the residual assignment of a static value to leaf i of local o (nothing for an
// undefined value: memory stays as undefined as the value).
func (sp *specializer) store(o *object, i int, v value, at ir.Pos) error {
	if v.k == vUndef {
		return nil
	}
	lf := o.lay.leaves[i]
	lhs, err := o.lvalue(sp, lf.Off, lf.Type, at)
	if err != nil {
		return err
	}
	rhs, err := sp.lift(v, lf.Type, at)
	if err != nil {
		return err
	}
	sp.emit(&ir.ExprStmt{S: ir.S{P: at}, X: &ir.Assign{E: ir.E{T: lf.Type, P: at}, L: lhs, R: rhs}})
	return nil
}
