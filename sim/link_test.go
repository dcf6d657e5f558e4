package sim

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"specbed/qemu"
	"specbed/results"
	"specbed/scenarios"
	specserver "specbed/specializer/server"
)

// TestSpecLinkHeldOut predicts a fetch over scenario slow-spec-link's
// 56 kbit/s + 50 ms specialization link with the model calibrated on the
// default 10 Mbit/s + 2 ms one, and compares it with the emulator's
// fetches there (testdata/run-slow-spec-link-PLATFORM-outcome.json,
// testdata/README.md): the request's and the module's bytes and the
// request's wire time against the server's receive phase (host time)
// within 10%. The agent's round trip is on the guest's clock, which in
// network mode does not keep host time to 10% (on both x86 guests the
// download took less guest time than its bytes need on the wire): it is
// logged beside the model, not held to the bound.
func TestSpecLinkHeldOut(t *testing.T) {
	m := testModel(t)
	s, err := scenarios.Load("../scenarios/faults/slow-spec-link.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range storedFetches(t, "testdata/run-slow-spec-link-*-outcome.json") {
		out := r.out
		qp, err := qemu.Lookup(out.Platform)
		if err != nil {
			t.Fatal(err)
		}
		topo, err := scenarios.NetworkTopology(s, qp)
		if err != nil {
			t.Fatal(err)
		}
		link := serverPath(topo)
		p, err := m.Platform(out.Platform)
		if err != nil {
			t.Fatal(err)
		}
		if cal := p.Spec.CalibrationLink; link.RateBps >= cal.RateBps/10 {
			t.Fatalf("scenario link %+v is not held out from the calibration link %+v", link, cal)
		}
		fetch, err := FetchChecks(m, out.Platform, link, out.Flows[0].Fetch)
		if err != nil {
			t.Fatal(err)
		}
		upload, err := UploadChecks(m, out.Platform, link, out.Flows[0].Fetch)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range append(fetch, upload...) {
			t.Log(c)
			if c.RelErr() > 0.10 && c.Quantity != roundTrip {
				t.Errorf("held-out link %.0f bit/s + %.0f ms: %v", link.RateBps, 1e3*link.DelaySeconds, c)
			}
		}
	}
}

func TestTransfer(t *testing.T) {
	slow := Link{RateBps: 56000, DelaySeconds: 0.05}
	for _, tc := range []struct {
		name    string
		link    Link
		payload float64
		escape  float64 // share of the payload's bytes that are END or ESC
		want    float64 // seconds
	}{
		// One segment: 100 + 66 bytes at 56 kbit/s, then the delay.
		{"one segment", slow, 100, 0, 0.05 + 166*8/56000.0},
		// 6,288 bytes: 5 segments in the first window, back to back.
		{"first window", slow, 6288, 0, 0.05 + (6288+5*66)*8/56000.0},
		// 10 Mbit/s + 50 ms: the first window (10 segments, 12.1 ms)
		// drains long before its ack, so 20 segments wait one round trip.
		{"slow start", Link{RateBps: 10e6, DelaySeconds: 0.05}, 20 * 1448, 0,
			0.05 + 20*1514*8/10e6 + (0.1 + (1514+74)*8/10e6 - 10*1514*8/10e6)},
		// SLIP at 57600 bit/s: 244-byte segments (296 less 52 of
		// headers), each with two ENDs and 22 varying header bytes
		// escaped with chance 2/256; a text payload has no escapes.
		{"slip text", Link{RateBps: 57600, SLIP: true}, 4488, 0,
			(4488 + 19*(52+2+22*2.0/256)) * 8 / 57600},
		{"slip binary", Link{RateBps: 57600, SLIP: true}, 244, 2.0 / 256,
			(244*(1+2.0/256) + 52 + 2 + 22*2.0/256) * 8 / 57600},
	} {
		if got := tc.link.Transfer(tc.payload, tc.escape); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: Transfer(%g) = %g s, want %g", tc.name, tc.payload, got, tc.want)
		}
	}
}

// SLIP uploads the emulator measured take the line's wire time plus a
// stall of up to maxSLIPStall that the model does not have: 18 to 193 ms in
// 7 of the 8 stored runs at 76800 to 172800 bit/s, at most 13 ms at 57600
// and 230400 (README.md, "The SLIP line": not explained). At those two
// rates every run is within 10%; at every rate the wire time is a floor
// (within minSLIPFloor for the clocks' resolution) and the stall bounded.
const (
	maxSLIPStall = 0.2  // seconds
	minSLIPFloor = 0.98 // measured / model
)

// slipWithin10 are the line rates (bit/s) whose every run is held to 10%.
var slipWithin10 = map[float64]bool{57600: true, 230400: true}

// TestSLIPHeldOut checks the SLIP transfer model on the SA-1110's line at
// its default 230400 bit/s (figure 4(c)'s upload phases of the calibration
// bundle: calibration reads their bytes, not their times, and a run of
// testdata/scenarios/slip-230400.yaml) and at the rates of the other
// scenarios in testdata/scenarios, held out from it (testdata/README.md):
// the request's bytes within 10%, and its time on the wire against the
// server's receive phase (host time): a floor and at most maxSLIPStall
// below the measurement, within 10% at the rates of slipWithin10.
func TestSLIPHeldOut(t *testing.T) {
	m := testModel(t)
	const platform = "sa1100"
	qp, err := qemu.Lookup(platform)
	if err != nil {
		t.Fatal(err)
	}
	type measured struct {
		name  string
		link  Link
		fetch *qemu.FetchResult
	}
	var runs []measured
	b, err := results.Read(testBundle)
	if err != nil {
		t.Fatal(err)
	}
	phases, bytes := byPhase(b.Figure(results.FigOverhead))[platform], byPhase(b.Figure(results.FigOverheadBytes))[platform]
	cal, err := calibrationLink(platform)
	if err != nil {
		t.Fatal(err)
	}
	for _, fetch := range []string{"cold", "cached"} {
		ph := make([]int64, specserver.NumPhases)
		ph[specserver.PhaseReceive] = int64(phases[fetch+"/upload"] * 1e6)
		runs = append(runs, measured{"figure 4(c) " + fetch, cal, &qemu.FetchResult{PhasesNS: ph, RequestBytes: int(bytes[fetch+"/upload"])}})
	}
	held := map[float64]bool{}
	for _, r := range storedFetches(t, "testdata/run-slip-*-sa1100-*-outcome.json") {
		file, out := r.file, r.out
		s, err := scenarios.Load(filepath.Join("testdata", "scenarios", strings.TrimPrefix(out.Scenario, "sim-")+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		topo, err := scenarios.NetworkTopology(s, qp)
		if err != nil {
			t.Fatal(err)
		}
		l := serverPath(topo)
		if !l.SLIP {
			t.Fatalf("%s: link %+v is no SLIP line", file, l)
		}
		if l.RateBps != cal.RateBps {
			held[l.RateBps] = true
		}
		runs = append(runs, measured{filepath.Base(file), l, out.Flows[0].Fetch})
	}
	if len(held) < 3 {
		t.Errorf("SLIP rates held out from the calibration's %.0f bit/s: %v, want at least three", cal.RateBps, held)
	}
	for _, r := range runs {
		checks, err := UploadChecks(m, platform, r.link, r.fetch)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range checks {
			t.Logf("%s, %.0f bit/s: %v", r.name, r.link.RateBps, c)
			wire := c.Quantity != "request bytes"
			switch {
			case wire && c.Emulator < minSLIPFloor*c.Model:
				t.Errorf("%s, line at %.0f bit/s: the emulator beat the line's wire time: %v", r.name, r.link.RateBps, c)
			case wire && c.Emulator-c.Model > maxSLIPStall:
				t.Errorf("%s, line at %.0f bit/s: stalled more than %g s past the wire time: %v", r.name, r.link.RateBps, maxSLIPStall, c)
			case (!wire || slipWithin10[r.link.RateBps]) && c.RelErr() > 0.10:
				t.Errorf("%s, line at %.0f bit/s: %v", r.name, r.link.RateBps, c)
			}
		}
	}
}

// storedRun is one stored scenario outcome and its file.
type storedRun struct {
	file string
	out  scenarios.Outcome
}

// storedFetches reads the stored scenario outcomes matching pattern, each
// with a fetch in its first flow; there must be at least one.
func storedFetches(t *testing.T, pattern string) []storedRun {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no stored runs %s: %v", pattern, err)
	}
	var runs []storedRun
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var out scenarios.Outcome
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Flows) == 0 || out.Flows[0].Fetch == nil {
			t.Fatalf("%s: outcome on %s has no fetch", file, out.Platform)
		}
		runs = append(runs, storedRun{file, out})
	}
	return runs
}
