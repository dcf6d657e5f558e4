package sim

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"specbed/qemu"
	"specbed/scenarios"
)

// TestSpecLinkHeldOut predicts a fetch over scenario slow-spec-link's
// 56 kbit/s + 50 ms specialization link with the model calibrated on the
// default 10 Mbit/s + 2 ms one, and compares it with the emulator's
// fetch there (testdata/README.md): bytes and round trip within 10%.
func TestSpecLinkHeldOut(t *testing.T) {
	m := testModel(t)
	s, err := scenarios.Load("../scenarios/faults/slow-spec-link.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const platform = "i486"
	qp, err := qemu.Lookup(platform)
	if err != nil {
		t.Fatal(err)
	}
	topo, err := scenarios.NetworkTopology(s, qp)
	if err != nil {
		t.Fatal(err)
	}
	link := serverPath(topo)
	if cal := m.Platforms[0].Spec.CalibrationLink; link.RateBps >= cal.RateBps/10 {
		t.Fatalf("scenario link %+v is not held out from the calibration link %+v", link, cal)
	}
	raw, err := os.ReadFile("testdata/run-slow-spec-link-i486-outcome.json")
	if err != nil {
		t.Fatal(err)
	}
	var out scenarios.Outcome
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Flows) == 0 || out.Flows[0].Fetch == nil {
		t.Fatalf("outcome %s on %s has no fetch", out.Scenario, out.Platform)
	}
	checks, err := FetchChecks(m, platform, link, out.Flows[0].Fetch)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		t.Log(c)
		if c.RelErr() > 0.10 {
			t.Errorf("held-out link %.0f bit/s + %.0f ms: %v", link.RateBps, 1e3*link.DelaySeconds, c)
		}
	}
}

func TestTransfer(t *testing.T) {
	slow := Link{RateBps: 56000, DelaySeconds: 0.05}
	for _, tc := range []struct {
		name    string
		link    Link
		payload float64
		want    float64 // seconds
	}{
		// One segment: 100 + 66 bytes at 56 kbit/s, then the delay.
		{"one segment", slow, 100, 0.05 + 166*8/56000.0},
		// 6,288 bytes: 5 segments in the first window, back to back.
		{"first window", slow, 6288, 0.05 + (6288+5*66)*8/56000.0},
		// 10 Mbit/s + 50 ms: the first window (10 segments, 12.1 ms)
		// drains long before its ack, so 20 segments wait one round trip.
		{"slow start", Link{RateBps: 10e6, DelaySeconds: 0.05}, 20 * 1448,
			0.05 + 20*1514*8/10e6 + (0.1 + (1514+74)*8/10e6 - 10*1514*8/10e6)},
	} {
		if got := tc.link.Transfer(tc.payload); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: Transfer(%g) = %g s, want %g", tc.name, tc.payload, got, tc.want)
		}
	}
}
