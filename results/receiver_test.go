package results

import (
	"math"
	"strings"
	"testing"
)

// TestUDPReceiverFigures: the sender's and the receiver's rates sit side
// by side per size and path, the receiver's gain and intervals come from
// the receiver's rates only, loss is per path over the rounds, and the
// UDP claims give the receiver's gain beside the sender's.
func TestUDPReceiverFigures(t *testing.T) {
	rate := func(path string, mbit float64) StreamRate {
		return StreamRate{Platform: "i486", Protocol: "udp", SizeBytes: 1024, Path: path, MbitPerS: mbit, Met: true}
	}
	recv := func(path string, mbit, width float64, sent, received int64) StreamRate {
		r := rate(path, mbit)
		r.Receiver, r.IntervalWidth, r.Met, r.Sent, r.Received = true, width, width <= 0.1, sent, received
		return r
	}
	sender := []StreamRate{rate(PathSendto, 30), rate(PathCustomized, 42)}
	receiver := []StreamRate{recv(PathSendto, 10, 0.05, 3300, 3300), recv(PathCustomized, 12, 0.25, 3300, 3267)}
	figs, err := UDPReceiverFigures(sender, receiver, 0.1, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 4 {
		t.Fatalf("%d figures, want 4", len(figs))
	}
	both, gain, loss, ci := figs[0], figs[1], figs[2], figs[3]
	for _, tc := range []struct {
		f    Figure
		key  []string
		want float64
	}{
		{both, []string{"i486", "udp", "1024", PathSendto, SideSender}, 30},
		{both, []string{"i486", "udp", "1024", PathCustomized, SideSender}, 42},
		{both, []string{"i486", "udp", "1024", PathSendto, SideReceiver}, 10},
		{both, []string{"i486", "udp", "1024", PathCustomized, SideReceiver}, 12},
		{gain, []string{"i486", "udp", "1024"}, 20}, // the receiver's 12 over 10, not the sender's 42 over 30
		{loss, []string{"i486", "udp", "1024", PathSendto}, 0},
		{loss, []string{"i486", "udp", "1024", PathCustomized}, 1}, // 33 of 3300
		{ci, []string{"i486", "udp", "1024", PathCustomized}, 25},
	} {
		if v := tc.f.Value(tc.key...); v == nil || math.Abs(*v-tc.want) > 1e-9 {
			t.Errorf("%s at %v: %v, want %g", tc.f.ID, tc.key, v, tc.want)
		}
	}
	if len(gain.Rows) == len(gain.Ours()) {
		t.Errorf("figure %s has no paper rows beside ours", gain.ID)
	}
	if both.Series != "side" || both.Panels != "platform" {
		t.Errorf("figure %s: series %q, panels %q", both.ID, both.Series, both.Panels)
	}

	b := &Bundle{Figures: append([]Figure{{ID: FigUDPNICGain, Columns: []string{"platform", "protocol", "size_bytes"},
		Rows: []Row{{Key: []string{"i486", "udp", "1024"}, Value: 40}}}}, figs...)}
	v, text := derivations["fig5-udp-486-1k"].ours(b)
	if v != 40 || !strings.Contains(text, "receiver") || !strings.Contains(text, "20.0%") {
		t.Errorf("claim fig5-udp-486-1k: %g, %q; want the sender's 40 with the receiver's 20.0%% beside it", v, text)
	}
	if err := b.Write(t.TempDir()); err != nil {
		t.Fatal(err)
	}
}
