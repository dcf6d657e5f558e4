package qemu

import (
	"bytes"
	"testing"
	"time"
)

// TestStepClock: a result line is marked at the write that completes it,
// across chunk boundaries and behind kernel text; other lines are not.
func TestStepClock(t *testing.T) {
	base := time.Unix(1000, 0)
	var tee bytes.Buffer
	c := &StepClock{Tee: &tee}
	chunks := []string{
		"@@specbed ready agent=abc arch=i386\r\n@@specbed result step=0 kind=net dev=eth1",
		" carrier_ns=5\r\n", // completes step 0 at write 1
		"[    1.0] eth1: up @@specbed result step=1 kind=send", // kernel text before the line
		" path=sendto\r\n@@specbed error step=2 msg=boom\r\n",  // step 1 at write 3; errors are no marks
		"@@specbed result step=1 kind=send path=again\r\n",     // a repeated step keeps its first mark
		"@@specbed result step=3 kind=send",                    // unfinished: no mark
	}
	for i, chunk := range chunks {
		c.now = func() time.Time { return base.Add(time.Duration(i) * time.Millisecond) }
		if n, err := c.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	for _, tc := range []struct {
		step int
		at   int // write index, -1: no mark
	}{{0, 1}, {1, 3}, {2, -1}, {3, -1}} {
		got, ok := c.Ended(tc.step)
		switch {
		case tc.at < 0 && ok:
			t.Errorf("step %d marked at %v, want no mark", tc.step, got)
		case tc.at >= 0 && (!ok || !got.Equal(base.Add(time.Duration(tc.at)*time.Millisecond))):
			t.Errorf("step %d marked at %v (%t), want write %d", tc.step, got, ok, tc.at)
		}
	}
	var all string
	for _, chunk := range chunks {
		all += chunk
	}
	if tee.String() != all {
		t.Errorf("tee got %q, want every byte", tee.String())
	}
}
