package vnet

import (
	"context"
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
