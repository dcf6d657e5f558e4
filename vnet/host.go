package vnet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// Host is a gVisor netstack on the virtual network: a service host or a
// router. Its sockets are gonet adapters, so services written against net
// work on it unchanged.
type Host struct {
	name  string
	stack *stack.Stack
	addrs []netip.Addr
}

// Name is the host's node name.
func (h *Host) Name() string { return h.name }

// Stack is the host's gVisor stack, for what the adapters below do not
// cover.
func (h *Host) Stack() *stack.Stack { return h.stack }

// Addr is the address of the host's NIC nic.
func (h *Host) Addr(nic int) netip.Addr { return h.addrs[nic] }

// nicEndpoint is a host NIC's link endpoint. The embedded channel endpoint
// provides attachment and dispatch; its queue is never used, because it
// drops silently when full: outbound packets go straight to the link, whose
// queue counts its drops.
type nicEndpoint struct {
	*channel.Endpoint
	end *end
}

// WritePackets implements stack.LinkEndpoint. The packets (with their link
// header already added by the NIC) are copied; the stack keeps ownership.
// Like a NIC driver that has put a frame in its ring, it reports every
// packet written: drops happen downstream, in the link's queue.
func (e *nicEndpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	for _, pkt := range pkts.AsSlice() {
		frame := make([]byte, 0, pkt.Size())
		for _, s := range pkt.AsSlices() {
			frame = append(frame, s...)
		}
		e.end.send(frame)
	}
	return pkts.Len(), nil
}

// inject hands a frame that arrived on the link to the stack. The packet
// buffer is released here once the stack has processed it synchronously.
func (e *nicEndpoint) inject(f Framing) receiver {
	return func(frame []byte) bool {
		proto := tcpip.NetworkProtocolNumber(0) // the Ethernet layer reads it
		// A NIC takes unicast frames for its own address only (gVisor's
		// Ethernet layer takes any): a switch floods frames for addresses
		// it has not learnt, and a router that forwarded those too would
		// duplicate them.
		if f == FramingEthernet && len(frame) >= header.EthernetMinimumSize &&
			frame[0]&1 == 0 && tcpip.LinkAddress(frame[:6]) != e.LinkAddress() {
			return true
		}
		if f == FramingSLIP {
			if len(frame) == 0 || header.IPVersion(frame) != header.IPv4Version {
				return true // not IPv4: a real interface drops it too
			}
			proto = header.IPv4ProtocolNumber
		}
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{
			Payload: buffer.MakeWithData(append([]byte(nil), frame...)),
		})
		e.InjectInbound(proto, pkt)
		pkt.DecRef()
		return true
	}
}

func newStack(forward bool) (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	sack := tcpip.TCPSACKEnabled(true)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("enable SACK: %s", err)
	}
	if forward {
		if err := s.SetForwardingDefaultAndAllNICs(ipv4.ProtocolNumber, true); err != nil {
			s.Destroy()
			return nil, fmt.Errorf("enable forwarding: %s", err)
		}
	}
	return s, nil
}

// newHost builds the stack of node n. ends[i] is the link end of NIC i and
// framing[i] its link's framing; mtu[i] the link's IP MTU in bytes.
func newHost(n NodeSpec, ends []*end, framing []Framing, mtu []int) (*Host, error) {
	s, err := newStack(n.Kind == NodeRouter)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", n.Name, err)
	}
	h := &Host{name: n.Name, stack: s}
	var routes []tcpip.Route
	for i, nic := range n.NICs {
		id := tcpip.NICID(i + 1)
		var mac tcpip.LinkAddress
		linkMTU := uint32(mtu[i])
		if framing[i] == FramingEthernet {
			hw, err := parseMAC(nic.MAC)
			if err != nil {
				s.Destroy()
				return nil, fmt.Errorf("host %s NIC %d: %w", n.Name, i, err)
			}
			mac = tcpip.LinkAddress(hw)
			linkMTU += header.EthernetMinimumSize
		}
		ep := &nicEndpoint{Endpoint: channel.New(0, linkMTU, mac), end: ends[i]}
		if n.Kind == NodeRouter {
			// Without TX checksum offload, gVisor's forwarding recomputes
			// the transport checksum of every packet it forwards, over
			// the packet alone: it overwrites bytes 6-7 of every IPv4
			// fragment's payload (the sink then drops the datagram) and
			// would repair a guest's bad checksum. A real router leaves
			// both alone. The cost: a TCP or UDP socket opened on a
			// router sends without checksums; routers open none.
			ep.LinkEPCapabilities |= stack.CapabilityTXChecksumOffload
		}
		var link stack.LinkEndpoint = ep
		if framing[i] == FramingEthernet {
			link = ethernet.New(ep)
		}
		if err := s.CreateNICWithOptions(id, link, stack.NICOptions{Name: fmt.Sprintf("%s%d", n.Name, i)}); err != nil {
			s.Destroy()
			return nil, fmt.Errorf("host %s: create NIC %d: %s", n.Name, i, err)
		}
		addr := tcpip.AddrFrom4(nic.Addr.Addr().As4())
		pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber,
			AddressWithPrefix: tcpip.AddressWithPrefix{Address: addr, PrefixLen: nic.Addr.Bits()}}
		if err := s.AddProtocolAddress(id, pa, stack.AddressProperties{}); err != nil {
			s.Destroy()
			return nil, fmt.Errorf("host %s: address %v on NIC %d: %s", n.Name, nic.Addr, i, err)
		}
		routes = append(routes, tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: id})
		h.addrs = append(h.addrs, nic.Addr.Addr())
		ends[i].setReceiver(ep.inject(framing[i]))
	}
	for _, r := range n.Routes {
		dest, err := tcpip.NewSubnet(tcpip.AddrFrom4(r.Dest.Masked().Addr().As4()),
			tcpip.MaskFromBytes(net.CIDRMask(r.Dest.Bits(), 32)))
		if err != nil {
			s.Destroy()
			return nil, fmt.Errorf("host %s: route %v: %w", n.Name, r.Dest, err)
		}
		var gw tcpip.Address
		if r.Via.IsValid() {
			gw = tcpip.AddrFrom4(r.Via.As4())
		}
		routes = append(routes, tcpip.Route{Destination: dest, Gateway: gw, NIC: tcpip.NICID(r.NIC + 1)})
	}
	s.SetRouteTable(routes)
	return h, nil
}

func parseMAC(s string) (net.HardwareAddr, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return nil, fmt.Errorf("bad Ethernet address %q", s)
	}
	return hw, nil
}

// fullAddr parses "host:port" ("" or no host: any address).
func fullAddr(address string) (tcpip.FullAddress, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return tcpip.FullAddress{}, fmt.Errorf("address %q: %w", address, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return tcpip.FullAddress{}, fmt.Errorf("address %q: port: %w", address, err)
	}
	fa := tcpip.FullAddress{Port: uint16(p)}
	if host != "" {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is4() {
			return tcpip.FullAddress{}, fmt.Errorf("address %q: not an IPv4 address", address)
		}
		fa.Addr = tcpip.AddrFrom4(ip.As4())
	}
	return fa, nil
}

// Listen opens a TCP listener on the host ("tcp", ":7070"). It closes when
// ctx ends.
func (h *Host) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	if network != "tcp" && network != "tcp4" {
		return nil, fmt.Errorf("host %s: listen %s: only tcp", h.name, network)
	}
	fa, err := fullAddr(address)
	if err != nil {
		return nil, fmt.Errorf("host %s: listen: %w", h.name, err)
	}
	l, err := gonet.ListenTCP(h.stack, fa, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("host %s: listen %s: %w", h.name, address, err)
	}
	context.AfterFunc(ctx, func() { l.Close() })
	return l, nil
}

// ListenUDP opens a UDP socket bound to address (":9"). It closes when ctx
// ends.
func (h *Host) ListenUDP(ctx context.Context, address string) (net.PacketConn, error) {
	fa, err := fullAddr(address)
	if err != nil {
		return nil, fmt.Errorf("host %s: listen udp: %w", h.name, err)
	}
	c, err := gonet.DialUDP(h.stack, &fa, nil, ipv4.ProtocolNumber)
	if err != nil {
		return nil, fmt.Errorf("host %s: listen udp %s: %w", h.name, address, err)
	}
	context.AfterFunc(ctx, func() { c.Close() })
	return c, nil
}

// Dial connects to address over "tcp" or "udp". ctx bounds the TCP
// handshake only.
func (h *Host) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	fa, err := fullAddr(address)
	if err != nil {
		return nil, fmt.Errorf("host %s: dial: %w", h.name, err)
	}
	switch network {
	case "tcp", "tcp4":
		c, err := gonet.DialContextTCP(ctx, h.stack, fa, ipv4.ProtocolNumber)
		if err != nil {
			return nil, fmt.Errorf("host %s: dial tcp %s: %w", h.name, address, err)
		}
		return c, nil
	case "udp", "udp4":
		c, err := gonet.DialUDP(h.stack, nil, &fa, ipv4.ProtocolNumber)
		if err != nil {
			return nil, fmt.Errorf("host %s: dial udp %s: %w", h.name, address, err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("host %s: dial %s: unknown network", h.name, network)
}
