package vnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestSeedTag(t *testing.T) {
	for _, tc := range []struct {
		seed byte
		want uint32
	}{{0, 0x00010203}, {1, 0x01020304}, {254, 0xfeff0001}} {
		if got := SeedTag(tc.seed); got != tc.want {
			t.Errorf("SeedTag(%d) = %#x, want %#x", tc.seed, got, tc.want)
		}
	}
}

// TestCountRounds splits fake arrivals by tag: a round's tail after its
// end mark still counts for it, other tags and short datagrams for none.
func TestCountRounds(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	a, b := SeedTag(0), SeedTag(1)
	rounds := []Round{{Tag: a, End: ms(100)}, {Tag: b, End: ms(200)}}
	for _, tc := range []struct {
		name     string
		arrivals []Arrival
		want     []RoundCount
		mbit     []float64 // Mbit/s per round
	}{
		{"empty", nil, []RoundCount{{}, {}}, []float64{0, 0}},
		{
			// Round a: 1000 bytes at 10, 20, ..., 110 ms; the last one
			// after its end mark (still queued when the guest reported)
			// and after round b began: it counts for a all the same.
			"tail of a round in the next",
			append(every(a, ms(10), 10*time.Millisecond, 11, 1000),
				Arrival{At: ms(150), Bytes: 1000, Seq: b}, Arrival{At: ms(190), Bytes: 1000, Seq: b},
				Arrival{At: ms(160), Bytes: 1000, Seq: SeedTag(9)}, // no round's tag
				Arrival{At: ms(170), Bytes: 3, Seq: b}),            // short: no tag at all
			[]RoundCount{
				{Datagrams: 11, Bytes: 11000, First: ms(10), Last: ms(110), FirstBytes: 1000, AfterEnd: 1},
				{Datagrams: 2, Bytes: 2000, First: ms(150), Last: ms(190), FirstBytes: 1000},
			},
			// 10 000 bytes after the first in 100 ms; 1000 in 40 ms.
			[]float64{0.8, 0.2},
		},
		{
			"one datagram has no window",
			[]Arrival{{At: ms(50), Bytes: 64, Seq: a}, {At: ms(90), Bytes: 64, Seq: b}},
			[]RoundCount{
				{Datagrams: 1, Bytes: 64, First: ms(50), Last: ms(50), FirstBytes: 64},
				{Datagrams: 1, Bytes: 64, First: ms(90), Last: ms(90), FirstBytes: 64},
			},
			[]float64{0, 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CountRounds(tc.arrivals, rounds)
			for i := range rounds {
				if got[i] != tc.want[i] {
					t.Errorf("round %d: %+v, want %+v", i, got[i], tc.want[i])
				}
				if m := got[i].MbitPerS(); m < tc.mbit[i]*0.999999 || m > tc.mbit[i]*1.000001 {
					t.Errorf("round %d: %g Mbit/s, want %g", i, m, tc.mbit[i])
				}
			}
		})
	}
}

// every returns n arrivals of bytes each with tag, step apart from at.
func every(tag uint32, at time.Time, step time.Duration, n, bytes int) []Arrival {
	var out []Arrival
	for i := range n {
		out = append(out, Arrival{At: at.Add(time.Duration(i) * step), Bytes: bytes, Seq: tag})
	}
	return out
}

// TestWaitQuiet: WaitQuiet returns only after arrivals stopped, and with
// ctx's error while they go on.
func TestWaitQuiet(t *testing.T) {
	newSink := func() *Sink { return &Sink{udpFlow: map[string]*flow{}, tcpFlow: map[string]*flow{}} }
	arrive := func(s *Sink) {
		s.mu.Lock()
		f := s.flow(s.udpFlow, "10.2.0.2:5000")
		f.Datagrams++
		f.Bytes += 64
		s.mu.Unlock()
	}

	s := newSink()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			arrive(s)
			time.Sleep(time.Millisecond)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.WaitQuiet(ctx, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Error("WaitQuiet returned while datagrams still arrived")
	}

	busy := newSink()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				arrive(busy)
			}
		}
	}()
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	if err := busy.WaitQuiet(short, time.Second); err == nil {
		t.Error("WaitQuiet returned on a sink that kept receiving")
	}
}

// TestSinkUDPQueueTime: a datagram's arrival time is when b's netstack
// queued it on the sink's socket, not when a reader held back got to it,
// and a backlog larger than gVisor's default receive buffer (212 KiB) is
// kept whole.
func TestSinkUDPQueueTime(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// A queue that holds the whole burst: the socket's buffer is tested.
	n, err := Start(ctx, pairTopology(LinkSpec{QueueBytes: 1 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	u, err := listenSinkUDP(ctx, n.Host("b"), SinkPort)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	c, err := n.Host("a").Dial(ctx, "udp", fmt.Sprintf("10.9.0.2:%d", SinkPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const count, size = 400, 1400 // 560 000 bytes
	// One datagram first: a's netstack holds at most 256 packets while
	// it resolves b's address.
	buf := make([]byte, 2048)
	if _, err := c.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := u.read(buf); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	for range count {
		if _, err := c.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	// Nobody reads for a while: the datagrams wait on the socket.
	time.Sleep(300 * time.Millisecond)
	readFrom := time.Now()
	for i := range count {
		k, from, at, err := u.read(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if k != size || !strings.HasPrefix(from, "10.9.0.1:") {
			t.Fatalf("datagram %d: %d bytes from %s, want %d from 10.9.0.1", i, k, from, size)
		}
		if at.Before(sent) || !at.Before(readFrom) {
			t.Fatalf("datagram %d queued at %v: not between the first write (%v) and the first read (%v)", i, at, sent, readFrom)
		}
	}
	u.Close()
	if _, _, _, err := u.read(buf); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after Close: %v, want net.ErrClosed", err)
	}
}
