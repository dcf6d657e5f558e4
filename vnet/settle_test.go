package vnet

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// TestSettle offers a burst to a slow link and checks that Settle returns
// only once every accepted frame was delivered, with the queue's drops,
// and that it gives up with ctx when the link cannot drain.
func TestSettle(t *testing.T) {
	frame := bytes.Repeat([]byte{0x45}, 1000)
	// bits/s: each 1000-byte frame takes 20 ms; a 4000-byte queue takes 4.
	l, err := newLink(LinkSpec{Name: "slow", Framing: FramingEthernet, Rate: 1000 * 8 * 50, QueueBytes: 4000})
	if err != nil {
		t.Fatal(err)
	}
	l.ends[1].setReceiver(func([]byte) bool { return true })
	n := &Network{links: map[string]*Link{"slow": l}}

	// Nothing moves yet: Settle must wait and give up with its context.
	for range 10 {
		l.ends[0].send(frame)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	if _, err := n.Settle(short, "slow"); err == nil {
		t.Fatal("Settle returned on an undrained link")
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	p := l.pipes[AToB]
	wg.Add(2)
	go func() { defer wg.Done(); p.transmit(ctx) }()
	go func() { defer wg.Done(); p.propagate(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	wait, cancelWait := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelWait()
	drops, err := n.Settle(wait, "slow")
	if err != nil {
		t.Fatal(err)
	}
	st := l.Stats().AToB
	if st.DeliveredFrames != 4 || drops != 6 || st.QueueDrops != 6 {
		t.Errorf("settled with %d delivered, %d drops (%d queue drops), want 4, 6, 6", st.DeliveredFrames, drops, st.QueueDrops)
	}
	if _, err := n.Settle(wait, "missing"); err == nil {
		t.Error("Settle accepted an unknown link")
	}
}
