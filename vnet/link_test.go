package vnet

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"specbed/qemu"
)

// TestLinkQueue offers a burst to one direction of a slow link and checks
// the queue's byte limit, the drop counters and the spacing of deliveries
// in the wire capture: each frame takes exactly its wire bytes * 8 / rate.
func TestLinkQueue(t *testing.T) {
	for _, tc := range []struct {
		name       string
		framing    Framing
		frame      []byte
		queueBytes int
		burst      int
		// wire is the bytes the rate applies to per frame; accepted the
		// frames that fit in the queue.
		wire, accepted int
	}{
		{name: "ethernet", framing: FramingEthernet, frame: bytes.Repeat([]byte{1}, 1042),
			queueBytes: 8192, burst: 20, wire: 1042, accepted: 7},
		{name: "ethernet exact fit", framing: FramingEthernet, frame: bytes.Repeat([]byte{1}, 1024),
			queueBytes: 4096, burst: 10, wire: 1024, accepted: 4},
		// SLIP escapes each 0xc0 into two bytes, plus the two ENDs.
		{name: "slip escaped", framing: FramingSLIP, frame: bytes.Repeat([]byte{0xc0}, 100),
			queueBytes: 1000, burst: 10, wire: 202, accepted: 4},
		{name: "slip plain", framing: FramingSLIP, frame: bytes.Repeat([]byte{0x45}, 100),
			queueBytes: 1000, burst: 10, wire: 102, accepted: 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// bits/s: each frame takes 10 ms, far longer than the burst.
			rate := int64(tc.wire) * 8 * 100
			pcap := filepath.Join(t.TempDir(), "wire.pcap")
			l, err := newLink(LinkSpec{Name: "l", Framing: tc.framing, Rate: rate, QueueBytes: tc.queueBytes, Pcap: pcap})
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var got []time.Time
			l.ends[1].setReceiver(func(frame []byte) bool {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, time.Now())
				return bytes.Equal(frame, tc.frame)
			})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			p := l.pipes[AToB]
			wg.Add(2)
			go func() { defer wg.Done(); p.transmit(ctx) }()
			go func() { defer wg.Done(); p.propagate(ctx) }()
			for range tc.burst {
				l.ends[0].send(tc.frame)
			}
			txTime := time.Duration(int64(tc.wire) * 8 * int64(time.Second) / rate)
			if !eventually(time.Duration(tc.accepted+2)*txTime+time.Second, func() bool {
				return l.Stats().AToB.DeliveredFrames == int64(tc.accepted)
			}) {
				t.Errorf("delivered %d frames, want %d", l.Stats().AToB.DeliveredFrames, tc.accepted)
			}
			cancel()
			wg.Wait()
			if err := l.wire.close(); err != nil {
				t.Fatal(err)
			}
			st := l.Stats().AToB
			want := DirStats{OfferedFrames: int64(tc.burst), OfferedBytes: int64(tc.burst * tc.wire),
				DeliveredFrames: int64(tc.accepted), DeliveredBytes: int64(tc.accepted * tc.wire),
				QueueDrops: int64(tc.burst - tc.accepted), QueueDropBytes: int64((tc.burst - tc.accepted) * tc.wire),
				MaxQueueBytes: int64(tc.accepted * tc.wire)}
			if st != want {
				t.Errorf("stats %+v, want %+v", st, want)
			}
			lt := layers.LinkTypeEthernet
			if tc.framing == FramingSLIP {
				lt = layers.LinkTypeRaw
			}
			frames, times := readPcap(t, pcap, lt)
			if len(frames) != tc.accepted {
				t.Fatalf("pcap has %d frames, want %d", len(frames), tc.accepted)
			}
			for i := 1; i < len(times); i++ {
				if d := times[i].Sub(times[i-1]); d < txTime-time.Microsecond || d > txTime+time.Microsecond {
					t.Errorf("frame %d arrived %v after the previous one, want %v", i, d, txTime)
				}
			}
		})
	}
}

// TestTopologyValidate rejects malformed topologies with a message naming
// the problem.
func TestTopologyValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Topology)
	}{
		{"duplicate node", func(tp *Topology) { tp.Nodes = append(tp.Nodes, tp.Nodes[0]) }},
		{"unknown kind", func(tp *Topology) { tp.Nodes[0].Kind = "bridge" }},
		{"missing node", func(tp *Topology) { tp.Links[0].B.Node = "nowhere" }},
		{"missing NIC", func(tp *Topology) { tp.Links[0].A.NIC = 3 }},
		{"NIC on two links", func(tp *Topology) {
			l := tp.Links[0]
			l.Name = "again"
			tp.Links = append(tp.Links, l)
		}},
		{"loss above 1", func(tp *Topology) { tp.Links[0].Loss = 1.5 }},
		{"bad MAC", func(tp *Topology) { tp.Nodes[0].NICs[0].MAC = "zz" }},
		{"unlinked NIC", func(tp *Topology) { tp.Nodes[0].NICs = append(tp.Nodes[0].NICs, tp.Nodes[0].NICs[0]) }},
		{"unknown framing", func(tp *Topology) { tp.Links[0].Framing = "token-ring" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := pairTopology(LinkSpec{})
			tc.edit(&tp)
			if err := tp.Validate(); err == nil {
				t.Error("Validate accepted it")
			}
		})
	}
	for _, k := range []qemu.Link{qemu.LinkEthernet, qemu.LinkSLIP} {
		tp, err := DefaultTopology("g", k)
		if err != nil {
			t.Fatal(err)
		}
		if err := tp.Validate(); err != nil {
			t.Errorf("default %s topology: %v", k, err)
		}
	}
	if _, err := DefaultTopology("g", "carrier-pigeon"); err == nil {
		t.Error("DefaultTopology accepted an unknown link kind")
	}
}
