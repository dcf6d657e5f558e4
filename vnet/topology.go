package vnet

import (
	"fmt"
	"net/netip"
	"time"

	"specbed/qemu"
)

// NodeKind says what sits at a node of the topology.
type NodeKind string

const (
	// NodeHost is a gVisor netstack that runs host services (the
	// specialization server, the sink).
	NodeHost NodeKind = "host"
	// NodeRouter is a gVisor netstack that forwards IPv4 between its NICs.
	NodeRouter NodeKind = "router"
	// NodeSwitch is a learning Ethernet switch; its NICs are ports and
	// need neither MAC nor address.
	NodeSwitch NodeKind = "switch"
	// NodeGuest is a QEMU guest: its NICs are attached after Start with
	// Network.AttachEthernet or Network.AttachSLIP. Its NIC addresses in
	// the topology are what the guest is told to configure; vnet does not
	// enforce them.
	NodeGuest NodeKind = "guest"
)

// Framing is what a link carries.
type Framing string

const (
	// FramingEthernet: Ethernet II frames, 14-byte header, no FCS.
	FramingEthernet Framing = "ethernet"
	// FramingSLIP: IPv4 packets; on the wire each is SLIP-encoded.
	FramingSLIP Framing = "slip"
)

// Topology is a network as data: scenarios build or edit one and pass it to
// Start.
type Topology struct {
	Nodes []NodeSpec
	Links []LinkSpec
}

// NodeSpec is one host, router or guest.
type NodeSpec struct {
	Name string
	Kind NodeKind
	// NICs are the node's interfaces; a link end names one by index.
	NICs []NICSpec
	// Routes beyond the subnets of the NICs' own addresses.
	Routes []RouteSpec
}

// NICSpec is one interface of a node.
type NICSpec struct {
	// MAC is the interface's Ethernet address ("52:54:00:..."); empty on a
	// SLIP interface.
	MAC string
	// Addr is the interface's IPv4 address with the prefix of the subnet it
	// reaches directly.
	Addr netip.Prefix
}

// RouteSpec sends traffic for Dest through gateway Via on NIC.
type RouteSpec struct {
	Dest netip.Prefix
	Via  netip.Addr
	NIC  int
}

// Port is one end of a link: a node's NIC.
type Port struct {
	Node string
	NIC  int
}

// Direction is one of a link's two directions.
type Direction int

const (
	// AToB carries frames sent by the link's A end to its B end.
	AToB Direction = iota
	// BToA carries frames sent by the B end to the A end.
	BToA
)

func (d Direction) String() string {
	if d == AToB {
		return "a->b"
	}
	return "b->a"
}

// LinkSpec is a point-to-point link. Each direction has its own queue and
// its own share of the rate (the link is full duplex).
type LinkSpec struct {
	Name    string
	Framing Framing
	A, B    Port
	// Rate is the line rate in bits per second over the frame bytes that
	// cross the wire: the whole Ethernet frame including its 14-byte
	// header (no preamble, FCS or inter-frame gap), or on a SLIP link the
	// SLIP-encoded bytes. 0 means no limit.
	Rate int64
	// Delay is the one-way propagation delay added after a frame's last
	// bit leaves the queue.
	Delay time.Duration
	// Loss is the probability (0..1) that a frame that crossed the wire is
	// lost.
	Loss float64
	// Seed seeds the loss decisions, so a lossy run can be repeated.
	Seed uint64
	// QueueBytes bounds each direction's queue, in wire bytes, counting
	// the frame being transmitted; a frame that does not fit is dropped
	// and counted. 0 means DefaultQueueBytes.
	QueueBytes int
	// MTU is the largest IP packet in bytes (0: 1500 on Ethernet, 296 on
	// SLIP, Linux's sl0 default).
	MTU int
	// Pcap, when set, is a file that receives every frame as its receiver
	// gets it (after queue, loss and Tamper), both directions, timestamped
	// with the modelled arrival of its last bit. IngressPcap records every frame offered to the queues,
	// timestamped on arrival; the difference between the two is what the
	// link dropped. SLIP links are written as LINKTYPE_RAW (IPv4 packets).
	Pcap        string
	IngressPcap string
	// Tamper, when set, sees every frame just before delivery and returns
	// the frame to deliver (it may edit frame in place); nil drops the
	// frame, counted as a loss.
	Tamper Tamper
}

// Tamper rewrites frames on a link, for tests that alter traffic in
// flight. frame is in the link's framing (Ethernet frame or IPv4 packet).
type Tamper func(f Framing, dir Direction, frame []byte) []byte

// Default topology names and addresses. Guests are told to configure the
// addresses listed here; the x86 guests' NIC 0 is on the specialization
// link and NIC 1 on the data link.
const (
	ServerHost = "server"
	SinkHost   = "sink"
	// SLIPRouter is the router at the far end of the SA-1110's SLIP line.
	SLIPRouter = "router"

	SpecLink = "spec"
	DataLink = "data"
	SLIPLink = "slip"

	SpecNIC = 0
	DataNIC = 1

	ServerIP     = "10.1.0.1"
	GuestSpecIP  = "10.1.0.2"
	SinkIP       = "10.2.0.1"
	GuestDataIP  = "10.2.0.2"
	RouterSLIPIP = "10.3.0.1"
	GuestSLIPIP  = "10.3.0.2"
	// PrefixLen is the prefix length of every default subnet.
	PrefixLen = 24

	// ServerPort is the specialization server's TCP port.
	ServerPort = 7070
	// SinkPort is the sink's UDP counting and TCP discard port.
	SinkPort = 9

	ServerMAC = "52:54:00:ff:00:01"
	SinkMAC   = "52:54:00:ff:00:02"

	// SpecRate is the specialization link's rate in bits per second (the
	// paper's 10 Mbps wireless LAN), SpecDelay its one-way delay.
	SpecRate  = 10_000_000
	SpecDelay = 2 * time.Millisecond
	// DataRate is the data link's rate in bits per second.
	DataRate = 1_000_000_000
	// SLIPRate is the SLIP line's rate in bits per second over encoded
	// bytes (8 bits each; the UART's start and stop bits are not counted).
	SLIPRate = 230400
	// DefaultQueueBytes is a direction's queue limit when a LinkSpec says
	// 0, and the specialization and SLIP links' queue, in bytes.
	DefaultQueueBytes = 64 << 10
	// DataQueueBytes is the data link's queue in bytes: Linux's default
	// txqueuelen of 1000 full-size frames. At 1 Gbit/s 64 KiB is half a
	// millisecond, less than one burst of a netstack's TCP window, and
	// gVisor's TCP recovers from the resulting mass drops only through
	// repeated 200 ms retransmission timeouts.
	DataQueueBytes = 1000 * (1500 + 14)
)

// GuestMAC is the Ethernet address of guest number guest's NIC nic.
func GuestMAC(guest, nic int) string {
	return fmt.Sprintf("52:54:00:00:%02x:%02x", guest, nic)
}

// routerMAC is the Ethernet address of the SLIP router's NIC nic.
func routerMAC(nic int) string { return fmt.Sprintf("52:54:00:ff:01:%02x", nic) }

func prefix(ip string) netip.Prefix {
	return netip.PrefixFrom(netip.MustParseAddr(ip), PrefixLen)
}

// DefaultTopology is the network for one guest: an Ethernet guest
// has a specialization link to the server host and a data link to the sink
// host; a SLIP guest has one line to a router that has those two links.
// The guest is always the A end of its links.
func DefaultTopology(guest string, link qemu.Link) (Topology, error) {
	server := NodeSpec{Name: ServerHost, Kind: NodeHost,
		NICs: []NICSpec{{MAC: ServerMAC, Addr: prefix(ServerIP)}}}
	sink := NodeSpec{Name: SinkHost, Kind: NodeHost,
		NICs: []NICSpec{{MAC: SinkMAC, Addr: prefix(SinkIP)}}}
	spec := LinkSpec{Name: SpecLink, Framing: FramingEthernet, B: Port{ServerHost, 0},
		Rate: SpecRate, Delay: SpecDelay, QueueBytes: DefaultQueueBytes}
	data := LinkSpec{Name: DataLink, Framing: FramingEthernet, B: Port{SinkHost, 0},
		Rate: DataRate, QueueBytes: DataQueueBytes}
	switch link {
	case qemu.LinkEthernet:
		spec.A, data.A = Port{guest, SpecNIC}, Port{guest, DataNIC}
		g := NodeSpec{Name: guest, Kind: NodeGuest, NICs: []NICSpec{
			{MAC: GuestMAC(0, SpecNIC), Addr: prefix(GuestSpecIP)},
			{MAC: GuestMAC(0, DataNIC), Addr: prefix(GuestDataIP)}}}
		return Topology{Nodes: []NodeSpec{g, server, sink}, Links: []LinkSpec{spec, data}}, nil
	case qemu.LinkSLIP:
		// The router stands where an x86 guest's NICs would be, so the
		// server and the sink see it at the guests' addresses.
		r := NodeSpec{Name: SLIPRouter, Kind: NodeRouter, NICs: []NICSpec{
			{Addr: prefix(RouterSLIPIP)},
			{MAC: routerMAC(1), Addr: prefix(GuestSpecIP)},
			{MAC: routerMAC(2), Addr: prefix(GuestDataIP)}}}
		guestNet := prefix(GuestSLIPIP).Masked()
		server.Routes = []RouteSpec{{Dest: guestNet, Via: netip.MustParseAddr(GuestSpecIP)}}
		sink.Routes = []RouteSpec{{Dest: guestNet, Via: netip.MustParseAddr(GuestDataIP)}}
		spec.A, data.A = Port{SLIPRouter, 1}, Port{SLIPRouter, 2}
		line := LinkSpec{Name: SLIPLink, Framing: FramingSLIP, A: Port{guest, 0}, B: Port{SLIPRouter, 0},
			Rate: SLIPRate, QueueBytes: DefaultQueueBytes}
		g := NodeSpec{Name: guest, Kind: NodeGuest, NICs: []NICSpec{{Addr: prefix(GuestSLIPIP)}}}
		return Topology{Nodes: []NodeSpec{g, r, server, sink}, Links: []LinkSpec{line, spec, data}}, nil
	}
	return Topology{}, fmt.Errorf("default topology for guest %q: unknown link kind %q", guest, link)
}

// Link returns the spec of the named link for editing, or nil.
func (t *Topology) Link(name string) *LinkSpec {
	for i := range t.Links {
		if t.Links[i].Name == name {
			return &t.Links[i]
		}
	}
	return nil
}

// Node returns the spec of the named node for editing, or nil.
func (t *Topology) Node(name string) *NodeSpec {
	for i := range t.Nodes {
		if t.Nodes[i].Name == name {
			return &t.Nodes[i]
		}
	}
	return nil
}

// Validate checks names, link ends and parameters.
func (t *Topology) Validate() error {
	nodes := map[string]*NodeSpec{}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Name == "" || nodes[n.Name] != nil {
			return fmt.Errorf("node %d: empty or duplicate name %q", i, n.Name)
		}
		switch n.Kind {
		case NodeHost, NodeRouter, NodeGuest, NodeSwitch:
		default:
			return fmt.Errorf("node %s: unknown kind %q", n.Name, n.Kind)
		}
		nodes[n.Name] = n
	}
	used := map[Port]string{}
	links := map[string]bool{}
	for _, l := range t.Links {
		if l.Name == "" || links[l.Name] {
			return fmt.Errorf("link %q: empty or duplicate name", l.Name)
		}
		links[l.Name] = true
		if l.Framing != FramingEthernet && l.Framing != FramingSLIP {
			return fmt.Errorf("link %s: unknown framing %q", l.Name, l.Framing)
		}
		if l.Rate < 0 || l.Delay < 0 || l.Loss < 0 || l.Loss > 1 || l.QueueBytes < 0 || l.MTU < 0 {
			return fmt.Errorf("link %s: negative rate, delay, queue or MTU, or loss outside 0..1", l.Name)
		}
		for _, p := range []Port{l.A, l.B} {
			n := nodes[p.Node]
			if n == nil {
				return fmt.Errorf("link %s: no node %q", l.Name, p.Node)
			}
			if p.NIC < 0 || p.NIC >= len(n.NICs) {
				return fmt.Errorf("link %s: node %s has no NIC %d", l.Name, p.Node, p.NIC)
			}
			if other, ok := used[p]; ok {
				return fmt.Errorf("link %s: %s NIC %d is already on link %s", l.Name, p.Node, p.NIC, other)
			}
			used[p] = l.Name
			if n.Kind == NodeSwitch && l.Framing != FramingEthernet {
				return fmt.Errorf("link %s: switch %s needs Ethernet framing", l.Name, p.Node)
			}
			if l.Framing == FramingEthernet && (n.Kind == NodeHost || n.Kind == NodeRouter) {
				if _, err := parseMAC(n.NICs[p.NIC].MAC); err != nil {
					return fmt.Errorf("link %s: %s NIC %d: %w", l.Name, p.Node, p.NIC, err)
				}
			}
		}
	}
	for _, n := range t.Nodes {
		if n.Kind == NodeGuest {
			continue
		}
		for i, nic := range n.NICs {
			if n.Kind != NodeSwitch && !nic.Addr.Addr().Is4() {
				return fmt.Errorf("node %s NIC %d: address %v is not IPv4", n.Name, i, nic.Addr)
			}
			if _, ok := used[Port{n.Name, i}]; !ok {
				return fmt.Errorf("node %s NIC %d: on no link", n.Name, i)
			}
		}
		for _, r := range n.Routes {
			if r.NIC < 0 || r.NIC >= len(n.NICs) || !r.Dest.Addr().Is4() {
				return fmt.Errorf("node %s: route %v via %v: bad NIC %d or destination", n.Name, r.Dest, r.Via, r.NIC)
			}
		}
	}
	return nil
}
