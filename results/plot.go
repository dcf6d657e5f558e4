package results

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// paperSeries is the legend entry of the paper's numbers.
const paperSeries = "paper (Linux 2.4.20)"

// grouped is a figure laid out as a grouped bar chart: one group per
// distinct key without the series column, one bar per series.
type grouped struct {
	groups []string
	series []string
	// values[s][g] is series s in group g; set[s][g] whether it exists.
	values [][]float64
	set    [][]bool
}

// layout groups a figure's rows. Our series come in the order they first
// appear; the paper's numbers are a series of their own, last.
func layout(f *Figure) grouped {
	seriesCol := slices.Index(f.Columns, f.Series)
	var g grouped
	type cell struct{ s, g int }
	cells := map[cell]float64{}
	for _, r := range f.Rows {
		series := "ours"
		var group []string
		for i, k := range r.Key {
			switch {
			case i == seriesCol && !r.Paper():
				series = k
			case i != seriesCol && k != "":
				group = append(group, k)
			}
		}
		if r.Paper() {
			series = paperSeries
		}
		name := strings.Join(group, " ")
		if name == "" {
			name = "all"
		}
		gi := slices.Index(g.groups, name)
		if gi < 0 {
			gi = len(g.groups)
			g.groups = append(g.groups, name)
		}
		si := slices.Index(g.series, series)
		if si < 0 {
			si = len(g.series)
			g.series = append(g.series, series)
		}
		// The first number of a cell is drawn (the paper's text gives
		// two readings of some claims; the table keeps both).
		if _, dup := cells[cell{si, gi}]; !dup {
			cells[cell{si, gi}] = r.Value
		}
	}
	// The paper's series last, whatever order the rows came in.
	if i := slices.Index(g.series, paperSeries); i >= 0 && i != len(g.series)-1 {
		moved := map[cell]float64{}
		order := append(slices.Delete(slices.Clone(g.series), i, i+1), paperSeries)
		for c, v := range cells {
			moved[cell{slices.Index(order, g.series[c.s]), c.g}] = v
		}
		g.series, cells = order, moved
	}
	g.values = make([][]float64, len(g.series))
	g.set = make([][]bool, len(g.series))
	for s := range g.series {
		g.values[s] = make([]float64, len(g.groups))
		g.set[s] = make([]bool, len(g.groups))
	}
	for c, v := range cells {
		g.values[c.s][c.g], g.set[c.s][c.g] = v, true
	}
	return g
}

// newPlot draws the figure as grouped bars, ours beside the paper's.
func newPlot(f *Figure) (*plot.Plot, error) {
	g := layout(f)
	p := plot.New()
	p.Title.Text = f.Title
	p.Y.Label.Text = f.Unit
	p.Legend.Top = true
	bars := len(g.series)
	if f.Stacked {
		bars = 1
	}
	width := vg.Points(min(20, 240/float64(max(1, len(g.groups)*bars))))
	if f.Stacked {
		width = vg.Points(min(60, 360/float64(max(1, len(g.groups)))))
	}
	var below *plotter.BarChart
	for s, name := range g.series {
		chart, err := plotter.NewBarChart(plotter.Values(g.values[s]), width)
		if err != nil {
			return nil, fmt.Errorf("series %s: %w", name, err)
		}
		chart.Color = palette[s%len(palette)]
		chart.LineStyle.Width = 0
		if f.Stacked {
			if below != nil {
				chart.StackOn(below)
			}
			below = chart
		} else {
			chart.Offset = width * vg.Length(float64(s)-float64(len(g.series)-1)/2)
		}
		p.Add(chart)
		p.Legend.Add(name, chart)
	}
	p.Add(plotter.NewGrid())
	p.NominalX(g.groups...)
	if len(g.groups) > manyGroups {
		// Upright labels: many groups side by side stay readable.
		p.X.Tick.Label.Rotation = math.Pi / 2
		p.X.Tick.Label.XAlign = text.XRight
		p.X.Tick.Label.YAlign = text.YCenter
	}
	// Headroom above the tallest bar for the legend, which sits inside
	// the plot's top right corner.
	p.Y.Min = min(0, p.Y.Min)
	// Half a group of room at either end, so the outer bars show whole.
	p.X.Min, p.X.Max = -0.5, float64(len(g.groups))-0.5
	p.Y.Max *= 1 + 0.08*float64(len(g.series)+1)
	return p, nil
}

// palette holds ten colours told apart easily (Tableau 10).
var palette = []color.Color{
	color.RGBA{0x4e, 0x79, 0xa7, 0xff}, color.RGBA{0xf2, 0x8e, 0x2b, 0xff}, color.RGBA{0xe1, 0x57, 0x59, 0xff},
	color.RGBA{0x76, 0xb7, 0xb2, 0xff}, color.RGBA{0x59, 0xa1, 0x4f, 0xff}, color.RGBA{0xed, 0xc9, 0x48, 0xff},
	color.RGBA{0xb0, 0x7a, 0xa1, 0xff}, color.RGBA{0xff, 0x9d, 0xa7, 0xff}, color.RGBA{0x9c, 0x75, 0x5f, 0xff},
	color.RGBA{0xba, 0xb0, 0xac, 0xff},
}

// Plot size: wide enough for a dozen labelled groups.
const (
	plotWidth  = 8 * vg.Inch
	plotHeight = 4 * vg.Inch
)

// labelCharWidth is about the width of one character of a group label.
const labelCharWidth = 6.5 * vg.Millimeter / 2

// Past manyGroups groups the labels stand upright, each group
// uprightGroupWidth wide.
const (
	manyGroups        = 12
	uprightGroupWidth = vg.Inch / 3
)

// longest is the length of the longest name (characters).
func longest(names []string) int {
	n := 0
	for _, s := range names {
		n = max(n, len(s))
	}
	return n
}

// writePlots writes ID.png and ID.svg and returns the SVG.
func writePlots(dir string, f *Figure) ([]byte, error) {
	p, err := newPlot(f)
	if err != nil {
		return nil, err
	}
	g := layout(f)
	var svg []byte
	for _, format := range []string{"png", "svg"} {
		// Wider for many groups, so that their labels stay apart;
		// upright labels take height instead.
		width := max(plotWidth, vg.Length(len(g.groups)*(longest(g.groups)+2))*labelCharWidth)
		height := plotHeight
		if len(g.groups) > manyGroups {
			width = max(plotWidth, vg.Length(len(g.groups))*uprightGroupWidth)
			height += vg.Length(longest(g.groups)) * labelCharWidth
		}
		w, err := p.WriterTo(width, height, format)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", format, err)
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("%s: %w", format, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.ID+"."+format), buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		if format == "svg" {
			svg = buf.Bytes()
		}
	}
	return svg, nil
}
