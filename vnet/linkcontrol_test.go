package vnet

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runPipe starts l's A-to-B direction and counts what reaches B; the
// returned stop ends it.
func runPipe(t *testing.T, l *Link) (delivered *atomic.Int64, stop func()) {
	t.Helper()
	delivered = new(atomic.Int64)
	l.ends[1].setReceiver(func([]byte) bool { delivered.Add(1); return true })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	p := l.pipes[AToB]
	wg.Add(2)
	go func() { defer wg.Done(); p.transmit(ctx) }()
	go func() { defer wg.Done(); p.propagate(ctx) }()
	return delivered, func() { cancel(); wg.Wait() }
}

// TestLinkSetDown sends a steady stream across a link and takes it down
// for a while: nothing arrives while it is down, every frame offered then
// (and every frame queued or on the wire when it went down) is a DownDrop,
// and frames arrive again once it is up. Every frame is accounted for.
func TestLinkSetDown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
	}{
		{"no delay", 0},
		{"20ms delay", 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// 1000-byte frames at 800 kbit/s: 10 ms each.
			frame := bytes.Repeat([]byte{7}, 1000)
			l, err := newLink(LinkSpec{Name: "l", Rate: 800_000, Delay: tc.delay, QueueBytes: 4000})
			if err != nil {
				t.Fatal(err)
			}
			delivered, stop := runPipe(t, l)
			defer stop()
			send := func(n int) {
				for range n {
					l.ends[0].send(frame)
					time.Sleep(10 * time.Millisecond)
				}
			}
			send(10)
			l.SetDown(true)
			atDown := delivered.Load()
			send(10)
			if got := delivered.Load(); got != atDown {
				t.Errorf("%d frames delivered while the link was down", got-atDown)
			}
			if d := l.Stats().AToB.DownDrops; d < 10 {
				t.Errorf("DownDrops = %d while down, want at least the 10 frames offered", d)
			}
			l.SetDown(false)
			send(10)
			if !eventually(2*time.Second, func() bool {
				st := l.Stats().AToB
				return st.DeliveredFrames+st.DownDrops+st.QueueDrops == st.OfferedFrames
			}) {
				t.Fatalf("frames unaccounted for: %+v", l.Stats().AToB)
			}
			st := l.Stats().AToB
			if st.OfferedFrames != 30 {
				t.Errorf("offered %d frames, want 30", st.OfferedFrames)
			}
			if up := st.DeliveredFrames - atDown; up < 8 {
				t.Errorf("delivered %d frames after the link came up, want at least 8 of 10", up)
			}
			if st.DownDrops > 10+4 {
				t.Errorf("DownDrops = %d: more than the 10 offered while down plus a 4-frame queue", st.DownDrops)
			}
		})
	}
}

// TestLinkSetRate offers a burst to a slow link and raises the rate
// partway: the remaining frames leave at the new rate, so the burst ends
// far sooner than at the old rate.
func TestLinkSetRate(t *testing.T) {
	// 1000-byte frames: 100 ms each at 80 kbit/s, 1 ms each at 8 Mbit/s.
	const frames = 20
	frame := bytes.Repeat([]byte{7}, 1000)
	l, err := newLink(LinkSpec{Name: "l", Rate: 80_000, QueueBytes: frames * 1000})
	if err != nil {
		t.Fatal(err)
	}
	delivered, stop := runPipe(t, l)
	defer stop()
	start := time.Now()
	for range frames {
		l.ends[0].send(frame)
	}
	if !eventually(time.Second, func() bool { return delivered.Load() >= 2 }) {
		t.Fatalf("delivered %d frames in 1 s at 80 kbit/s, want 2", delivered.Load())
	}
	l.SetRate(8_000_000)
	if !eventually(2*time.Second, func() bool { return delivered.Load() == frames }) {
		t.Fatalf("delivered %d of %d frames", delivered.Load(), frames)
	}
	// At the old rate the burst takes 2 s (20 x 100 ms).
	if took := time.Since(start); took > time.Second {
		t.Errorf("burst took %v after the rate rose, want under 1 s (2 s at the old rate)", took)
	}
}
