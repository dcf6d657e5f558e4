package vnet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
)

// Network is a running topology.
type Network struct {
	cancel context.CancelFunc
	ctx    context.Context
	wg     sync.WaitGroup
	hosts  map[string]*Host
	links  map[string]*Link
	guests map[string]bool
	// ports maps a node's NIC to its link end and the link.
	ports map[Port]portInfo

	mu       sync.Mutex
	attached map[Port]io.Closer
	closed   bool
}

type portInfo struct {
	end  *end
	link *Link
}

// Start builds the topology's hosts, routers and links and starts moving
// frames. Guests' NICs stay unattached (frames to them are counted as
// NoReceiverDrops) until AttachEthernet or AttachSLIP. Close releases
// everything; ctx only bounds Start itself and the lifetime of the network.
func Start(ctx context.Context, topo Topology) (_ *Network, err error) {
	if err := topo.Validate(); err != nil {
		return nil, fmt.Errorf("vnet: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	n := &Network{cancel: cancel, ctx: runCtx, hosts: map[string]*Host{}, links: map[string]*Link{},
		guests: map[string]bool{}, ports: map[Port]portInfo{}, attached: map[Port]io.Closer{}}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	for _, spec := range topo.Links {
		l, err := newLink(spec)
		if err != nil {
			return nil, fmt.Errorf("vnet: link %s: %w", spec.Name, err)
		}
		n.links[spec.Name] = l
		n.ports[spec.A] = portInfo{l.ends[0], l}
		n.ports[spec.B] = portInfo{l.ends[1], l}
		for _, p := range l.pipes {
			n.wg.Add(2)
			go func() { defer n.wg.Done(); p.transmit(runCtx) }()
			go func() { defer n.wg.Done(); p.propagate(runCtx) }()
		}
	}
	for _, node := range topo.Nodes {
		if node.Kind == NodeGuest {
			n.guests[node.Name] = true
			continue
		}
		ends := make([]*end, len(node.NICs))
		framing := make([]Framing, len(node.NICs))
		mtu := make([]int, len(node.NICs))
		for i := range node.NICs {
			pi := n.ports[Port{node.Name, i}]
			ends[i], framing[i], mtu[i] = pi.end, pi.link.spec.Framing, pi.link.spec.MTU
		}
		if node.Kind == NodeSwitch {
			newSwitch(ends)
			continue
		}
		h, err := newHost(node, ends, framing, mtu)
		if err != nil {
			return nil, fmt.Errorf("vnet: %w", err)
		}
		n.hosts[node.Name] = h
	}
	return n, nil
}

func newLink(spec LinkSpec) (*Link, error) {
	if spec.MTU == 0 {
		spec.MTU = 1500
		if spec.Framing == FramingSLIP {
			spec.MTU = 296
		}
	}
	if spec.QueueBytes == 0 {
		spec.QueueBytes = DefaultQueueBytes
	}
	l := &Link{spec: spec, ends: [2]*end{{}, {}}, epoch: time.Now()}
	var err error
	if spec.Pcap != "" {
		if l.wire, err = newCapture(spec.Pcap, spec.Framing); err != nil {
			return nil, err
		}
	}
	if spec.IngressPcap != "" {
		if l.ingress, err = newCapture(spec.IngressPcap, spec.Framing); err != nil {
			l.wire.close()
			return nil, err
		}
	}
	// The A end sends into the A->B pipe, which delivers to the B end.
	l.pipes[AToB] = newPipe(l, AToB, l.ends[1])
	l.pipes[BToA] = newPipe(l, BToA, l.ends[0])
	l.ends[0].out, l.ends[1].out = l.pipes[AToB], l.pipes[BToA]
	return l, nil
}

// Host returns the named host or router, or nil.
func (n *Network) Host(name string) *Host { return n.hosts[name] }

// Link returns the named link, or nil.
func (n *Network) Link(name string) *Link { return n.links[name] }

// guestPort finds a guest's NIC and checks its framing.
func (n *Network) guestPort(guest string, nic int, f Framing) (portInfo, error) {
	if !n.guests[guest] {
		return portInfo{}, fmt.Errorf("vnet: no guest %q in the topology", guest)
	}
	pi, ok := n.ports[Port{guest, nic}]
	if !ok {
		return portInfo{}, fmt.Errorf("vnet: no link on guest %s NIC %d", guest, nic)
	}
	if pi.link.spec.Framing != f {
		return portInfo{}, fmt.Errorf("vnet: guest %s NIC %d is on %s link %s, not %s",
			guest, nic, pi.link.spec.Framing, pi.link.spec.Name, f)
	}
	return pi, nil
}

// claim records conn as the port's attachment; the network closes it.
func (n *Network) claim(p Port, conn io.Closer) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("vnet: network closed")
	}
	if _, ok := n.attached[p]; ok {
		return fmt.Errorf("vnet: guest %s NIC %d is already attached", p.Node, p.NIC)
	}
	n.attached[p] = conn
	return nil
}

// maxStreamFrame is the largest frame accepted from a -netdev stream, in
// bytes (QEMU's stream backend sends up to 64 KiB with its 4-byte prefix).
const maxStreamFrame = 65535

// AttachEthernet connects guest NIC nic to conn, the host end of a QEMU
// -netdev stream: every frame is prefixed by its length as a 4-byte
// big-endian integer. The network owns conn from now on and closes it in
// Close, or at once if attaching fails. An *os.File holding a socket is
// moved to Go's poller so that Close interrupts its reads and writes (a
// blocking descriptor's File would not). conn is read continuously, so the guest is never blocked by a
// full link: the link's queue drops and counts instead.
func (n *Network) AttachEthernet(guest string, nic int, conn io.ReadWriteCloser) error {
	pi, err := n.guestPort(guest, nic, FramingEthernet)
	if err != nil {
		conn.Close()
		return err
	}
	conn, err = pollable(conn)
	if err != nil {
		return fmt.Errorf("vnet: guest %s NIC %d: %w", guest, nic, err)
	}
	p := Port{guest, nic}
	if err := n.claim(p, conn); err != nil {
		conn.Close()
		return err
	}
	var wmu sync.Mutex
	pi.end.setReceiver(func(frame []byte) bool {
		wmu.Lock()
		defer wmu.Unlock()
		msg := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(frame)), uint32(len(frame)))
		_, err := conn.Write(append(msg, frame...))
		return err == nil
	})
	// Readers are not waited for in Close: what they send after Close
	// is discarded by the closed pipes.
	go readStream(conn, pi.end)
	return nil
}

// readStream moves length-prefixed frames from conn to the link until conn
// fails or a length is out of range (the stream is then out of sync).
func readStream(conn io.Reader, e *end) {
	var hdr [4]byte
	buf := make([]byte, maxStreamFrame)
	for {
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(hdr[:])
		if size == 0 || size > maxStreamFrame {
			return
		}
		if _, err := io.ReadFull(conn, buf[:size]); err != nil {
			return
		}
		e.send(buf[:size])
	}
}

// AttachSLIP connects the guest's SLIP line (its NIC 0) to conn, the host
// end of the UART's chardev. The network owns conn as in AttachEthernet.
// conn is
// drained continuously, because QEMU drops UART bytes that the host does
// not read in time.
func (n *Network) AttachSLIP(guest string, conn io.ReadWriteCloser) error {
	pi, err := n.guestPort(guest, 0, FramingSLIP)
	if err != nil {
		conn.Close()
		return err
	}
	conn, err = pollable(conn)
	if err != nil {
		return fmt.Errorf("vnet: guest %s SLIP line: %w", guest, err)
	}
	p := Port{guest, 0}
	if err := n.claim(p, conn); err != nil {
		conn.Close()
		return err
	}
	var wmu sync.Mutex
	pi.end.setReceiver(func(pkt []byte) bool {
		wmu.Lock()
		defer wmu.Unlock()
		_, err := conn.Write(SLIPEncode(make([]byte, 0, SLIPEncodedLen(pkt)), pkt))
		return err == nil
	})
	go func() {
		d := SLIPDecoder{MaxPacket: maxStreamFrame}
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			d.Write(buf[:k], pi.end.send)
			if err != nil {
				return
			}
		}
	}()
	return nil
}

// pollable turns an *os.File that holds a socket (one end of a socketpair
// made for QEMU) into a net.Conn on Go's poller, so that closing it
// interrupts a blocked read or write; os.NewFile of a blocking descriptor
// gives a File whose Close waits for them. Other connections are
// returned as they are.
func pollable(conn io.ReadWriteCloser) (io.ReadWriteCloser, error) {
	f, ok := conn.(*os.File)
	if !ok {
		return conn, nil
	}
	c, err := net.FileConn(f)
	if err != nil {
		// Not a socket (a pipe, a pty): keep the file.
		return f, nil
	}
	if err := f.Close(); err != nil {
		c.Close()
		return nil, fmt.Errorf("close the original descriptor: %w", err)
	}
	return c, nil
}

// Close stops the network: guest connections are closed, frames in flight
// are discarded, stacks are destroyed and pcap files flushed. The first
// error writing a pcap is returned.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	conns := n.attached
	n.mu.Unlock()
	n.cancel()
	for _, c := range conns {
		c.Close()
	}
	n.wg.Wait()
	for _, l := range n.links {
		for _, p := range l.pipes {
			p.close()
		}
	}
	for _, h := range n.hosts {
		h.stack.Destroy()
	}
	var errs *multierror.Error
	for _, l := range n.links {
		errs = multierror.Append(errs, l.wire.close(), l.ingress.close())
	}
	return errs.ErrorOrNil()
}

// Settle waits until every frame offered to the named links in their A to B
// direction (away from the guest) has been delivered or dropped, polling
// every 50 ms: a 230400 bit/s SLIP line can run seconds behind the guest
// that filled it. It returns the frames those directions dropped (queue,
// loss, no receiver), or ctx's error when ctx ends first.
func (n *Network) Settle(ctx context.Context, links ...string) (drops int64, err error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var pending int64
		drops = 0
		for _, name := range links {
			l := n.Link(name)
			if l == nil {
				return 0, fmt.Errorf("settle: no link %q", name)
			}
			st := l.Stats().AToB
			dropped := st.QueueDrops + st.LossDrops + st.NoReceiverDrops
			drops += dropped
			pending += st.OfferedFrames - st.DeliveredFrames - dropped
		}
		if pending == 0 {
			return drops, nil
		}
		select {
		case <-ctx.Done():
			return drops, fmt.Errorf("settle: links %v still hold %d frames: %w", links, pending, ctx.Err())
		case <-tick.C:
		}
	}
}
