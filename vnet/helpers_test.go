package vnet

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// pairTopology is two hosts, a (10.9.0.1) and b (10.9.0.2), on link "ab"
// with the given parameters.
func pairTopology(l LinkSpec) Topology {
	l.Name, l.Framing = "ab", FramingEthernet
	l.A, l.B = Port{"a", 0}, Port{"b", 0}
	return Topology{
		Nodes: []NodeSpec{
			{Name: "a", Kind: NodeHost, NICs: []NICSpec{{MAC: "52:54:00:aa:00:01", Addr: netip.MustParsePrefix("10.9.0.1/24")}}},
			{Name: "b", Kind: NodeHost, NICs: []NICSpec{{MAC: "52:54:00:bb:00:01", Addr: netip.MustParsePrefix("10.9.0.2/24")}}},
		},
		Links: []LinkSpec{l},
	}
}

// socketpair returns the two ends of a connected unix stream socket, as
// the orchestrator hands one to QEMU and one to vnet.
func socketpair(t testing.TB) (guest, host net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatalf("socketpair conn: %v", err)
		}
		conns[i] = c
	}
	t.Cleanup(func() { conns[0].Close() })
	return conns[0], conns[1]
}

// writeStreamFrame writes one frame in -netdev stream format.
func writeStreamFrame(w io.Writer, frame []byte) error {
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(frame)))
	_, err := w.Write(append(msg, frame...))
	return err
}

// readStreamFrame reads one frame in -netdev stream format.
func readStreamFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	_, err := io.ReadFull(r, frame)
	return frame, err
}

// guestStack is a gVisor stack that plays a QEMU guest on the other end of
// a socketpair: it speaks the stream format (Ethernet) or SLIP. Its own
// channel queue is fine here: the test guest is not what is measured.
func guestStack(t testing.TB, ctx context.Context, f Framing, conn net.Conn, mac string, addr netip.Prefix, gw netip.Addr) *Host {
	t.Helper()
	s, err := newStack(false)
	if err != nil {
		t.Fatal(err)
	}
	mtu := uint32(1500 + header.EthernetMinimumSize)
	var hw tcpip.LinkAddress
	if f == FramingSLIP {
		mtu = 296
	} else {
		m, err := parseMAC(mac)
		if err != nil {
			t.Fatal(err)
		}
		hw = tcpip.LinkAddress(m)
	}
	ch := channel.New(256, mtu, hw)
	var ep stack.LinkEndpoint = ch
	if f == FramingEthernet {
		ep = ethernet.New(ch)
	}
	if err := s.CreateNIC(1, ep); err != nil {
		t.Fatalf("guest NIC: %s", err)
	}
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{
		Address: tcpip.AddrFrom4(addr.Addr().As4()), PrefixLen: addr.Bits()}}
	if err := s.AddProtocolAddress(1, pa, stack.AddressProperties{}); err != nil {
		t.Fatalf("guest address: %s", err)
	}
	routes := []tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: 1}}
	if gw.IsValid() {
		routes = append(routes, tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4(gw.As4()), NIC: 1})
	}
	s.SetRouteTable(routes)
	pumpCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { // guest to vnet
		defer func() { done <- struct{}{} }()
		for {
			pkt := ch.ReadContext(pumpCtx)
			if pkt == nil {
				return
			}
			var frame []byte
			for _, b := range pkt.AsSlices() {
				frame = append(frame, b...)
			}
			pkt.DecRef()
			var err error
			if f == FramingSLIP {
				_, err = conn.Write(SLIPEncode(nil, frame))
			} else {
				err = writeStreamFrame(conn, frame)
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // vnet to guest
		defer func() { done <- struct{}{} }()
		inject := func(frame []byte) {
			pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(append([]byte(nil), frame...))})
			proto := tcpip.NetworkProtocolNumber(0)
			if f == FramingSLIP {
				proto = header.IPv4ProtocolNumber
			}
			ch.InjectInbound(proto, pkt)
			pkt.DecRef()
		}
		if f == FramingSLIP {
			var d SLIPDecoder
			buf := make([]byte, 4096)
			for {
				k, err := conn.Read(buf)
				d.Write(buf[:k], inject)
				if err != nil {
					return
				}
			}
		}
		for {
			frame, err := readStreamFrame(conn)
			if err != nil {
				return
			}
			inject(frame)
		}
	}()
	t.Cleanup(func() {
		cancel()
		conn.Close()
		<-done
		<-done
		s.Destroy()
	})
	return &Host{name: "guest", stack: s, addrs: []netip.Addr{addr.Addr()}}
}

// readPcap returns the frames of a pcap file and checks its link type.
func readPcap(t testing.TB, path string, want layers.LinkType) (frames [][]byte, times []time.Time) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if r.LinkType() != want {
		t.Fatalf("%s: link type %v, want %v", path, r.LinkType(), want)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return frames, times
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		frames = append(frames, data)
		times = append(times, ci.Timestamp)
	}
}

// eventually polls cond every 10 ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
