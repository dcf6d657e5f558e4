package sim

import (
	"fmt"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// gainGrid is one platform's gain (%) over log10 link rate (columns) and
// log10 session length (rows), at the grid's base CPU speed and size.
type gainGrid struct {
	rates, sends []float64
	gain         [][]float64 // [row][column], % throughput gain
}

func (g *gainGrid) Dims() (c, r int)   { return len(g.rates), len(g.sends) }
func (g *gainGrid) Z(c, r int) float64 { return g.gain[r][c] }
func (g *gainGrid) X(c int) float64    { return math.Log10(g.rates[c]) }
func (g *gainGrid) Y(r int) float64    { return math.Log10(g.sends[r]) }

// WriteHeatmaps draws each platform's throughput-gain surface as a heat map
// (PNG and SVG, sim-gain-heatmap-PLATFORM) into dir and returns the files'
// stems.
func (s *Sweep) WriteHeatmaps(dir string) ([]string, error) {
	b := s.Grid.Base
	var stems []string
	for _, platform := range s.Grid.Platforms {
		g := &gainGrid{gain: make([][]float64, len(s.Grid.SessionSends))}
		for _, r := range s.Grid.LinkRatesBps {
			g.rates = append(g.rates, r)
		}
		row := map[int]int{}
		for i, n := range s.Grid.SessionSends {
			g.sends = append(g.sends, float64(n))
			g.gain[i] = make([]float64, len(g.rates))
			row[n] = i
		}
		col := map[float64]int{}
		for i, r := range g.rates {
			col[r] = i
		}
		for _, p := range s.Points {
			if p.Platform == platform && p.CPUScale == b.CPUScale && p.SizeBytes == b.SizeBytes {
				g.gain[row[p.SessionSends]][col[p.LinkRateBps]] = 100 * (p.Gain - 1)
			}
		}
		pal := moreland.SmoothBlueRed()
		lo, hi := gainRange(g)
		pal.SetMin(lo)
		pal.SetMax(hi)
		h := plotter.NewHeatMap(g, pal.Palette(64))
		h.Min, h.Max = lo, hi
		pl := plot.New()
		pl.Title.Text = fmt.Sprintf("%s: %% throughput gain, %d-byte sends, CPU x%g (blue: loss, red: gain, %.0f%% to %.0f%%)", platform, b.SizeBytes, b.CPUScale, lo, hi)
		pl.X.Label.Text = "log10 link rate (bit/s)"
		pl.Y.Label.Text = "log10 session length (sends)"
		pl.Add(h)
		stem := "sim-gain-heatmap-" + platform
		for _, ext := range []string{".png", ".svg"} {
			if err := pl.Save(16*vg.Centimeter, 12*vg.Centimeter, filepath.Join(dir, stem+ext)); err != nil {
				return nil, fmt.Errorf("sim: heat map %s: %w", stem, err)
			}
		}
		stems = append(stems, stem)
	}
	return stems, nil
}

// gainRange is a range symmetric around 0, so white is break-even.
func gainRange(g *gainGrid) (lo, hi float64) {
	m := 1.0
	for _, row := range g.gain {
		for _, v := range row {
			m = math.Max(m, math.Abs(v))
		}
	}
	return -m, m
}
