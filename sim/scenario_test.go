package sim

import (
	"testing"

	"specbed/results"
	"specbed/scenarios"
)

// TestScenarioMatchesRunner models a paper scenario and compares its sends
// figure with the emulator runner's bundle of the same file (another
// run than the calibration's: testdata/README.md).
func TestScenarioMatchesRunner(t *testing.T) {
	m := testModel(t)
	s, err := scenarios.Load("../scenarios/paper/udp-specialized-gain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	emu, err := results.Read("testdata/run-udp-specialized-gain-p3.json")
	if err != nil {
		t.Fatal(err)
	}
	figs, err := m.ScenarioFigures(s, []string{"p3"})
	if err != nil {
		t.Fatal(err)
	}
	want := emu.Figure("sends")
	if len(figs) != 1 || figs[0].ID != want.ID || figs[0].Unit != want.Unit || len(figs[0].Rows) != len(want.Rows) {
		t.Fatalf("sim figures %+v: want one %q figure in %q with %d rows", figs, want.ID, want.Unit, len(want.Rows))
	}
	for _, r := range figs[0].Rows {
		e := want.Value(r.Key...)
		if e == nil {
			t.Errorf("row %s: the runner has none", r.KeyString())
			continue
		}
		if c := (Check{Model: r.Value, Emulator: *e}); c.RelErr() > 0.10 {
			t.Errorf("row %s: sim %.0f runner %.0f instructions per send", r.KeyString(), r.Value, *e)
		}
	}
}

func TestScenarioFigures(t *testing.T) {
	m := testModel(t)
	for _, tc := range []struct {
		file string
		figs []string
	}{
		{"../scenarios/faults/slow-spec-link.yaml", []string{"sends", "sim-fetch", "sim-break-even"}},
		{"../scenarios/paper/udp-generic-overhead.yaml", []string{"sends"}},
	} {
		s, err := scenarios.Load(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		figs, err := m.ScenarioFigures(s, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		var ids []string
		for _, f := range figs {
			ids = append(ids, f.ID)
		}
		if len(ids) != len(tc.figs) {
			t.Errorf("%s: figures %v, want %v", tc.file, ids, tc.figs)
		}
		if err := (&results.Bundle{Figures: figs}).Write(t.TempDir()); err != nil {
			t.Errorf("%s: %v", tc.file, err)
		}
	}
}

func TestGuardFallbackMean(t *testing.T) {
	m := testModel(t)
	p, err := m.Platform("i486")
	if err != nil {
		t.Fatal(err)
	}
	special, _ := meanPerSend(p, scenarios.PathSpecialized, 1024, 1000, 0)
	half, _ := meanPerSend(p, scenarios.PathSpecialized, 1024, 1000, 500)
	generic, _ := meanPerSend(p, scenarios.PathGeneric, 1024, 1000, 0)
	if want := (special + generic) / 2; half < want-1e-6 || half > want+1e-6 {
		t.Errorf("guard at half the sends: mean %v, want %v", half, want)
	}
}
