package guards_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"specbed/vnet"
)

// tcpStreams is the sink host's side of the TCP flows: a listener that
// reads every connection at once and one that holds each connection
// unread until a datagram arrives on the go port (one datagram, one
// connection released). Every connection's bytes are checked against
// the pattern: byte o of a connection must be pattern(o).
type tcpStreams struct {
	pattern func(o int64) byte
	ls      []net.Listener
	gos     net.PacketConn
	release chan struct{}

	mu sync.Mutex
	// conns counts the accepted connections, good the bytes in order
	// before a connection's first bad byte, bad the connections with one,
	// ended those that reached their end (EOF or reset).
	conns, good, bad, ended int64
}

// Ports of the sink host's TCP flows.
const (
	tcpReadPort  = 5101
	tcpStallPort = 5102
	tcpGoPort    = 5103
)

func startTCPStreams(ctx context.Context, h *vnet.Host, pattern func(int64) byte) (*tcpStreams, error) {
	s := &tcpStreams{pattern: pattern, release: make(chan struct{}, 1024)}
	for _, port := range []int{tcpReadPort, tcpStallPort} {
		l, err := h.Listen(ctx, "tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			s.close()
			return nil, fmt.Errorf("tcp streams: listen on %d: %w", port, err)
		}
		s.ls = append(s.ls, l)
		go s.accept(l, port == tcpStallPort)
	}
	gos, err := h.ListenUDP(ctx, fmt.Sprintf(":%d", tcpGoPort))
	if err != nil {
		s.close()
		return nil, fmt.Errorf("tcp streams: go port: %w", err)
	}
	s.gos = gos
	go s.goes()
	return s, nil
}

func (s *tcpStreams) goes() {
	buf := make([]byte, 64)
	for {
		if _, _, err := s.gos.ReadFrom(buf); err != nil {
			return
		}
		s.release <- struct{}{}
	}
}

func (s *tcpStreams) accept(l net.Listener, stall bool) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		go s.read(c, stall)
	}
}

// read checks one connection; a stalled one waits for its release first.
func (s *tcpStreams) read(c net.Conn, stall bool) {
	defer c.Close()
	if stall {
		<-s.release
	}
	buf := make([]byte, 64<<10)
	var o int64
	for {
		n, err := c.Read(buf)
		var good int64
		bad := false
		for _, b := range buf[:n] {
			if b != s.pattern(o) {
				bad = true
				break
			}
			o++
			good++
		}
		s.mu.Lock()
		s.good += good
		if bad {
			s.bad++
		}
		if err != nil {
			s.ended++
		}
		s.mu.Unlock()
		if err != nil || bad {
			return
		}
	}
}

// totals is a snapshot of the counts.
type tcpTotals struct{ conns, good, bad, ended int64 }

func (s *tcpStreams) totals() tcpTotals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tcpTotals{s.conns, s.good, s.bad, s.ended}
}

// settle waits until every accepted connection ended and the counts have
// not moved for a second, at most a minute (host time: the netstack runs
// late on a loaded host).
func (s *tcpStreams) settle() {
	last, stable := s.totals(), 0
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		now := s.totals()
		if now != last {
			last, stable = now, 0
			continue
		}
		if stable++; stable >= 10 && now.ended+now.bad >= now.conns {
			return
		}
	}
}

// close stops the listeners; connections still open end with the netstack.
func (s *tcpStreams) close() {
	for _, l := range s.ls {
		l.Close()
	}
	if s.gos != nil {
		s.gos.Close()
	}
}
