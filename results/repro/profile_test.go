package repro

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"specbed/images/guesttest"
	"specbed/results"
)

// TestProfileFigure makes figure 1 on the i486 (one network-mode boot
// under the plugin; reproduce profiles the p3 too) and writes it as a
// bundle: both figures with ProfileTop functions, their CSV and plots,
// and a claim row with our counts.
func TestProfileFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the i486 in network mode under the TCG plugin; skipped only in short mode")
	}
	g := guesttest.Lookup(t, guesttest.Builder(t), "i486")
	e := &Platform{B: g.B, P: g.P, K: g.K}
	funcs, err := e.MeasureProfile(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	figs := results.ProfileFigures(funcs, ProfileCaption())
	bundle := &results.Bundle{Figures: figs}
	dir := t.TempDir()
	if err := bundle.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		if len(f.Rows) != results.ProfileTop {
			t.Errorf("%s: %d rows, want %d", f.ID, len(f.Rows), results.ProfileTop)
		}
		for _, ext := range []string{".csv", ".png", ".svg"} {
			if _, err := os.Stat(filepath.Join(dir, f.ID+ext)); err != nil {
				t.Error(err)
			}
		}
		for i, r := range f.Rows {
			t.Logf("%s #%d %s %s %.1f", f.ID, i+1, r.Key[1], r.Key[2], r.Value)
		}
	}
	rows, err := results.Claims(bundle)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ID == "fig1-profile" {
			t.Logf("claim: %s", r.Ours)
			if !strings.Contains(r.Ours, "i486: ") {
				t.Errorf("claim row %q has no i486 counts", r.Ours)
			}
		}
	}
}
