package vnet

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// TestRouterForwardsFragmentsUnchanged sends UDP datagrams larger than the
// 1500-byte MTU through a router. The sink must get each datagram whole,
// and every fragment must leave the router as it arrived (in any order)
// except for the TTL and the header checksum: a router that rewrote the transport
// checksum of each fragment (gVisor's forwarding does, when the outgoing
// NIC lacks TX checksum offload) corrupts bytes 6 and 7 of every
// fragment's payload and the sink drops the datagram.
func TestRouterForwardsFragmentsUnchanged(t *testing.T) {
	for _, size := range []int{1473, 3000, 8000} { // payload bytes; 1472 is the largest unfragmented
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			n := startHostBehindRouters(t, ctx, Router1IP, func(topo *Topology) {
				topo.Link(DataLink).Pcap = in
				topo.Link(RouterOutLink(Router1)).Pcap = out
			})
			defer n.Close()
			sink, err := StartSink(ctx, n.Host(FarSinkHost), SinkPort)
			if err != nil {
				t.Fatal(err)
			}
			c, err := n.Host("i486").Dial(ctx, "udp", fmt.Sprintf("%s:%d", FarSinkIP, SinkPort))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			payload := make([]byte, size)
			for i := range payload {
				payload[i] = byte(i * 7)
			}
			payload[0], payload[1], payload[2], payload[3] = 0, 0, 0, 0 // sequence number 0
			if _, err := c.Write(payload); err != nil {
				t.Fatal(err)
			}
			whole := func() bool {
				r := sink.Report().UDP
				return len(r) == 1 && r[0].Datagrams == 1 && r[0].Bytes == int64(size)
			}
			if !eventually(10*time.Second, whole) {
				t.Errorf("the sink got %+v, want one datagram of %d bytes", sink.Report().UDP, size)
			}
			if d := sink.Report().Dropped; d != (UDPDrops{}) {
				t.Errorf("the sink's netstack dropped datagrams: %+v", d)
			}
			if err := n.Close(); err != nil { // flushes the captures
				t.Fatal(err)
			}
			sent := ipv4To(t, in, FarSinkIP)
			forwarded := ipv4To(t, out, FarSinkIP)
			if len(sent) < 2 || len(forwarded) != len(sent) {
				t.Fatalf("%d fragments sent, %d forwarded; want the same number, at least 2", len(sent), len(forwarded))
			}
			// The router may forward a datagram's fragments in another
			// order (its NIC dispatches packets concurrently): pair them
			// by offset.
			byOffset := map[uint16]header.IPv4{}
			for _, f := range forwarded {
				byOffset[f.FragmentOffset()] = f
			}
			for i, f := range sent {
				g, ok := byOffset[f.FragmentOffset()]
				if !ok {
					t.Errorf("fragment %d (offset %d) was not forwarded", i, f.FragmentOffset())
				} else if !sameButTTL(f, g) {
					t.Errorf("fragment %d:\nsent      % x\nforwarded % x", i, head(f), head(g))
				}
			}
		})
	}
}

// ipv4To returns the IPv4 packets to address dst in an Ethernet capture.
func ipv4To(t *testing.T, path, dst string) []header.IPv4 {
	t.Helper()
	frames, _ := readPcap(t, path, layers.LinkTypeEthernet)
	want := netip.MustParseAddr(dst).As4()
	var pkts []header.IPv4
	for _, f := range frames {
		if len(f) < header.EthernetMinimumSize+header.IPv4MinimumSize ||
			header.Ethernet(f).Type() != header.IPv4ProtocolNumber {
			continue
		}
		ip := header.IPv4(f[header.EthernetMinimumSize:])
		if ip.IsValid(len(ip)) && ip.DestinationAddress().As4() == want {
			pkts = append(pkts, ip[:ip.TotalLength()])
		}
	}
	return pkts
}

// sameButTTL reports whether a forwarded packet equals the one sent except
// for the TTL, one less, and the header checksum.
func sameButTTL(sent, forwarded header.IPv4) bool {
	if len(sent) != len(forwarded) || forwarded.TTL() != sent.TTL()-1 {
		return false
	}
	a, b := bytes.Clone(sent), bytes.Clone(forwarded)
	for _, p := range []header.IPv4{a, b} {
		p.SetTTL(0)
		p.SetChecksum(0)
	}
	return bytes.Equal(a, b)
}

// head is the IP header and the first 16 payload bytes of p, for messages.
func head(p header.IPv4) []byte { return p[:min(len(p), int(p.HeaderLength())+16)] }
