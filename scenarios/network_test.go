package scenarios

import (
	"testing"
	"time"

	"specbed/qemu"
	"specbed/vnet"
)

// TestTopologyEdits: the scenario's link edits change the default
// topology's links, keys left out keep their defaults, and the drain
// time follows the slowest queue.
func TestTopologyEdits(t *testing.T) {
	s, err := Load("faults/slow-spec-link.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := qemu.Lookup("i486")
	if err != nil {
		t.Fatal(err)
	}
	topo, err := topology(s, p)
	if err != nil {
		t.Fatal(err)
	}
	spec, data := topo.Link(vnet.SpecLink), topo.Link(vnet.DataLink)
	if spec.Rate != 56000 || spec.Delay != 50*time.Millisecond || spec.QueueBytes != 0 && spec.QueueBytes != vnet.DefaultQueueBytes {
		t.Errorf("spec link %+v, want 56000 bit/s, 50 ms and the default queue", *spec)
	}
	if data.Rate != vnet.DataRate {
		t.Errorf("data link rate %d, want the default %d", data.Rate, vnet.DataRate)
	}
	// 64 KiB at 56 kbit/s is 9.36 s, plus the delay and the margin.
	if d := drainTime(topo); d < 9*time.Second || d > 11*time.Second {
		t.Errorf("drain time %v, want about 9.9 s", d)
	}
}
