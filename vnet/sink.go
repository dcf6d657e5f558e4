package vnet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"time"
)

// MaxArrivals bounds the arrival records a Sink keeps per flow; counters go
// on past it.
const MaxArrivals = 1 << 20

// Arrival is one datagram (UDP) or one read (TCP) at the sink.
type Arrival struct {
	// At is the host time the sink got the data: for UDP when the sink
	// host's netstack queued the datagram on the sink's socket (however
	// late the sink read it), for TCP when the sink read it.
	At time.Time
	// Bytes is the payload size in bytes.
	Bytes int
	// Seq is the datagram's sequence number (UDP only).
	Seq uint32
}

// FlowReport is what the sink saw from one source address.
type FlowReport struct {
	// Source is the sender's "ip:port".
	Source string
	// Bytes is the payload received, in bytes.
	Bytes int64
	// Datagrams counts UDP datagrams (0 for TCP).
	Datagrams int64
	// Gaps counts UDP sequence numbers skipped: a datagram whose sequence
	// number is above the next expected one adds the difference.
	Gaps int64
	// Late counts UDP datagrams whose sequence number was below the next
	// expected one (reordered or duplicated).
	Late int64
	// Short counts UDP datagrams under 4 bytes (no sequence number).
	Short int64
	// Arrivals in order, at most MaxArrivals.
	Arrivals []Arrival
}

// SinkReport is a snapshot of a Sink's flows, sorted by source.
type SinkReport struct {
	UDP, TCP []FlowReport
	// Dropped counts the UDP datagrams the sink host's netstack dropped
	// before any socket: they reached its NIC but no flow counts them.
	Dropped UDPDrops
}

// UDPDrops counts UDP datagrams a netstack dropped, by reason. The counts
// are the whole host's, for every port.
type UDPDrops struct {
	// Checksum counts datagrams with a bad UDP checksum.
	Checksum uint64
	// Malformed counts datagrams whose UDP header or length is invalid.
	Malformed uint64
	// ReceiveBuffer counts datagrams dropped because the socket's receive
	// buffer was full.
	ReceiveBuffer uint64
	// UnknownPort counts datagrams to a port with no socket.
	UnknownPort uint64
}

// Sink is the netperf-like benchmark receiver: on one port it counts UDP
// datagrams (the first 4 payload bytes are a big-endian sequence number)
// and discards TCP streams, recording bytes and arrival times.
type Sink struct {
	host *Host
	udp  *sinkUDP
	tcp  net.Listener
	wg   sync.WaitGroup

	// epoch anchors arrival times like a link's capture timestamps: the
	// wall clock at StartSink plus monotonic time, so that arrival times
	// stay consistent after they lose their monotonic reading (JSON).
	epoch time.Time

	mu      sync.Mutex
	udpFlow map[string]*flow
	tcpFlow map[string]*flow
	// conns are the open TCP connections; nil once closed.
	conns map[net.Conn]struct{}
}

type flow struct {
	FlowReport
	next    uint32
	started bool
}

// StartSink starts a sink on h at port. It stops when ctx ends or on Close.
func StartSink(ctx context.Context, h *Host, port int) (*Sink, error) {
	addr := fmt.Sprintf(":%d", port)
	udp, err := listenSinkUDP(ctx, h, port)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	tcp, err := h.Listen(ctx, "tcp", addr)
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("sink: %w", err)
	}
	s := &Sink{host: h, udp: udp, tcp: tcp, epoch: time.Now(), udpFlow: map[string]*flow{}, tcpFlow: map[string]*flow{},
		conns: map[net.Conn]struct{}{}}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s, nil
}

func (s *Sink) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		k, from, queued, err := s.udp.read(buf)
		if err != nil {
			return
		}
		now := s.epoch.Add(queued.Sub(s.epoch))
		s.mu.Lock()
		f := s.flow(s.udpFlow, from)
		f.Datagrams++
		f.Bytes += int64(k)
		a := Arrival{At: now, Bytes: k}
		if k < 4 {
			f.Short++
		} else {
			a.Seq = binary.BigEndian.Uint32(buf)
			switch {
			case !f.started || a.Seq == f.next:
			case a.Seq > f.next:
				f.Gaps += int64(a.Seq - f.next)
			default:
				f.Late++
			}
			if !f.started || a.Seq >= f.next {
				f.next, f.started = a.Seq+1, true
			}
		}
		f.record(a)
		s.mu.Unlock()
	}
}

func (s *Sink) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.conns == nil { // closed
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.discard(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// discard reads c to its end.
func (s *Sink) discard(c net.Conn) {
	buf := make([]byte, 64<<10)
	src := c.RemoteAddr().String()
	for {
		k, err := c.Read(buf)
		if k > 0 {
			now := s.now()
			s.mu.Lock()
			f := s.flow(s.tcpFlow, src)
			f.Bytes += int64(k)
			f.record(Arrival{At: now, Bytes: k})
			s.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func (s *Sink) now() time.Time { return s.epoch.Add(time.Since(s.epoch)) }

func (s *Sink) flow(m map[string]*flow, src string) *flow {
	f := m[src]
	if f == nil {
		f = &flow{FlowReport: FlowReport{Source: src}}
		m[src] = f
	}
	return f
}

func (f *flow) record(a Arrival) {
	if len(f.Arrivals) < MaxArrivals {
		f.Arrivals = append(f.Arrivals, a)
	}
}

// Report returns a copy of what the sink has seen so far.
func (s *Sink) Report() SinkReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.host.stack.Stats().UDP
	return SinkReport{UDP: snapshot(s.udpFlow), TCP: snapshot(s.tcpFlow), Dropped: UDPDrops{
		Checksum:      u.ChecksumErrors.Value(),
		Malformed:     u.MalformedPacketsReceived.Value(),
		ReceiveBuffer: u.ReceiveBufferErrors.Value(),
		UnknownPort:   u.UnknownPortErrors.Value(),
	}}
}

func snapshot(m map[string]*flow) []FlowReport {
	out := make([]FlowReport, 0, len(m))
	for _, f := range m {
		r := f.FlowReport
		r.Arrivals = append([]Arrival(nil), f.Arrivals...)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// Close stops the sink and waits for its connections to end.
func (s *Sink) Close() error {
	err := errors.Join(s.udp.Close(), s.tcp.Close())
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.conns = nil
	s.mu.Unlock()
	s.wg.Wait()
	return err
}
