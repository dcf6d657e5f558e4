package results

import (
	"fmt"
	"strings"
	"testing"
)

// TestProfileFigures ranks a synthetic profile: the top functions by
// calls and by load per platform, memory management marked, and the
// claim row counting it.
func TestProfileFigures(t *testing.T) {
	var funcs []FunctionProfile
	// 30 functions: f00..f29 with falling entries; every third an
	// allocator in the memory layer; a copy in the memory layer that is
	// no memory management.
	for i := range 30 {
		f := FunctionProfile{Platform: "i486", Function: fmt.Sprintf("f%02d", i), Layer: "tcp",
			Entries: uint64(1000 - 10*i), Instructions: uint64(100 * (i + 1)), SizeBytes: 100}
		if i%3 == 1 {
			f.Function, f.Layer = fmt.Sprintf("kmem_cache_alloc_%02d", i), "memory"
		}
		funcs = append(funcs, f)
	}
	funcs = append(funcs, FunctionProfile{Platform: "i486", Function: "memcpy", Layer: "memory", Entries: 5000, Instructions: 10, SizeBytes: 10})
	figs := ProfileFigures(funcs, "test.")
	if len(figs) != 2 || figs[0].ID != FigProfile || figs[1].ID != FigProfileLoad {
		t.Fatalf("figures %v", figs)
	}
	calls, load := figs[0], figs[1]
	for _, f := range figs {
		if err := f.check(); err != nil {
			t.Errorf("%s: %v", f.ID, err)
		}
		if len(f.Rows) != ProfileTop {
			t.Errorf("%s: %d rows, want %d", f.ID, len(f.Rows), ProfileTop)
		}
	}
	for i, want := range []struct {
		function, class string
		value           float64
	}{{"memcpy", classOther, 5000}, {"f00", classOther, 1000}, {"kmem_cache_alloc_01", classMemory, 990}} {
		r := calls.Rows[i]
		if r.Key[1] != want.function || r.Key[2] != want.class || r.Value != want.value {
			t.Errorf("calls row %d = %v %v, want %s %s %v", i, r.Key, r.Value, want.function, want.class, want.value)
		}
	}
	// Load: instructions per byte, highest first: f29 (3000/100 = 30).
	if r := load.Rows[0]; r.Key[1] != "f29" || r.Value != 30 {
		t.Errorf("load row 0 = %v %v, want f29 30", r.Key, r.Value)
	}
	b := &Bundle{Figures: figs}
	v, text := profileClaim(b)
	// Of the top 20 by calls (memcpy, f00..f18), the allocators are
	// 1, 4, ..., 16 (6 of them), the first at #3.
	if v != 6 || !strings.Contains(text, "6 of the top 20 by calls are memory management (the first at #3)") {
		t.Errorf("claim = %v %q", v, text)
	}
	if v, _ := profileClaim(&Bundle{}); v == v {
		t.Errorf("claim without the figure = %v, want NaN", v)
	}
}
