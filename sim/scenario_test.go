package sim

import (
	"slices"
	"testing"

	"specbed/results"
	"specbed/scenarios"
)

// TestScenarioMatchesRunner models scenarios and compares their sends
// figure with the emulator runner's bundles of the same files (other runs
// than the calibration's, testdata/README.md): every row the runner
// measured within 10%.
func TestScenarioMatchesRunner(t *testing.T) {
	m := testModel(t)
	for _, tc := range []struct {
		file, bundle, platform string
	}{
		{"../scenarios/paper/udp-specialized-gain.yaml", "testdata/run-udp-specialized-gain-p3.json", "p3"},
		{"../scenarios/faults/data-link-loss.yaml", "testdata/run-data-link-loss-i486.json", "i486"},
		// A 56 kbit/s data link, held out from calibration's 1 Gbit/s:
		// the sender's cost does not follow the link (vnet's queue drops).
		{"../scenarios/faults/slow-data-link.yaml", "testdata/run-slow-data-link-i486.json", "i486"},
	} {
		s, err := scenarios.Load(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		emu, err := results.Read(tc.bundle)
		if err != nil {
			t.Fatal(err)
		}
		figs, err := m.ScenarioFigures(s, []string{tc.platform})
		if err != nil {
			t.Fatal(err)
		}
		want := emu.Figure("sends")
		if figs[0].ID != want.ID || figs[0].Unit != want.Unit {
			t.Fatalf("%s: sim figure %s in %q, want %s in %q", s.Name, figs[0].ID, figs[0].Unit, want.ID, want.Unit)
		}
		for _, r := range want.Ours() {
			v := figs[0].Value(r.Key...)
			if v == nil {
				t.Errorf("%s: row %s: the sim has none", s.Name, r.KeyString())
				continue
			}
			c := Check{Model: *v, Emulator: r.Value}
			if c.RelErr() > 0.10 {
				t.Errorf("%s: row %s: sim %.0f runner %.0f %s", s.Name, r.KeyString(), *v, r.Value, want.Unit)
			}
			t.Logf("%s %s: sim %.0f runner %.0f %s (%.2f%%)", s.Name, r.KeyString(), *v, r.Value, want.Unit, 100*c.RelErr())
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

// TestLegs reads the library's guard and fault scenarios into the paths
// their timed sends take.
func TestLegs(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []leg
	}{
		{"../scenarios/paper/udp-specialized-gain.yaml", []leg{{1000, scenarios.PathSpecialized}}},
		{"../scenarios/guards/route-change-fallback.yaml", nil},
		{"../scenarios/guards/route-change-reinforce.yaml", nil},
		{"../scenarios/guards/route-change-respecialize.yaml", []leg{{20, scenarios.PathSpecialized}, {20, scenarios.PathGeneric}, {20, scenarios.PathSpecialized}}},
		{"../scenarios/faults/server-down.yaml", []leg{{1000, scenarios.PathGeneric}}},
	} {
		s, err := scenarios.Load(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		want := tc.want
		if want == nil {
			// Fallback: the rest after the route change goes generic;
			// reinforce: the residual keeps sending.
			at, n := s.Timeline[0].AfterPackets, s.Workload.Count
			want = []leg{{at, scenarios.PathSpecialized}, {n - at, scenarios.PathGeneric}}
			if s.Specialization.GuardPolicy == scenarios.PolicyReinforce {
				want = []leg{{n, scenarios.PathSpecialized}}
			}
		}
		if got := legs(s); !slices.Equal(got, want) {
			t.Errorf("%s: legs %v, want %v", tc.file, got, want)
		}
	}
}

func TestMeanPerSend(t *testing.T) {
	m := testModel(t)
	p, err := m.Platform("i486")
	if err != nil {
		t.Fatal(err)
	}
	special, _ := meanPerSend(p, "", []leg{{1000, scenarios.PathSpecialized}}, 1024)
	half, _ := meanPerSend(p, "", []leg{{500, scenarios.PathSpecialized}, {500, scenarios.PathGeneric}}, 1024)
	generic, _ := meanPerSend(p, "", []leg{{1000, scenarios.PathGeneric}}, 1024)
	if want := (special + generic) / 2; half < want-1e-6 || half > want+1e-6 {
		t.Errorf("half the sends generic: mean %v, want %v", half, want)
	}
}
