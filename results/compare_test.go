package results

import (
	"bytes"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	count := func(rows ...Row) Figure {
		return Figure{ID: "c", Kind: KindCount, Columns: []string{"k"}, Rows: rows}
	}
	timed := func(rows ...Row) Figure {
		return Figure{ID: "t", Kind: KindTime, Columns: []string{"k"}, Rows: rows}
	}
	row := func(k string, v float64) Row { return Row{Key: []string{k}, Value: v} }
	paperRow := func(k string, v float64) Row { return Row{Key: []string{k}, Value: v, Source: "paper"} }
	for _, tc := range []struct {
		name     string
		a, b     []Figure
		diffs    int
		failed   bool
		notes    int
		compared int
	}{
		{"identical", []Figure{count(row("x", 1), row("y", 2))}, []Figure{count(row("x", 1), row("y", 2))}, 0, false, 0, 2},
		{"count differs", []Figure{count(row("x", 1000))}, []Figure{count(row("x", 1001))}, 1, true, 0, 1},
		{"time within threshold", []Figure{timed(row("x", 100))}, []Figure{timed(row("x", 180))}, 1, false, 0, 1},
		{"time past threshold", []Figure{timed(row("x", 100))}, []Figure{timed(row("x", 250))}, 1, true, 0, 1},
		{"row missing", []Figure{count(row("x", 1), row("y", 2))}, []Figure{count(row("x", 1))}, 1, true, 0, 1},
		{"paper rows ignored", []Figure{count(row("x", 1), paperRow("p", 5))}, []Figure{count(row("x", 1))}, 0, false, 0, 1},
		{"figure in one run", []Figure{count(row("x", 1)), timed(row("x", 1))}, []Figure{count(row("x", 1))}, 0, false, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(&Bundle{Figures: tc.a}, &Bundle{Figures: tc.b}, DefaultThresholds())
			if len(c.Differences) != tc.diffs || c.Failed() != tc.failed || len(c.Notes) != tc.notes || c.Compared != tc.compared {
				t.Errorf("comparison %+v: want %d differences, failed %t, %d notes, %d compared", c, tc.diffs, tc.failed, tc.notes, tc.compared)
			}
			var out bytes.Buffer
			c.Print(&out)
			if tc.failed != strings.Contains(out.String(), "past threshold") {
				t.Errorf("printed:\n%s", out.String())
			}
		})
	}
}
