package vnet

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// StreamCheckRcvBuf is the TCP receive buffer (bytes) of a host that runs
// a StreamCheck: fixed, see FixReceiveWindow.
const StreamCheckRcvBuf = 256 << 10

// FixReceiveWindow turns the receive buffer autotuning of h's netstack off
// and fixes its buffer at StreamCheckRcvBuf: the window h advertises then
// tops out at the same size in every boot, and so does a guest sender's
// largest window, which tcp.decl guards (autotuned, it differed by one MSS
// between two boots of the p3, and LOAD refused the residual with ESTALE).
func FixReceiveWindow(h *Host) error {
	st := h.Stack()
	moderate := tcpip.TCPModerateReceiveBufferOption(false)
	if err := st.SetTransportProtocolOption(tcp.ProtocolNumber, &moderate); err != nil {
		return fmt.Errorf("host %s: receive buffer autotuning: %s", h.Name(), err)
	}
	size := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: StreamCheckRcvBuf, Max: StreamCheckRcvBuf}
	if err := st.SetTransportProtocolOption(tcp.ProtocolNumber, &size); err != nil {
		return fmt.Errorf("host %s: receive buffer size: %s", h.Name(), err)
	}
	return nil
}

// StreamCheck is a TCP receiver that checks every byte of one connection
// against the guest agent's payload: each send of adu bytes carries bytes
// 0, 1, 2, ... mod 256 (the agent's seed 0), so byte o of the stream is
// (o mod adu) mod 256, whatever path sent it. A wrong or missing byte
// stops the count at the first bad offset.
type StreamCheck struct {
	l    net.Listener
	done chan struct{}
	good atomic.Int64 // bytes in order before the first bad one
	bad  atomic.Int64 // offset of the first bad byte, -1 if none
}

// StartStreamCheck fixes h's receive window (FixReceiveWindow) and accepts
// one connection on port; it stops when ctx ends or on Close.
func StartStreamCheck(ctx context.Context, h *Host, port, adu int) (*StreamCheck, error) {
	if adu <= 0 {
		return nil, fmt.Errorf("stream check: ADU %d bytes", adu)
	}
	if err := FixReceiveWindow(h); err != nil {
		return nil, err
	}
	l, err := h.Listen(ctx, "tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return nil, err
	}
	c := &StreamCheck{l: l, done: make(chan struct{})}
	c.bad.Store(-1)
	go c.run(int64(adu))
	return c, nil
}

func (c *StreamCheck) run(adu int64) {
	defer close(c.done)
	conn, err := c.l.Accept()
	if err != nil {
		return // the listener closed: nothing connected
	}
	defer conn.Close()
	buf := make([]byte, 64<<10)
	var good int64
	bad := false
	for {
		n, err := conn.Read(buf)
		for _, b := range buf[:n] {
			if bad {
				break
			}
			if b != byte(good%adu) {
				bad = true
				c.bad.Store(good)
				break
			}
			good++
		}
		c.good.Store(good)
		if err != nil {
			return // EOF, or the netstack closed: good says how far it got
		}
	}
}

// Good is the bytes received in order before the first bad one.
func (c *StreamCheck) Good() int64 { return c.good.Load() }

// FirstBad is the offset of the first bad byte, -1 if none.
func (c *StreamCheck) FirstBad() int64 { return c.bad.Load() }

// Wait waits until want bytes arrived in order, a byte was bad, the
// connection ended or timeout (host wall time) passed.
func (c *StreamCheck) Wait(want int64, timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for c.FirstBad() < 0 && c.Good() < want {
		select {
		case <-c.done:
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

// Close stops accepting; a connection already accepted ends with the
// host's netstack.
func (c *StreamCheck) Close() error { return c.l.Close() }
