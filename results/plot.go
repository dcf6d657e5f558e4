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
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
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
// appear; the paper's numbers are a series of their own, last. A paper
// row whose key leaves columns empty (the paper does not say, e.g. the
// size) is drawn beside ours in every group it matches; it gets a group
// of its own only where none does.
func layout(f *Figure) grouped {
	seriesCol := slices.Index(f.Columns, f.Series)
	var g grouped
	type cell struct{ s, g int }
	cells := map[cell]float64{}
	// groupKeys[i] are group i's key columns (seriesCol left empty).
	var groupKeys [][]string
	group := func(key []string) int {
		k := slices.Clone(key)
		if seriesCol >= 0 && seriesCol < len(k) {
			k[seriesCol] = ""
		}
		var parts []string
		for i, v := range k {
			if v != "" {
				parts = append(parts, columnLabel(f.Columns, i, v))
			}
		}
		name := strings.Join(parts, " ")
		if name == "" {
			name = "all"
		}
		gi := slices.Index(g.groups, name)
		if gi < 0 {
			gi = len(g.groups)
			g.groups = append(g.groups, name)
			groupKeys = append(groupKeys, k)
		}
		return gi
	}
	seriesIndex := func(name string) int {
		si := slices.Index(g.series, name)
		if si < 0 {
			si = len(g.series)
			g.series = append(g.series, name)
		}
		return si
	}
	// The first number of a cell is drawn (the paper's text gives two
	// readings of some claims; the table keeps both).
	set := func(c cell, v float64) {
		if _, dup := cells[c]; !dup {
			cells[c] = v
		}
	}
	for _, r := range f.Rows {
		if r.Paper() {
			continue
		}
		series := "ours"
		if seriesCol >= 0 && seriesCol < len(r.Key) {
			series = r.Key[seriesCol]
		}
		set(cell{seriesIndex(series), group(r.Key)}, r.Value)
	}
	ours := len(g.groups)
	for _, r := range f.Rows {
		if !r.Paper() {
			continue
		}
		si := seriesIndex(paperSeries)
		matched := false
		for gi, k := range groupKeys[:ours] {
			if keyMatches(r.Key, k, seriesCol) {
				set(cell{si, gi}, r.Value)
				matched = true
			}
		}
		if !matched {
			set(cell{si, group(r.Key)}, r.Value)
		}
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

// keyMatches tells whether a paper row's key matches a group's key: equal
// in every column the paper row fills, the series column aside.
func keyMatches(paperKey, groupKey []string, seriesCol int) bool {
	for i, v := range paperKey {
		if i == seriesCol || v == "" {
			continue
		}
		if i >= len(groupKey) || groupKey[i] != v {
			return false
		}
	}
	return true
}

// columnLabel is a key value as a group label shows it, with its unit:
// a *_bytes column's value in bytes, the MSS named.
func columnLabel(columns []string, i int, v string) string {
	if i >= len(columns) || !strings.HasSuffix(columns[i], "_bytes") {
		return v
	}
	if strings.HasPrefix(columns[i], "mss") {
		return "MSS " + v + " B"
	}
	return v + " B"
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
		if !f.Stacked && len(g.groups)*bars <= maxLabelledBars {
			labels, err := valueLabels(g, s, chart.Offset)
			if err != nil {
				return nil, fmt.Errorf("series %s: %w", name, err)
			}
			if labels != nil {
				p.Add(labels)
			}
		}
	}
	if f.Limit != nil {
		limit := plotter.NewFunction(func(float64) float64 { return f.Limit.Value })
		limit.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		limit.Width = vg.Points(1)
		p.Add(limit)
		p.Legend.Add(f.Limit.Label, limit)
	}
	p.Add(plotter.NewGrid())
	p.NominalX(g.groups...)
	if upright(g) {
		// Upright labels: many groups side by side stay readable.
		p.X.Tick.Label.Rotation = math.Pi / 2
		p.X.Tick.Label.XAlign = text.XRight
		p.X.Tick.Label.YAlign = text.YCenter
	}
	// Headroom above the tallest bar for the legend, which sits inside
	// the plot's top right corner.
	p.Y.Min = min(0, p.Y.Min)
	if f.Limit != nil {
		p.Y.Max = max(p.Y.Max, f.Limit.Value)
	}
	// Half a group of room at either end, so the outer bars show whole.
	p.X.Min, p.X.Max = -0.5, float64(len(g.groups))-0.5
	p.Y.Max *= 1 + 0.08*float64(len(g.series)+1)
	return p, nil
}

// maxLabelledBars is the most bars a figure writes its values above:
// with more, the numbers would run into each other.
const maxLabelledBars = 24

// valueLabels writes series s's values above its bars (offset from the
// group's centre): bars of very different heights stay readable.
func valueLabels(g grouped, s int, offset vg.Length) (*plotter.Labels, error) {
	var xy plotter.XYLabels
	for gi, v := range g.values[s] {
		if !g.set[s][gi] {
			continue
		}
		xy.XYs = append(xy.XYs, plotter.XY{X: float64(gi), Y: v})
		xy.Labels = append(xy.Labels, shortNumber(v))
	}
	if len(xy.XYs) == 0 {
		return nil, nil
	}
	l, err := plotter.NewLabels(xy)
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Size = vg.Points(7)
		l.TextStyle[i].XAlign = text.XCenter
		if xy.XYs[i].Y < 0 {
			l.TextStyle[i].YAlign = text.YTop
		}
	}
	l.Offset = vg.Point{X: offset, Y: vg.Points(1)}
	return l, nil
}

// shortNumber formats a bar's value with three or so significant digits.
func shortNumber(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
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

// labelCharWidth is about the width of one character of a group label
// (gonum's default 10-point tick font).
const labelCharWidth = 2 * vg.Millimeter

// Past manyGroups groups, or where the labels side by side would need a
// plot wider than maxWidth, the labels stand upright, each group
// uprightGroupWidth wide.
const (
	manyGroups        = 12
	maxWidth          = 12 * vg.Inch
	uprightGroupWidth = vg.Inch / 3
)

// upright tells whether g's labels stand upright.
func upright(g grouped) bool {
	return len(g.groups) > manyGroups || flatWidth(g) > maxWidth
}

// flatWidth is the width g's labels need side by side.
func flatWidth(g grouped) vg.Length {
	return vg.Length(len(g.groups)*(longest(g.groups)+2)) * labelCharWidth
}

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
	panels := splitPanels(f)
	var plots []*plot.Plot
	var width vg.Length
	height := plotHeight
	for i, pf := range panels {
		p, err := newPlot(pf)
		if err != nil {
			return nil, err
		}
		w, h := plotSize(layout(pf))
		if len(panels) > 1 {
			// One legend says what the colours are for every panel.
			if i > 0 {
				p.Legend = plot.NewLegend()
			}
			w = max(panelWidth, labelsWidth(layout(pf)))
		}
		plots = append(plots, p)
		width, height = width+w, max(height, h)
	}
	if len(panels) > 1 {
		height += titleHeight
	}
	var svg []byte
	for _, format := range []string{"png", "svg"} {
		data, err := render(f.Title, plots, width, height, format)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", format, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.ID+"."+format), data, 0o644); err != nil {
			return nil, err
		}
		if format == "svg" {
			svg = data
		}
	}
	return svg, nil
}

// plotSize is the size a plot of g needs: wider for many groups, so that
// their labels stay apart; upright labels take height instead.
func plotSize(g grouped) (vg.Length, vg.Length) {
	height := plotHeight
	if upright(g) {
		height += vg.Length(longest(g.groups)) * labelCharWidth
	}
	return max(plotWidth, labelsWidth(g)), height
}

// labelsWidth is the width g's group labels need, upright or side by side.
func labelsWidth(g grouped) vg.Length {
	if upright(g) {
		return vg.Length(len(g.groups)) * uprightGroupWidth
	}
	return flatWidth(g)
}

// titleHeight is the room above a figure's panels for its title;
// panelWidth the width of one panel unless its labels need more.
const (
	titleHeight = vg.Inch / 3
	panelWidth  = 5 * vg.Inch
)

// splitPanels is f as one figure per value of its Panels column, in the
// order the values first appear, each titled by its value and without
// the column in its group names; f itself when it has no panels. A row
// that leaves the column empty (a paper number for every platform) goes
// to every panel.
func splitPanels(f *Figure) []*Figure {
	col := slices.Index(f.Columns, f.Panels)
	if f.Panels == "" || col < 0 {
		return []*Figure{f}
	}
	var panels []*Figure
	index := map[string]int{}
	for _, r := range f.Rows {
		if name := r.Key[col]; name != "" {
			if _, ok := index[name]; !ok {
				sub := *f
				sub.Title, sub.Panels, sub.Rows = name, "", nil
				index[name] = len(panels)
				panels = append(panels, &sub)
			}
		}
	}
	for _, r := range f.Rows {
		key := slices.Clone(r.Key)
		key[col] = ""
		row := Row{Key: key, Value: r.Value, Source: r.Source}
		for i, pf := range panels {
			if r.Key[col] == "" || index[r.Key[col]] == i {
				pf.Rows = append(pf.Rows, row)
			}
		}
	}
	return panels
}

// render draws plots side by side, under title when there are several,
// as a width x height PNG or SVG.
func render(title string, plots []*plot.Plot, width, height vg.Length, format string) ([]byte, error) {
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(width, height)}
	case "svg":
		c = vgsvg.New(width, height)
	default:
		return nil, fmt.Errorf("no canvas for %q", format)
	}
	dc := draw.New(c)
	if len(plots) == 1 {
		plots[0].Draw(dc)
	} else {
		sty := plots[0].Title.TextStyle
		sty.XAlign, sty.YAlign = text.XCenter, text.YTop
		dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y}, title)
		tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadTop: titleHeight, PadX: vg.Millimeter * 4}
		for i, cv := range plot.Align([][]*plot.Plot{plots}, tiles, dc)[0] {
			plots[i].Draw(cv)
		}
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
