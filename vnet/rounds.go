package vnet

import (
	"context"
	"fmt"
	"time"
)

// A UDP stream's rounds at the sink, for a receiver-side figure like
// netperf's UDP_STREAM receiver: the guest sends each round as one agent
// step with a seed of its own, and the sink splits a flow's arrivals by
// the tag that seed puts in the sequence field.

// SeedTag is the sequence field (the payload's first 4 bytes, big-endian)
// of a datagram the guest agent sent with seed: its payload is bytes
// seed, seed+1, seed+2, ... mod 256 (images/agent/PROTOCOL.md, send).
func SeedTag(seed byte) uint32 {
	return uint32(seed)<<24 | uint32(seed+1)<<16 | uint32(seed+2)<<8 | uint32(seed+3)
}

// Round is one round of a flow: datagrams carrying Tag, sent in the step
// whose result reached the host at End (host time, qemu.StepClock's mark).
type Round struct {
	Tag uint32
	End time.Time
}

// RoundCount is what the sink received of one round.
type RoundCount struct {
	// Datagrams and Bytes (payload) of the round that arrived.
	Datagrams, Bytes int64
	// First and Last are the first and last arrival (host time; zero
	// when none arrived); FirstBytes the first datagram's payload.
	First, Last time.Time
	FirstBytes  int
	// AfterEnd counts the datagrams that arrived after the guest's
	// report of the step reached the host: still in the guest's NIC, the
	// link's queue or the sink's netstack then.
	AfterEnd int64
}

// Window is the receive window: from the round's first arrival to its
// last (host time), the span a receiver that sees only arrivals can
// measure.
func (c RoundCount) Window() time.Duration { return c.Last.Sub(c.First) }

// MbitPerS is the receiver's throughput: the payload that arrived after
// the window opened (every datagram but the first, whose arrival opens
// it) in bits per microsecond of the window, i.e. Mbit/s of host time;
// 0 with fewer than two arrivals.
func (c RoundCount) MbitPerS() float64 {
	w := c.Window()
	if c.Datagrams < 2 || w <= 0 {
		return 0
	}
	return float64(c.Bytes-int64(c.FirstBytes)) * 8 / (float64(w) / float64(time.Microsecond))
}

// CountRounds splits a flow's arrivals by round. The split is by tag, not
// by time: a round's last datagrams may still be queued when the next
// round begins, and a datagram can reach the sink before the console line
// that ended the previous step reaches the host. Arrivals whose tag is no round's are not counted. Call it
// once the flow's arrivals are complete (see Sink.WaitQuiet).
func CountRounds(arrivals []Arrival, rounds []Round) []RoundCount {
	index := make(map[uint32]int, len(rounds))
	for i, r := range rounds {
		index[r.Tag] = i
	}
	out := make([]RoundCount, len(rounds))
	for _, a := range arrivals {
		i, ok := index[a.Seq]
		if !ok || a.Bytes < 4 {
			continue
		}
		c, r := &out[i], rounds[i]
		if c.Datagrams == 0 {
			c.First, c.FirstBytes = a.At, a.Bytes
		}
		c.Datagrams++
		c.Bytes += int64(a.Bytes)
		c.Last = a.At
		if a.At.After(r.End) {
			c.AfterEnd++
		}
	}
	return out
}

// WaitQuiet returns once the sink has received nothing for quiet (host
// time), polling every 10 ms, or with ctx's error. With the guest's links
// settled first (Network.Settle: every frame offered is delivered or
// dropped), what is left is the sink host's netstack handing datagrams to
// the sink's socket, which takes well under quiet.
func (s *Sink) WaitQuiet(ctx context.Context, quiet time.Duration) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last, since := s.received(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("sink: still receiving: %w", ctx.Err())
		case now := <-tick.C:
			if n := s.received(); n != last {
				last, since = n, now
			} else if now.Sub(since) >= quiet {
				return nil
			}
		}
	}
}

// received is every flow's payload bytes and datagrams so far: it grows
// with each arrival.
func (s *Sink) received() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, m := range []map[string]*flow{s.udpFlow, s.tcpFlow} {
		for _, f := range m {
			n += f.Bytes + f.Datagrams
		}
	}
	return n
}
