package vnet

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"specbed/images"
	"specbed/results"
)

// bulkBench is one line of out/bench/vnet-bulk.json.
type bulkBench struct {
	Case       string  `json:"case"`
	RateBits   int64   `json:"rate_bits_per_s"`
	DelayMs    float64 `json:"delay_ms"`
	QueueBytes int     `json:"queue_bytes"`
	Loss       float64 `json:"loss"`
	// PayloadBytes is the TCP payload moved, Seconds the host time from
	// the dial to the sink's last read.
	PayloadBytes int64   `json:"payload_bytes"`
	Seconds      float64 `json:"seconds"`
	// Goodput and its bound (the link rate times the largest share of
	// payload in a data frame), in bits per second.
	GoodputBits      float64 `json:"goodput_bits_per_s"`
	PayloadShareBits float64 `json:"payload_share_bits_per_s"`
	DataFrames       int64   `json:"data_direction_frames"`
	QueueDrops       int64   `json:"queue_drops"`
	LossDrops        int64   `json:"loss_drops"`
	MaxQueueBytes    int64   `json:"max_queue_bytes"`
}

// TestBulkTCP moves a bulk TCP transfer between two netstacks over a
// 10 Mbit/s link (and the 1 Gbit/s data link) and checks the link's accounting against its pcaps: the
// frames missing between the ingress and the wire capture are exactly the
// counted drops, the wire never carries more than the rate allows in any
// window, and the goodput stays under the payload share of the rate. The
// goodput is written to out/bench/vnet-bulk.json, not asserted.
func TestBulkTCP(t *testing.T) {
	size := int64(1_500_000)
	if testing.Short() {
		size = 300_000
	}
	var lines []bulkBench
	for _, tc := range []struct {
		name      string
		rate      int64 // bits/s
		delay     time.Duration
		queue     int
		loss      float64
		wantDrops bool
	}{
		{name: "spec-default", rate: SpecRate, delay: SpecDelay, queue: DefaultQueueBytes},
		{name: "small-queue", rate: SpecRate, delay: SpecDelay, queue: 8 << 10, wantDrops: true},
		{name: "lossy", rate: SpecRate, delay: SpecDelay, queue: DefaultQueueBytes, loss: 0.01},
		{name: "data-default", rate: DataRate, queue: DataQueueBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			spec := LinkSpec{Rate: tc.rate, Delay: tc.delay, QueueBytes: tc.queue, Loss: tc.loss, Seed: 1,
				Pcap: filepath.Join(dir, "wire.pcap"), IngressPcap: filepath.Join(dir, "ingress.pcap")}
			line := bulkTransfer(t, spec, size)
			line.Case = tc.name
			if tc.wantDrops && line.QueueDrops == 0 {
				t.Errorf("a %d-byte queue dropped nothing", tc.queue)
			}
			if tc.loss > 0 && line.LossDrops == 0 {
				t.Errorf("loss %g lost nothing", tc.loss)
			}
			lines = append(lines, line)
		})
	}
	if len(lines) == 0 {
		return
	}
	repo, err := images.FindRepo()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := results.WriteBench(repo, "vnet-bulk.json", lines); err != nil {
		t.Fatal(err)
	}
}

// bulkTransfer sends size bytes from host a to the sink on host b.
func bulkTransfer(t *testing.T, spec LinkSpec, size int64) bulkBench {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topo := pairTopology(spec)
	n, err := Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	sink, err := StartSink(ctx, n.Host("b"), SinkPort)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	start := time.Now()
	c, err := n.Host("a").Dial(ctx, "tcp", fmt.Sprintf("10.9.0.2:%d", SinkPort))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	var rep SinkReport
	if !eventually(time.Minute, func() bool {
		rep = sink.Report()
		return len(rep.TCP) == 1 && rep.TCP[0].Bytes == size
	}) {
		t.Fatalf("sink got %+v, want %d bytes", rep.TCP, size)
	}
	arrivals := rep.TCP[0].Arrivals
	elapsed := arrivals[len(arrivals)-1].At.Sub(start)

	// Let the FIN exchange and any retransmission finish: every offered
	// frame is then delivered or counted as dropped.
	link := n.Link("ab")
	settled := func(d DirStats) bool {
		return d.OfferedFrames == d.DeliveredFrames+d.QueueDrops+d.LossDrops+d.NoReceiverDrops
	}
	var st LinkStats
	if !eventually(10*time.Second, func() bool {
		before := link.Stats()
		time.Sleep(50 * time.Millisecond)
		st = link.Stats()
		return st == before && settled(st.AToB) && settled(st.BToA)
	}) {
		t.Fatalf("link did not settle: %+v", link.Stats())
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	aMAC := topo.Nodes[0].NICs[0].MAC
	ingress := countByDirection(t, spec.IngressPcap, aMAC)
	wire := countByDirection(t, spec.Pcap, aMAC)
	for _, d := range []struct {
		dir Direction
		st  DirStats
	}{{AToB, st.AToB}, {BToA, st.BToA}} {
		if ingress[d.dir] != d.st.OfferedFrames {
			t.Errorf("%v: ingress pcap has %d frames, link counted %d offered", d.dir, ingress[d.dir], d.st.OfferedFrames)
		}
		if missing := ingress[d.dir] - wire[d.dir]; missing != d.st.QueueDrops+d.st.LossDrops {
			t.Errorf("%v: %d frames missing from the wire pcap, link counted %d queue + %d loss drops",
				d.dir, missing, d.st.QueueDrops, d.st.LossDrops)
		}
	}

	maxFrame, share := checkWireRate(t, spec.Pcap, aMAC, spec.Rate)
	// The sink cannot have read more payload than the wire carried: at
	// most the payload share of rate*(elapsed+grain), plus one frame.
	bound := share * (float64(spec.Rate)/8*(elapsed+releaseGrain).Seconds() + float64(maxFrame))
	if float64(size) > bound {
		t.Errorf("%d payload bytes in %v exceed the payload share of the link: at most %.0f", size, elapsed, bound)
	}
	line := bulkBench{RateBits: spec.Rate, DelayMs: float64(spec.Delay) / 1e6, QueueBytes: spec.QueueBytes,
		Loss: spec.Loss, PayloadBytes: size, Seconds: elapsed.Seconds(),
		GoodputBits: float64(size) * 8 / elapsed.Seconds(), PayloadShareBits: share * float64(spec.Rate),
		DataFrames: st.AToB.OfferedFrames, QueueDrops: st.AToB.QueueDrops + st.BToA.QueueDrops,
		LossDrops: st.AToB.LossDrops + st.BToA.LossDrops, MaxQueueBytes: st.AToB.MaxQueueBytes}
	t.Logf("goodput %.2f Mbit/s (payload share %.2f), %d data frames, %d queue drops, %d loss drops, queue peak %d bytes",
		line.GoodputBits/1e6, line.PayloadShareBits/1e6, line.DataFrames, line.QueueDrops, line.LossDrops, line.MaxQueueBytes)
	return line
}

// countByDirection counts a pcap's frames by sender: A->B frames come
// from the A end's MAC.
func countByDirection(t *testing.T, path, aMAC string) [2]int64 {
	frames, _ := readPcap(t, path, layers.LinkTypeEthernet)
	mac, _ := parseMAC(aMAC)
	var n [2]int64
	for _, f := range frames {
		if bytes.Equal(f[6:12], mac) {
			n[AToB]++
		} else {
			n[BToA]++
		}
	}
	return n
}

// checkWireRate checks that in every window of A->B frames on the wire
// the bytes fit the rate (plus the frame that opens the window: a
// timestamp is the arrival of a frame's last bit), and returns the largest
// frame and the largest share of TCP payload in a frame.
func checkWireRate(t *testing.T, path, aMAC string, rate int64) (maxFrame int, share float64) {
	frames, times := readPcap(t, path, layers.LinkTypeEthernet)
	mac, _ := parseMAC(aMAC)
	var sizes []int
	var at []time.Time
	for i, f := range frames {
		if !bytes.Equal(f[6:12], mac) {
			continue
		}
		sizes, at = append(sizes, len(f)), append(at, times[i])
		maxFrame = max(maxFrame, len(f))
		if seg := TCPSegment(IPv4Packet(FramingEthernet, f)); seg != nil {
			payload := len(seg) - int(seg.DataOffset())
			share = max(share, float64(payload)/float64(len(f)))
		}
	}
	if len(sizes) == 0 || share == 0 {
		t.Fatalf("%s: no A->B TCP payload on the wire", path)
	}
	// Frames are delivered in order; check every window that starts at a
	// frame and ends at a later one, by two pointers over the bytes that
	// finished within [at[i], at[j]] (frame i excluded: it was on the wire
	// before at[i]).
	bytesPerNs := float64(rate) / 8 / 1e9
	for i := range sizes {
		sum := 0
		for j := i + 1; j < len(sizes) && j < i+200; j++ {
			sum += sizes[j]
			allowed := bytesPerNs * float64(at[j].Sub(at[i]).Nanoseconds())
			if float64(sum) > allowed+1 { // rounding of the ns timestamps
				for k := i; k <= j; k++ {
					t.Logf("frame %d: %v %d bytes", k, at[k].Format("15:04:05.000000000"), sizes[k])
				}
				t.Fatalf("wire: %d bytes in the %v after frame %d, the rate allows %.0f", sum, at[j].Sub(at[i]), i, allowed)
			}
		}
	}
	return maxFrame, share
}
