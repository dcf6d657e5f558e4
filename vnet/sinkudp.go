package vnet

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// SinkReceiveBuffer is the sink's UDP receive buffer in bytes (of payload,
// as gVisor charges it): gVisor's largest, like netperf's -S on the
// receiver. The sink is a Go process on a host that also runs the guests;
// with gVisor's default of 212 KiB a sink reader held back for tens of
// milliseconds dropped datagrams of a guest streaming 150 Mbit/s.
const SinkReceiveBuffer = stack.DefaultMaxBufferSize

// sinkUDP is the sink's UDP socket, read through the gVisor endpoint
// itself rather than gonet for the time the netstack queued each datagram
// on the socket: a reader that the host's scheduler holds back then reads
// a backlog without squeezing its arrival times together.
type sinkUDP struct {
	ep       tcpip.Endpoint
	wq       waiter.Queue
	entry    waiter.Entry
	readable chan struct{}
	closed   chan struct{}
	once     sync.Once
}

// listenSinkUDP opens a UDP socket on h bound to port, closed when ctx ends
// or on Close.
func listenSinkUDP(ctx context.Context, h *Host, port int) (*sinkUDP, error) {
	u := &sinkUDP{closed: make(chan struct{})}
	u.entry, u.readable = waiter.NewChannelEntry(waiter.ReadableEvents)
	u.wq.EventRegister(&u.entry)
	ep, terr := h.stack.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &u.wq)
	if terr != nil {
		return nil, fmt.Errorf("host %s: udp endpoint: %s", h.name, terr)
	}
	ep.SocketOptions().SetReceiveBufferSize(SinkReceiveBuffer, true)
	if terr := ep.Bind(tcpip.FullAddress{Port: uint16(port)}); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("host %s: bind udp :%d: %s", h.name, port, terr)
	}
	u.ep = ep
	context.AfterFunc(ctx, func() { u.Close() })
	return u, nil
}

// read reads one datagram into buf and returns its size, its source
// ("ip:port") and when the netstack queued it on the socket (time.Now's
// clock, with its monotonic reading). After Close it returns net.ErrClosed.
func (u *sinkUDP) read(buf []byte) (int, string, time.Time, error) {
	for {
		w := tcpip.SliceWriter(buf)
		res, terr := u.ep.Read(&w, tcpip.ReadOptions{NeedRemoteAddr: true})
		switch terr.(type) {
		case nil:
			from := net.JoinHostPort(res.RemoteAddr.Addr.String(), strconv.Itoa(int(res.RemoteAddr.Port)))
			return res.Count, from, res.ControlMessages.Timestamp, nil
		case *tcpip.ErrWouldBlock:
			select {
			case <-u.readable:
			case <-u.closed:
				return 0, "", time.Time{}, net.ErrClosed
			}
		case *tcpip.ErrClosedForReceive:
			return 0, "", time.Time{}, net.ErrClosed
		default:
			return 0, "", time.Time{}, fmt.Errorf("sink: udp read: %s", terr)
		}
	}
}

// Close closes the socket; it is safe to call more than once.
func (u *sinkUDP) Close() error {
	u.once.Do(func() {
		close(u.closed)
		u.ep.Close()
		u.wq.EventUnregister(&u.entry)
	})
	return nil
}
