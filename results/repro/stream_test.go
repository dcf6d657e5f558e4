package repro

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"specbed/qemu"
	"specbed/vnet"
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

// TestReceiverResults splits fake arrivals into a stream boot's rounds by
// seed: per path the rounds' throughputs (host time) through the rule,
// the loss per round, the datagrams that came after their round's result
// line; a round with more datagrams than sent or a step without a mark
// is an error.
func TestReceiverResults(t *testing.T) {
	const sent = 5 // count + warm-up per round
	paths := udpStreamPaths
	// Steps 0 and 1 set up; steps 2..5 are rounds 0..3, paths alternating.
	res := &qemu.Result{Steps: []qemu.StepResult{{Step: 0, Kind: "net"}, {Step: 1, Kind: "load"}}}
	for k := range 4 {
		res.Steps = append(res.Steps, qemu.StepResult{Step: 2 + k, Kind: "send",
			Send: &qemu.SendResult{Path: paths[k%2], Size: 1000, Count: sent - 1, Warmup: 1}})
	}
	marks := &qemu.StepClock{}
	for step := range 6 {
		fmt.Fprintf(marks, "@@specbed result step=%d kind=x\r\n", step)
	}
	end := func(step int) time.Time {
		at, _ := marks.Ended(step)
		return at
	}
	// round k's datagrams every gap from the start, n of them.
	round := func(k, n int, gap time.Duration, from time.Time) []vnet.Arrival {
		var out []vnet.Arrival
		for i := range n {
			out = append(out, vnet.Arrival{At: from.Add(time.Duration(i) * gap), Bytes: 1000, Seq: vnet.SeedTag(streamSeed(k))})
		}
		return out
	}
	base := end(5).Add(-time.Hour) // before every mark: no tail
	var all []vnet.Arrival
	all = append(all, round(0, 5, time.Millisecond, base)...)                      // 4000 bytes after the first in 4 ms: 8 Mbit/s
	all = append(all, round(1, 5, 2*time.Millisecond, base)...)                    // 4 Mbit/s
	all = append(all, round(2, 3, time.Millisecond, base)...)                      // 2 lost, 2000 bytes in 2 ms: 8 Mbit/s
	all = append(all, round(3, 5, 2*time.Millisecond, end(5).Add(time.Second))...) // after its mark: the tail

	rule := Confidence{Level: 0.99, Width: 0.10, Min: 2, Max: 2}
	got, err := receiverResults(res, marks, all, rule)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path           qemu.SendPath
		mbit           float64
		sent, received int64
		lost           []int64
		after          int64
	}{
		{paths[0], 8, 10, 8, []int64{0, 2}, 0},
		{paths[1], 4, 10, 10, []int64{0, 0}, 5},
	} {
		r := got[tc.path]
		if r == nil {
			t.Fatalf("no receiver result for %s", tc.path)
		}
		if math.Abs(r.MbitPerS-tc.mbit) > 1e-9 || r.Sent != tc.sent || r.Received != tc.received ||
			!slices.Equal(r.Lost, tc.lost) || r.AfterResult != tc.after || r.Iterations != 2 || !r.Met {
			t.Errorf("%s: %+v, want %g Mbit/s, %d sent, %d received, lost %v, %d after the result, met at 2",
				tc.path, *r, tc.mbit, tc.sent, tc.received, tc.lost, tc.after)
		}
	}

	run := &StreamRun{Results: []StreamResult{{Receiver: got[paths[0]]}, {Receiver: got[paths[1]]}, {}}}
	if worst, after := run.RoundTails(); worst != 2 || after != 5 {
		t.Errorf("RoundTails: worst round lost %d, %d after the result; want 2, 5", worst, after)
	}

	dup := append(slices.Clone(all), round(0, 1, 0, base)...)
	if _, err := receiverResults(res, marks, dup, rule); err == nil {
		t.Error("a round with more datagrams than sent passed")
	}
	res.Steps = append(res.Steps, qemu.StepResult{Step: 6, Kind: "send", Send: &qemu.SendResult{Path: paths[0], Count: 1}})
	if _, err := receiverResults(res, marks, all, rule); err == nil {
		t.Error("a send step without a host-time mark passed")
	}
}
