package repro

import (
	"math"
	"testing"
)

// TestConfidence: netperf's rule stops at the first iteration count from
// Min on whose interval is narrow enough, and reports a miss at Max.
func TestConfidence(t *testing.T) {
	rule := Confidence{Level: 0.99, Width: 0.10, Min: 3, Max: 6}
	for _, tc := range []struct {
		name  string
		xs    []float64
		n     int
		met   bool
		width float64 // expected width, 0: not checked
	}{
		// Identical rounds (count mode): a zero-width interval at Min.
		{"identical", []float64{100, 100, 100, 100, 100, 100}, 3, true, 0},
		// sd 0.5 over 3: 2 x 9.925 x 0.5 / sqrt(3) / 100.
		{"narrow at three", []float64{99.5, 100, 100.5, 150, 50, 100}, 3, true, 2 * 9.925 * 0.5 / math.Sqrt(3) / 100},
		// 26% wide at three, 11% at four, 6.8% at five.
		{"narrow at five", []float64{100, 104, 100, 102, 101, 50}, 5, true, 0},
		{"never narrow", []float64{50, 150, 50, 150, 50, 150}, 6, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, mean, width, met := rule.apply(tc.xs)
			if n != tc.n || met != tc.met {
				t.Errorf("n %d met %t (mean %g, width %g), want n %d met %t", n, met, mean, width, tc.n, tc.met)
			}
			if tc.width != 0 && math.Abs(width-tc.width) > 1e-9 {
				t.Errorf("width %g, want %g", width, tc.width)
			}
		})
	}
}
