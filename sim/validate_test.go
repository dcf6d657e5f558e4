package sim

import (
	"testing"

	"specbed/results"
)

// testBundle is a real `specbed reproduce` bundle (testdata/README.md).
const testBundle = "testdata/bundle.json"

// TestHeldOut calibrates on 64 and 1024 bytes and checks every other size
// of the bundle, every platform and path, within 10% of the emulator.
func TestHeldOut(t *testing.T) {
	m, err := Calibrate(testBundle, DefaultFitSizes())
	if err != nil {
		t.Fatal(err)
	}
	b, err := results.Read(testBundle)
	if err != nil {
		t.Fatal(err)
	}
	checks, err := Validate(m, b)
	if err != nil {
		t.Fatal(err)
	}
	platforms := map[string]map[string]int{}
	for _, c := range checks {
		if platforms[c.Platform] == nil {
			platforms[c.Platform] = map[string]int{}
		}
		platforms[c.Platform][c.Quantity]++
		if c.RelErr() > 0.10 {
			t.Errorf("held out: %v", c)
		}
	}
	for _, p := range b.Platforms {
		for _, q := range []string{"instructions per send", "Mbit/s (virtual time)"} {
			if platforms[p.Name][q] == 0 {
				t.Errorf("platform %s: no held-out point of %s", p.Name, q)
			}
		}
	}
	if len(checks) > 0 {
		t.Logf("%d held-out points, worst %v", len(checks), checks[0])
	}
}

func TestCalibrateNamesSource(t *testing.T) {
	m, err := Calibrate(testBundle, DefaultFitSizes())
	if err != nil {
		t.Fatal(err)
	}
	if m.Source.Commit == "" || len(m.Source.SHA256) != 64 {
		t.Errorf("source %+v: want the run's commit and the file's SHA-256", m.Source)
	}
	for _, p := range m.Platforms {
		if p.Spec == nil {
			t.Errorf("platform %s: no specialization cost", p.Name)
			continue
		}
		if p.Spec.ColdSeconds <= p.Spec.CachedSeconds || p.Spec.CalibrationLink.RateBps <= 0 {
			t.Errorf("platform %s: spec cost %+v: want cold > cached and a link rate", p.Name, *p.Spec)
		}
	}
}

func TestCalibrateNeedsTwoSizes(t *testing.T) {
	if _, err := Calibrate(testBundle, []int{64}); err == nil {
		t.Error("one fit size: want an error")
	}
}
