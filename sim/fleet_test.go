package sim

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"specbed/results"
)

func testModel(t *testing.T) *Model {
	t.Helper()
	m, err := Calibrate(testBundle, DefaultFitSizes())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func baseConfig(platform string) Config {
	return Config{Platform: platform, CPUScale: 1, Link: Link{RateBps: 10e6, DelaySeconds: 0.002},
		SizeBytes: 1024, Sends: 100000, Devices: 1, ArrivalSeconds: 1, Workers: 1, Contexts: 1, Seed: 1}
}

func TestFleet(t *testing.T) {
	m := testModel(t)
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		check func(t *testing.T, r *Result)
	}{
		{"one device misses the cache", func(c *Config) {}, func(t *testing.T, r *Result) {
			if r.CacheHitRate != 0 || r.Events != 4 {
				t.Errorf("hit rate %v, %d events: want 0 and 4", r.CacheHitRate, r.Events)
			}
		}},
		{"a fleet of one context hits the cache", func(c *Config) { c.Devices, c.ArrivalSeconds = 1000, 3600 }, func(t *testing.T, r *Result) {
			if r.CacheHitRate < 0.99 {
				t.Errorf("hit rate %v: want all but the first", r.CacheHitRate)
			}
		}},
		{"one context per device never hits", func(c *Config) { c.Devices, c.Contexts, c.ArrivalSeconds = 1000, 0, 3600 }, func(t *testing.T, r *Result) {
			if r.CacheHitRate != 0 {
				t.Errorf("hit rate %v: want 0", r.CacheHitRate)
			}
		}},
		{"a burst of one key builds once", func(c *Config) { c.Devices, c.Workers, c.ArrivalSeconds = 50, 4, 0.001 }, func(t *testing.T, r *Result) {
			if r.CacheHitRate != 49.0/50 || r.MaxFetchSeconds > 2*r.FetchSeconds {
				t.Errorf("hit rate %v, fetch mean %v max %v: want one build the others wait for", r.CacheHitRate, r.FetchSeconds, r.MaxFetchSeconds)
			}
		}},
		{"a burst queues at one worker", func(c *Config) { c.Devices, c.Contexts, c.ArrivalSeconds = 100, 100, 0.001 }, func(t *testing.T, r *Result) {
			if r.Utilisation < 0.95 || r.MaxFetchSeconds < 50*r.FetchSeconds/100 {
				t.Errorf("utilisation %v, fetch mean %v max %v: want a saturated server", r.Utilisation, r.FetchSeconds, r.MaxFetchSeconds)
			}
		}},
		{"a short session does not break even", func(c *Config) { c.Sends = 10 }, func(t *testing.T, r *Result) {
			if r.Gain >= 1 || float64(r.Config.Sends) >= r.BreakEvenSends {
				t.Errorf("gain %v break-even %v: want a loss below break-even", r.Gain, r.BreakEvenSends)
			}
		}},
		{"a guard sends the rest through the generic path", func(c *Config) { c.GuardAt = 1000 }, func(t *testing.T, r *Result) {
			if r.Gain >= 1 {
				t.Errorf("gain %v: the generic path is slower than sendto(), want < 1", r.Gain)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range []string{"i486", "p3", "sa1100"} {
				c := baseConfig(p)
				tc.edit(&c)
				r, err := m.Run(c)
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, r)
			}
		})
	}
}

// TestBreakEvenIsBreakEven: a session at the break-even length gains
// nothing, twice as long gains.
func TestBreakEvenIsBreakEven(t *testing.T) {
	m := testModel(t)
	for _, p := range []string{"i486", "p3", "sa1100"} {
		c := baseConfig(p)
		r, err := m.Run(c)
		if err != nil {
			t.Fatal(err)
		}
		c.Sends = int(math.Ceil(r.BreakEvenSends))
		at, err := m.Run(c)
		if err != nil {
			t.Fatal(err)
		}
		c.Sends *= 2
		twice, err := m.Run(c)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(at.Gain-1) > 0.01 || twice.Gain <= 1 {
			t.Errorf("%s: break-even %v sends: gain there %v (want 1), at twice %v (want > 1)", p, r.BreakEvenSends, at.Gain, twice.Gain)
		}
	}
}

func TestRunRepeats(t *testing.T) {
	m := testModel(t)
	c := baseConfig("sa1100")
	c.Devices, c.Contexts, c.ArrivalSeconds, c.Link.Loss = 500, 20, 60, 0.01
	a, err := m.Run(c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Run(c)
	if err != nil {
		t.Fatal(err)
	}
	if *a != *b {
		t.Errorf("same seed, different results:\n%+v\n%+v", a, b)
	}
}

func TestSweepFigures(t *testing.T) {
	m := testModel(t)
	g := DefaultGrid()
	g.FleetSizes = []int{1, 1000}
	s, err := m.Sweep(g)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * 10 * 5 * 5 * 14; len(s.Points) != want {
		t.Errorf("%d points, want %d", len(s.Points), want)
	}
	b := &results.Bundle{Figures: s.Figures()}
	dir := t.TempDir()
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	if stems, err := s.WriteHeatmaps(dir); err != nil || len(stems) != len(g.Platforms) {
		t.Errorf("heat maps %v: %v", stems, err)
	}
	for _, f := range b.Figures {
		if len(f.Rows) == 0 {
			t.Errorf("figure %s: no rows", f.ID)
		}
	}
}

// BenchmarkSweep is the default grid: 10,500 single-device points and
// fleets of up to 100,000 devices on three platforms.
func BenchmarkSweep(b *testing.B) {
	m, err := Calibrate(testBundle, DefaultFitSizes())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := m.Sweep(DefaultGrid()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSweepPoints is the default grid's 10,500 single-device points
// without the fleets (the "10,000 points in under 10 s").
func BenchmarkSweepPoints(b *testing.B) {
	m, err := Calibrate(testBundle, DefaultFitSizes())
	if err != nil {
		b.Fatal(err)
	}
	g := DefaultGrid()
	g.FleetSizes = nil
	for b.Loop() {
		if _, err := m.Sweep(g); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRespecialize follows one device through a route change under the
// respecialize policy: its time from the guard to the new residual is the
// second fetch's parts, the generic sends fill the wait for the link and
// the server, and the new residual makes a long session gain more than
// the fallback's generic path does.
func TestRespecialize(t *testing.T) {
	m := testModel(t)
	for _, platform := range []string{"i486", "p3", "sa1100"} {
		c := baseConfig(platform)
		c.GuardAt = 1000
		fallback, err := m.Run(c)
		if err != nil {
			t.Fatal(err)
		}
		c.Respecialize = true
		r, err := m.Run(c)
		if err != nil {
			t.Fatal(err)
		}
		p, k, err := m.costs(c)
		if err != nil {
			t.Fatal(err)
		}
		want := k.collect + k.upload + p.Spec.ColdSeconds + k.download + k.load
		if math.Abs(r.RespecializeSeconds-want) > 1e-9 {
			t.Errorf("%s: respecialize %.6f s, want collect + upload + cold build + download + load = %.6f s", platform, r.RespecializeSeconds, want)
		}
		if g := math.Floor((want - k.collect - k.load) / k.genericSend); r.RespecializeGenericSends != g {
			t.Errorf("%s: %v generic sends while pending, want %v", platform, r.RespecializeGenericSends, g)
		}
		if r.Gain <= fallback.Gain {
			t.Errorf("%s: gain %.3f with respecialize, %.3f with fallback: want more", platform, r.Gain, fallback.Gain)
		}
		if r.CacheHitRate != 0 {
			t.Errorf("%s: cache hit rate %v: the new route's context is a new key", platform, r.CacheHitRate)
		}
		t.Logf("%s: respecialize %.3f s, %v generic sends meanwhile; gain %.3f (fallback %.3f)", platform, r.RespecializeSeconds,
			r.RespecializeGenericSends, r.Gain, fallback.Gain)
	}
}

// TestRespecializeMeasured sets the model's respecialize time beside
// routeguard's measured one (testdata/routeguard-respecialize.json: host
// time from the route change to the swap in network mode over the default
// spec link; TestRouteGuardNetwork writes it): the same order of
// magnitude, within a factor of two either way. The server's cold build
// is host wall time of the calibration run and follows the host's load.
func TestRespecializeMeasured(t *testing.T) {
	m := testModel(t)
	raw, err := os.ReadFile("testdata/routeguard-respecialize.json")
	if err != nil {
		t.Fatal(err)
	}
	var runs []struct {
		Platform      string `json:"platform"`
		RouteToSwapNS int64  `json:"route_to_swap_host_ns"`
	}
	if err := json.Unmarshal(raw, &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) == 0 {
		t.Fatal("no measured respecialization")
	}
	for _, run := range runs {
		link, err := calibrationLink(run.Platform)
		if err != nil {
			t.Fatal(err)
		}
		c := baseConfig(run.Platform)
		c.Link, c.GuardAt, c.Respecialize = link, 1000, true
		r, err := m.Run(c)
		if err != nil {
			t.Fatal(err)
		}
		measured := float64(run.RouteToSwapNS) / 1e9
		ratio := r.RespecializeSeconds / measured
		t.Logf("%s: respecialize model %.3f s, measured %.3f s host time (model/measured %.2f)", run.Platform, r.RespecializeSeconds, measured, ratio)
		if ratio < 0.5 || ratio > 2 {
			t.Errorf("%s: respecialize model %.3f s vs measured %.3f s: not within a factor of two", run.Platform, r.RespecializeSeconds, measured)
		}
	}
}
