package results

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// Figure 1's IDs: the kernel's most called functions while the guest
// serves a web load, and its most loaded (instructions per byte).
const (
	FigProfile     = "fig1-profile"
	FigProfileLoad = "fig1-profile-load"
)

// ProfileTop is how many functions figure 1 lists per platform (the
// paper's table lists 19).
const ProfileTop = 20

// Classes of figure 1's series: memory management marked apart.
const (
	classMemory = "memory management"
	classOther  = "other"
)

// FunctionProfile is one kernel (or agent) function's share of the
// serving window of figure 1.
type FunctionProfile struct {
	Platform string
	Function string
	// Layer is the function's layer of figure 4(a) (qemu/plugin/attrib).
	Layer string
	// Entries are executions of its first instruction (its calls);
	// Instructions those executed in it (guest instructions); SizeBytes
	// its code from its symbol to the next (bytes).
	Entries, Instructions, SizeBytes uint64
}

// InstructionsPerByte is our analog of readprofile's load.
func (f FunctionProfile) InstructionsPerByte() float64 {
	if f.SizeBytes == 0 {
		return 0
	}
	return float64(f.Instructions) / float64(f.SizeBytes)
}

// memoryManagement matches the functions that allocate or free memory:
// sk_buffs, slab objects, pages. Figure 4(a)'s memory layer also holds
// data copies and checksums and sk_buff edits (skb_push), which manage
// no memory; the paper's figure 1 names allocators and their frees.
var memoryManagement = regexp.MustCompile(`alloc|free|slab|kmalloc|kmem_cache|mempool|page|skb_release|kfree_skb|consume_skb|skbmem`)

// isMemoryManagement tells whether f allocates or frees memory.
func isMemoryManagement(f FunctionProfile) bool {
	return f.Layer == "memory" && memoryManagement.MatchString(f.Function)
}

func profileClass(f FunctionProfile) string {
	if isMemoryManagement(f) {
		return classMemory
	}
	return classOther
}

// topProfile returns the top n of one platform's functions by value,
// highest first (ties by name).
func topProfile(funcs []FunctionProfile, n int, value func(FunctionProfile) float64) []FunctionProfile {
	sorted := append([]FunctionProfile(nil), funcs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if vi, vj := value(sorted[i]), value(sorted[j]); vi != vj {
			return vi > vj
		}
		return sorted[i].Function < sorted[j].Function
	})
	return sorted[:min(n, len(sorted))]
}

func entries(f FunctionProfile) float64 { return float64(f.Entries) }

// byPlatform splits funcs by platform, in first-seen order.
func byPlatform(funcs []FunctionProfile) (names []string, split map[string][]FunctionProfile) {
	split = map[string][]FunctionProfile{}
	for _, f := range funcs {
		if _, ok := split[f.Platform]; !ok {
			names = append(names, f.Platform)
		}
		split[f.Platform] = append(split[f.Platform], f)
	}
	return names, split
}

// ProfileFigures are figure 1 as two figures: the ProfileTop functions
// by entries (calls) and by instructions per byte (load), a panel per
// platform, memory management a series of its own. caption says how the
// load was made.
func ProfileFigures(funcs []FunctionProfile, caption string) []Figure {
	calls := Figure{
		ID: FigProfile, PaperFigure: "1", Title: "Kernel functions called most while serving 100 concurrent connections",
		Caption: caption + " Entries: executions of a function's first instruction (its calls; a jump back to its " +
			"start would count too), the paper's 'No. of calls'. Memory management (allocators and frees of sk_buffs, " +
			"slab objects, pages) is a series of its own.",
		Unit: "entries (calls) in the window", Kind: KindTime,
		Columns: []string{"platform", "function", "class"}, Series: "class", Panels: "platform",
	}
	load := Figure{
		ID: FigProfileLoad, PaperFigure: "1", Title: "Kernel functions with the highest load while serving 100 concurrent connections",
		Caption: caption + " Load: instructions executed in the function per byte of its code (from its symbol to the " +
			"next, as readprofile sizes functions from System.map); readprofile's 'average load' is clock ticks per " +
			"byte, a sampled time, where ours counts instructions. Memory management is a series of its own.",
		Unit: "instructions per byte of the function", Kind: KindTime,
		Columns: []string{"platform", "function", "class"}, Series: "class", Panels: "platform",
	}
	names, split := byPlatform(funcs)
	for _, name := range names {
		for _, f := range topProfile(split[name], ProfileTop, entries) {
			calls.Rows = append(calls.Rows, Row{Key: []string{name, f.Function, profileClass(f)}, Value: float64(f.Entries)})
		}
		for _, f := range topProfile(split[name], ProfileTop, FunctionProfile.InstructionsPerByte) {
			load.Rows = append(load.Rows, Row{Key: []string{name, f.Function, profileClass(f)}, Value: f.InstructionsPerByte()})
		}
	}
	return []Figure{calls, load}
}

// whyProfile is figure 1's claim row's reason.
const whyProfile = "The paper profiled an in-kernel web server on Linux 2.4 with readprofile (sampled clock ticks); ours " +
	"is the agent's small HTTP/1.0 server in user space, one connection at a time with the others queued in the " +
	"kernel, on Linux 6.1 under QEMU, counted exactly by the TCG plugin of figure 4(a) (entries of each function's " +
	"first instruction, instructions per byte of its code). 6.1 splits what 2.4 did in few functions (alloc_skb is " +
	"__alloc_skb, kmem_cache_alloc_node, kmalloc_reserve, ...), so more allocator functions reach the top; the " +
	"emulated NICs and clocks add their own (the i486's NE2000 delays with port I/O and reads the PIT for every " +
	"random number, it has no TSC)."

// profileClaim counts the memory-management functions among the top
// ProfileTop by calls on each platform of figure 1.
func profileClaim(b *Bundle) (float64, string) {
	calls, load := b.Figure(FigProfile), b.Figure(FigProfileLoad)
	if calls == nil || load == nil || len(calls.Ours()) == 0 {
		return math.NaN(), "not measured (no figure " + FigProfile + " in this run)"
	}
	var parts []string
	first := math.NaN()
	for _, name := range figurePlatforms(calls) {
		c, cBest := memoryRank(calls, name)
		l, lBest := memoryRank(load, name)
		if math.IsNaN(first) {
			first = float64(c)
		}
		parts = append(parts, fmt.Sprintf("%s: %d of the top %d by calls are memory management (the first at #%d), "+
			"%d of the top %d by load (the first at #%d)", name, c, ProfileTop, cBest, l, ProfileTop, lBest))
	}
	return first, strings.Join(parts, "; ")
}

// figurePlatforms is the platforms of a figure 1 figure, in row order.
func figurePlatforms(f *Figure) []string {
	var names []string
	for _, r := range f.Ours() {
		if len(names) == 0 || names[len(names)-1] != r.Key[0] {
			names = append(names, r.Key[0])
		}
	}
	return names
}

// memoryRank is how many of a platform's rows are memory management and
// the rank (from 1) of the first; 0 for none.
func memoryRank(f *Figure, platform string) (count, first int) {
	rank := 0
	for _, r := range f.Ours() {
		if r.Key[0] != platform {
			continue
		}
		rank++
		if r.Key[2] == classMemory {
			count++
			if first == 0 {
				first = rank
			}
		}
	}
	return count, first
}
