package vnet

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"specbed/qemu"
)

// rawGuest speaks raw Ethernet frames in the stream format, as a QEMU NIC
// does, with nothing but the header package: it proves that a guest
// reaches a host by ARP and plain IPv4.
type rawGuest struct {
	conn net.Conn
	mac  tcpip.LinkAddress
	ip   tcpip.Address
}

func (g *rawGuest) arpRequest(target tcpip.Address) []byte {
	frame := make([]byte, header.EthernetMinimumSize+header.ARPSize)
	header.Ethernet(frame).Encode(&header.EthernetFields{SrcAddr: g.mac,
		DstAddr: header.EthernetBroadcastAddress, Type: header.ARPProtocolNumber})
	a := header.ARP(frame[header.EthernetMinimumSize:])
	a.SetIPv4OverEthernet()
	a.SetOp(header.ARPRequest)
	copy(a.HardwareAddressSender(), g.mac)
	copy(a.ProtocolAddressSender(), g.ip.AsSlice())
	copy(a.ProtocolAddressTarget(), target.AsSlice())
	return frame
}

// resolve sends an ARP request and waits for the reply.
func (g *rawGuest) resolve(t *testing.T, target tcpip.Address) tcpip.LinkAddress {
	t.Helper()
	if err := writeStreamFrame(g.conn, g.arpRequest(target)); err != nil {
		t.Fatal(err)
	}
	g.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer g.conn.SetReadDeadline(time.Time{})
	for {
		frame, err := readStreamFrame(g.conn)
		if err != nil {
			t.Fatalf("waiting for the ARP reply: %v", err)
		}
		eth := header.Ethernet(frame)
		if len(frame) < header.EthernetMinimumSize+header.ARPSize || eth.Type() != header.ARPProtocolNumber {
			continue
		}
		a := header.ARP(frame[header.EthernetMinimumSize:])
		if a.IsValid() && a.Op() == header.ARPReply && bytes.Equal(a.ProtocolAddressSender(), target.AsSlice()) {
			if eth.DestinationAddress() != g.mac {
				t.Errorf("ARP reply sent to %v, want %v", eth.DestinationAddress(), g.mac)
			}
			return tcpip.LinkAddress(a.HardwareAddressSender())
		}
	}
}

// udpFrame builds an Ethernet frame with an IPv4 UDP datagram (UDP
// checksum 0: none, as IPv4 allows).
func (g *rawGuest) udpFrame(dstMAC tcpip.LinkAddress, dst tcpip.Address, port uint16, payload []byte) []byte {
	n := header.EthernetMinimumSize + header.IPv4MinimumSize + header.UDPMinimumSize + len(payload)
	frame := make([]byte, n)
	header.Ethernet(frame).Encode(&header.EthernetFields{SrcAddr: g.mac, DstAddr: dstMAC, Type: header.IPv4ProtocolNumber})
	ip := header.IPv4(frame[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(len(ip)), TTL: 64,
		Protocol: uint8(header.UDPProtocolNumber), SrcAddr: g.ip, DstAddr: dst})
	ip.SetChecksum(^ip.CalculateChecksum())
	udp := header.UDP(ip.Payload())
	udp.Encode(&header.UDPFields{SrcPort: 40000, DstPort: port, Length: uint16(len(udp))})
	copy(udp.Payload(), payload)
	return frame
}

func TestRawGuestReachesSinkByARP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo, err := DefaultTopology("g", qemu.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	pcap := filepath.Join(t.TempDir(), "data.pcap")
	topo.Link(DataLink).Pcap = pcap
	n, err := Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	sink, err := StartSink(ctx, n.Host(SinkHost), SinkPort)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	guestConn, hostConn := socketpair(t)
	if err := n.AttachEthernet("g", DataNIC, hostConn); err != nil {
		t.Fatal(err)
	}
	mac, _ := parseMAC(GuestMAC(0, DataNIC))
	g := &rawGuest{conn: guestConn, mac: tcpip.LinkAddress(mac), ip: tcpip.AddrFrom4(netip.MustParseAddr(GuestDataIP).As4())}
	sinkIP := tcpip.AddrFrom4(netip.MustParseAddr(SinkIP).As4())
	sinkMAC := g.resolve(t, sinkIP)
	if want, _ := parseMAC(SinkMAC); sinkMAC != tcpip.LinkAddress(want) {
		t.Fatalf("ARP: sink is at %v, want %v", sinkMAC, SinkMAC)
	}
	// Sequence 3 is never sent: one gap.
	seqs := []uint32{0, 1, 2, 4, 5}
	const size = 100
	for _, seq := range seqs {
		payload := make([]byte, size)
		binary.BigEndian.PutUint32(payload, seq)
		if err := writeStreamFrame(guestConn, g.udpFrame(sinkMAC, sinkIP, SinkPort, payload)); err != nil {
			t.Fatal(err)
		}
	}
	var rep SinkReport
	if !eventually(5*time.Second, func() bool {
		rep = sink.Report()
		return len(rep.UDP) == 1 && rep.UDP[0].Datagrams == int64(len(seqs))
	}) {
		t.Fatalf("sink saw %+v, want %d datagrams from one source", rep.UDP, len(seqs))
	}
	f := rep.UDP[0]
	if f.Source != GuestDataIP+":40000" || f.Bytes != size*int64(len(seqs)) || f.Gaps != 1 || f.Late != 0 || len(f.Arrivals) != len(seqs) {
		t.Errorf("sink flow = %s: %d bytes, %d gaps, %d late, %d arrivals; want %s:40000, %d bytes, 1 gap, 0 late",
			f.Source, f.Bytes, f.Gaps, f.Late, len(f.Arrivals), GuestDataIP, size*len(seqs))
	}
	st := n.Link(DataLink).Stats()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	frames, _ := readPcap(t, pcap, layers.LinkTypeEthernet)
	// ARP request and reply, and the datagrams.
	if want := 2 + len(seqs); len(frames) != want || st.AToB.DeliveredFrames != int64(1+len(seqs)) {
		t.Errorf("pcap has %d frames, link delivered %d guest frames; want %d frames", len(frames), st.AToB.DeliveredFrames, want)
	}
}

// echo serves l: every connection gets its bytes back.
func echo(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// echoRoundTrip sends size bytes to addr from h and checks they return.
func echoRoundTrip(t *testing.T, ctx context.Context, h *Host, addr string, size int) {
	t.Helper()
	c, err := h.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	errc := make(chan error, 1)
	go func() { _, err := c.Write(msg); errc <- err }()
	got := make([]byte, size)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("echo from %s: %v", addr, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo from %s: bytes differ", addr)
	}
}

// TestGuestStacks runs a guest netstack over each default topology: TCP to
// the server host over the specialization path and UDP to the sink over
// the data path, through the router on the SLIP topology.
func TestGuestStacks(t *testing.T) {
	for _, tc := range []struct {
		link     qemu.Link
		pcapLink string
		pcapType layers.LinkType
	}{
		{qemu.LinkEthernet, SpecLink, layers.LinkTypeEthernet},
		{qemu.LinkSLIP, SLIPLink, layers.LinkTypeRaw},
	} {
		t.Run(string(tc.link), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			topo, err := DefaultTopology("g", tc.link)
			if err != nil {
				t.Fatal(err)
			}
			pcap := filepath.Join(t.TempDir(), "link.pcap")
			topo.Link(tc.pcapLink).Pcap = pcap
			n, err := Start(ctx, topo)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			l, err := n.Host(ServerHost).Listen(ctx, "tcp", fmt.Sprintf(":%d", ServerPort))
			if err != nil {
				t.Fatal(err)
			}
			go echo(l)
			sink, err := StartSink(ctx, n.Host(SinkHost), SinkPort)
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()

			var spec, data *Host
			if tc.link == qemu.LinkSLIP {
				gc, hc := socketpair(t)
				if err := n.AttachSLIP("g", hc); err != nil {
					t.Fatal(err)
				}
				spec = guestStack(t, ctx, FramingSLIP, gc, "", netip.MustParsePrefix(GuestSLIPIP+"/24"),
					netip.MustParseAddr(RouterSLIPIP))
				data = spec
			} else {
				gc, hc := socketpair(t)
				if err := n.AttachEthernet("g", SpecNIC, hc); err != nil {
					t.Fatal(err)
				}
				spec = guestStack(t, ctx, FramingEthernet, gc, GuestMAC(0, SpecNIC), prefix(GuestSpecIP), netip.Addr{})
				gc, hc = socketpair(t)
				if err := n.AttachEthernet("g", DataNIC, hc); err != nil {
					t.Fatal(err)
				}
				data = guestStack(t, ctx, FramingEthernet, gc, GuestMAC(0, DataNIC), prefix(GuestDataIP), netip.Addr{})
			}
			// More than a SLIP MTU, so the transfer takes many segments.
			echoRoundTrip(t, ctx, spec, fmt.Sprintf("%s:%d", ServerIP, ServerPort), 3000)

			u, err := data.Dial(ctx, "udp", fmt.Sprintf("%s:%d", SinkIP, SinkPort))
			if err != nil {
				t.Fatal(err)
			}
			// The first datagram waits for the guest's ARP; the guest stack
			// may send datagrams queued behind a resolution out of order, so
			// the rest go once it has arrived.
			const datagrams = 20
			u.Write(binary.BigEndian.AppendUint32(make([]byte, 0, 64), 0))
			if !eventually(10*time.Second, func() bool { return len(sink.Report().UDP) == 1 }) {
				t.Fatal("first datagram did not reach the sink")
			}
			for seq := range uint32(datagrams - 1) {
				u.Write(binary.BigEndian.AppendUint32(make([]byte, 0, 64), seq+1))
			}
			if !eventually(10*time.Second, func() bool {
				r := sink.Report()
				return len(r.UDP) == 1 && r.UDP[0].Datagrams == datagrams
			}) {
				t.Fatalf("sink saw %+v, want %d datagrams", sink.Report().UDP, datagrams)
			}
			if r := sink.Report().UDP[0]; r.Gaps != 0 || r.Late != 0 {
				t.Errorf("sink: %d gaps, %d late; want none", r.Gaps, r.Late)
			}
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			frames, _ := readPcap(t, pcap, tc.pcapType)
			f := FramingEthernet
			if tc.pcapType == layers.LinkTypeRaw {
				f = FramingSLIP
			}
			ipFrames := 0
			for _, fr := range frames {
				if IPv4Packet(f, fr) != nil {
					ipFrames++
				}
			}
			// 3000 bytes each way in at least 256-byte segments, plus
			// handshakes and the datagrams on the SLIP line.
			if ipFrames < 2*3000/1460 {
				t.Errorf("pcap %s: %d IPv4 frames of %d", tc.pcapLink, ipFrames, len(frames))
			}
		})
	}
}
