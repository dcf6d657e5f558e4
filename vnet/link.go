package vnet

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// DirStats counts one direction of a link. Frames are counted whole; bytes
// are wire bytes (Ethernet frame with header, or SLIP-encoded bytes).
type DirStats struct {
	// Offered: frames handed to the link by the sender.
	OfferedFrames, OfferedBytes int64
	// Delivered: frames handed to the receiver.
	DeliveredFrames, DeliveredBytes int64
	// QueueDrops: frames refused because the queue was full.
	QueueDrops, QueueDropBytes int64
	// LossDrops: frames lost on the wire (LinkSpec.Loss) or dropped by
	// the Tamper hook.
	LossDrops int64
	// NoReceiverDrops: frames that crossed the link while nothing was
	// attached at the far end, or that the far end failed to take (a guest
	// that exited).
	NoReceiverDrops int64
	// DownDrops: frames offered, queued or on the wire while the link was
	// down (SetDown).
	DownDrops int64
	// MaxQueueBytes is the queue's high-water mark in wire bytes.
	MaxQueueBytes int64
}

// LinkStats counts both directions of a link.
type LinkStats struct {
	AToB, BToA DirStats
}

// Link is a running link.
type Link struct {
	spec LinkSpec
	// epoch anchors capture timestamps: a time is written as epoch's wall
	// clock plus the monotonic time since epoch. Wall clock readings of
	// separate time.Now calls drift against the monotonic clock by
	// microseconds per millisecond on some hosts (a Firecracker guest),
	// which would reorder a 1 Gbit/s link's frames in the pcap.
	epoch   time.Time
	pipes   [2]*pipe
	ends    [2]*end
	wire    *capture
	ingress *capture
	// down is set while the link is down (SetDown): it carries nothing.
	down atomic.Bool
}

// SetDown takes the link down (true) or brings it back up (false) while
// traffic flows. Down, both directions drop what is offered, what waits in
// their queues and what is on the wire, as a cut cable would; the counters
// record them as DownDrops.
func (l *Link) SetDown(down bool) {
	l.down.Store(down)
	if !down {
		return
	}
	for _, p := range l.pipes {
		p.flush()
	}
}

// SetRate changes both directions' rate (bit/s; 0 = no limit) while
// traffic flows. A frame already being transmitted keeps its old rate;
// the next one takes the new rate.
func (l *Link) SetRate(bitsPerSecond int64) {
	for _, p := range l.pipes {
		p.setRate(bitsPerSecond)
	}
}

// stamp converts t to a capture timestamp (see epoch).
func (l *Link) stamp(t time.Time) time.Time { return l.epoch.Add(t.Sub(l.epoch)) }

// Spec returns the link's specification at start (SetRate and SetDown
// change the running link, not its spec).
func (l *Link) Spec() LinkSpec { return l.spec }

// Stats returns a snapshot of the link's counters.
func (l *Link) Stats() LinkStats {
	return LinkStats{AToB: l.pipes[AToB].stats(), BToA: l.pipes[BToA].stats()}
}

// end is one end of a link: what its node sends goes into out; what
// arrives is handed to the receiver its node installed.
type end struct {
	out  *pipe
	recv atomic.Pointer[receiver]
}

// receiver takes a delivered frame; it reports false when it could not
// (the guest is gone). It must not keep frame after returning.
type receiver func(frame []byte) bool

func (e *end) setReceiver(r receiver) { e.recv.Store(&r) }

// send offers a frame to the link. It never blocks.
func (e *end) send(frame []byte) { e.out.send(frame) }

// queued is a frame waiting in a pipe's queue.
type queued struct {
	frame []byte
	wire  int
	at    time.Time
}

// inflight is a frame that left the queue and arrives at a later time.
type inflight struct {
	frame []byte
	wire  int
	at    time.Time
}

// releaseGrain is how early a frame may leave the queue compared with its
// exact departure time. Go timers cannot wake once per 12 us frame at
// 1 Gbit/s; the departure times themselves are exact, so the rate holds
// over any interval longer than the grain.
const releaseGrain = time.Millisecond

// pipe is one direction of a link: a byte-limited FIFO queue served at the
// link's rate, then the propagation delay, loss and delivery.
type pipe struct {
	link    *Link
	dir     Direction
	to      *end
	wireLen func([]byte) int
	limit   int
	// txNanos is the float64 bits of ns per wire byte (0 = no limit):
	// SetRate changes it while transmit reads it.
	txNanos  atomic.Uint64
	rng      *rand.Rand
	wake     chan struct{}
	inflight chan inflight

	mu sync.Mutex
	q  []queued
	// departing are frames released to the receiver ahead of their
	// modelled departure (releaseGrain): they occupy the queue until then.
	departing []departure
	// qBytes counts the wire bytes of q and departing.
	qBytes int
	closed bool
	st     DirStats
}

// departure is a released frame's size and modelled departure time.
type departure struct {
	done time.Time
	wire int
}

func newPipe(l *Link, dir Direction, to *end) *pipe {
	s := l.spec
	p := &pipe{link: l, dir: dir, to: to, limit: s.QueueBytes,
		wake: make(chan struct{}, 1), inflight: make(chan inflight, inflightCap(s)),
		rng: rand.New(rand.NewPCG(s.Seed, uint64(dir)))}
	if p.limit == 0 {
		p.limit = DefaultQueueBytes
	}
	p.setRate(s.Rate)
	p.wireLen = func(f []byte) int { return len(f) }
	if s.Framing == FramingSLIP {
		p.wireLen = SLIPEncodedLen
	}
	return p
}

// inflightCap is room for every frame that can be on the wire during the
// delay: the bandwidth-delay product in minimum-size (60-byte) frames, so
// that transmission does not wait for propagation, up to 65536 frames
// (beyond that, e.g. 1 Gbit/s with 30 ms of delay and only small frames,
// the transmitter waits).
func inflightCap(s LinkSpec) int {
	const minFrame = 60 // bytes
	if s.Delay == 0 {
		return 1
	}
	if s.Rate == 0 {
		return 1 << 16
	}
	bdp := float64(s.Rate) / 8 * s.Delay.Seconds()
	return int(min(bdp/minFrame, 1<<16)) + 16
}

// setRate sets the pipe's rate (bit/s; 0 = no limit).
func (p *pipe) setRate(bitsPerSecond int64) {
	ns := 0.0
	if bitsPerSecond > 0 {
		ns = 8e9 / float64(bitsPerSecond)
	}
	p.txNanos.Store(math.Float64bits(ns))
}

// flush drops the frames waiting in the queue (the link went down). A
// frame transmit already holds as the head is dropped when it would be
// delivered.
func (p *pipe) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.q) == 0 {
		return
	}
	// Keep the head: transmit pops it; deliver drops it while down.
	for _, f := range p.q[1:] {
		p.qBytes -= f.wire
	}
	p.st.DownDrops += int64(len(p.q) - 1)
	p.q = p.q[:1]
}

func (p *pipe) stats() DirStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// send enqueues a copy of frame or counts its drop.
func (p *pipe) send(frame []byte) {
	now := time.Now()
	wire := p.wireLen(frame)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.link.ingress.write(p.link.stamp(now), frame)
	p.expire(now)
	p.st.OfferedFrames++
	p.st.OfferedBytes += int64(wire)
	if p.link.down.Load() {
		p.st.DownDrops++
		return
	}
	if p.qBytes+wire > p.limit {
		p.st.QueueDrops++
		p.st.QueueDropBytes += int64(wire)
		return
	}
	p.q = append(p.q, queued{frame: append([]byte(nil), frame...), wire: wire, at: now})
	p.qBytes += wire
	p.st.MaxQueueBytes = max(p.st.MaxQueueBytes, int64(p.qBytes))
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// head waits for the frame at the head of the queue; it stays counted in
// the queue until it has been transmitted.
func (p *pipe) head(ctx context.Context) (queued, bool) {
	for {
		p.mu.Lock()
		if len(p.q) > 0 {
			f := p.q[0]
			p.mu.Unlock()
			return f, true
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-ctx.Done():
			return queued{}, false
		}
	}
}

// pop moves the head of the queue to departing, to leave at done.
func (p *pipe) pop(done time.Time) {
	p.mu.Lock()
	p.departing = append(p.departing, departure{done: done, wire: p.q[0].wire})
	p.q[0] = queued{}
	p.q = p.q[1:]
	p.expire(time.Now())
	p.mu.Unlock()
}

// expire frees the queue space of frames whose departure time has come.
// Departures are in order, so the oldest are first.
func (p *pipe) expire(now time.Time) {
	i := 0
	for ; i < len(p.departing) && !p.departing[i].done.After(now); i++ {
		p.qBytes -= p.departing[i].wire
	}
	p.departing = p.departing[i:]
}

// transmit serves the queue: each frame starts when the previous one is
// done or when it arrived, whichever is later, and takes wire*8/Rate.
func (p *pipe) transmit(ctx context.Context) {
	var done time.Time // exact end of the last transmission
	for {
		f, ok := p.head(ctx)
		if !ok {
			return
		}
		start := done
		if f.at.After(start) {
			start = f.at
		}
		txNanos := math.Float64frombits(p.txNanos.Load())
		done = start.Add(time.Duration(txNanos * float64(f.wire)))
		if !sleepUntil(ctx, done.Add(-releaseGrain)) {
			return
		}
		p.pop(done)
		if p.link.spec.Loss > 0 && p.rng.Float64() < p.link.spec.Loss {
			p.mu.Lock()
			p.st.LossDrops++
			p.mu.Unlock()
			continue
		}
		if p.link.spec.Delay == 0 {
			p.deliver(f.frame, f.wire, done)
			continue
		}
		select {
		case p.inflight <- inflight{frame: f.frame, wire: f.wire, at: done.Add(p.link.spec.Delay)}:
		case <-ctx.Done():
			return
		}
	}
}

// propagate delivers frames after the link's delay. Frames leave in order
// and the delay is constant, so a FIFO keeps them in order.
func (p *pipe) propagate(ctx context.Context) {
	for {
		select {
		case f := <-p.inflight:
			if !sleepUntil(ctx, f.at) {
				return
			}
			p.deliver(f.frame, f.wire, f.at)
		case <-ctx.Done():
			return
		}
	}
}

// deliver hands a frame to the far end. at is the model's arrival time of
// its last bit; the capture records that time, so a pcap shows the link's
// shaping exactly even when a goroutine wakes late.
func (p *pipe) deliver(frame []byte, wire int, at time.Time) {
	if p.link.down.Load() {
		p.mu.Lock()
		p.st.DownDrops++
		p.mu.Unlock()
		return
	}
	if t := p.link.spec.Tamper; t != nil {
		if frame = t(p.link.spec.Framing, p.dir, frame); frame == nil {
			p.mu.Lock()
			p.st.LossDrops++
			p.mu.Unlock()
			return
		}
	}
	p.link.wire.write(p.link.stamp(at), frame)
	ok := false
	if r := p.to.recv.Load(); r != nil {
		ok = (*r)(frame)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ok {
		p.st.NoReceiverDrops++
		return
	}
	p.st.DeliveredFrames++
	p.st.DeliveredBytes += int64(wire)
}

func (p *pipe) close() {
	p.mu.Lock()
	p.closed = true
	p.q, p.departing, p.qBytes = nil, nil, 0
	p.mu.Unlock()
}

// sleepUntil waits until t or ctx's end; it reports false on the latter.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
