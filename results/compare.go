package results

import (
	"fmt"
	"io"
	"math"
	"sort"
)

// Thresholds bound the relative difference compare tolerates, by figure
// kind: |b - a| / |a| (a the first run's value; 0 allows none).
type Thresholds map[Kind]float64

// DefaultThresholds: count-mode figures must match exactly; host-timed
// figures move with the host's load, so only a doubling is flagged.
func DefaultThresholds() Thresholds { return Thresholds{KindCount: 0, KindTime: 1.0} }

// Difference is one value that differs between two bundles.
type Difference struct {
	Figure string
	Key    string
	// A and B are the two runs' values; NaN where a run lacks the row.
	A, B float64
	// Relative is |B - A| / |A| (Inf when A is 0 or a row is missing).
	Relative float64
	// Over is true when Relative exceeds the figure kind's threshold.
	Over bool
}

// Comparison is the outcome of comparing two bundles.
type Comparison struct {
	// Compared counts the values present in both runs.
	Compared    int
	Differences []Difference
	// Notes say what could not be compared (a figure in one run only).
	Notes []string
}

// Failed reports whether a difference is past its threshold.
func (c *Comparison) Failed() bool {
	for _, d := range c.Differences {
		if d.Over {
			return true
		}
	}
	return false
}

// Compare compares our values of every figure the two bundles share.
func Compare(a, b *Bundle, th Thresholds) *Comparison {
	c := &Comparison{}
	for i := range a.Figures {
		fa := &a.Figures[i]
		fb := b.Figure(fa.ID)
		if fb == nil {
			c.Notes = append(c.Notes, fmt.Sprintf("figure %s is only in the first run", fa.ID))
			continue
		}
		limit := th[fa.Kind]
		va, vb := valuesByKey(fa), valuesByKey(fb)
		keys := make([]string, 0, len(va)+len(vb))
		for k := range va {
			keys = append(keys, k)
		}
		for k := range vb {
			if _, ok := va[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			x, okA := va[k]
			y, okB := vb[k]
			d := Difference{Figure: fa.ID, Key: k, A: math.NaN(), B: math.NaN(), Relative: math.Inf(1)}
			if okA {
				d.A = x
			}
			if okB {
				d.B = y
			}
			if okA && okB {
				c.Compared++
				if x == y {
					continue
				}
				if x != 0 {
					d.Relative = math.Abs(y-x) / math.Abs(x)
				}
			}
			d.Over = d.Relative > limit
			c.Differences = append(c.Differences, d)
		}
	}
	for i := range b.Figures {
		if a.Figure(b.Figures[i].ID) == nil {
			c.Notes = append(c.Notes, fmt.Sprintf("figure %s is only in the second run", b.Figures[i].ID))
		}
	}
	return c
}

func valuesByKey(f *Figure) map[string]float64 {
	out := map[string]float64{}
	for _, r := range f.Ours() {
		out[r.KeyString()] = r.Value
	}
	return out
}

// Print writes the comparison as a table, differences past their
// threshold marked.
func (c *Comparison) Print(w io.Writer) {
	fmt.Fprintf(w, "%d values compared, %d differ\n", c.Compared, len(c.Differences))
	if len(c.Differences) > 0 {
		fmt.Fprintf(w, "%-16s %-36s %14s %14s %9s\n", "figure", "key", "first", "second", "relative")
	}
	for _, d := range c.Differences {
		mark := ""
		if d.Over {
			mark = "  past threshold"
		}
		fmt.Fprintf(w, "%-16s %-36s %14.6g %14.6g %8.2f%%%s\n", d.Figure, d.Key, d.A, d.B, 100*d.Relative, mark)
	}
	for _, n := range c.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}
