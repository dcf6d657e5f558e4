package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"specbed/images"
	"specbed/images/specnet/paths"
	"specbed/images/specnet/routeguard"
	"specbed/qemu"
	"specbed/specializer/server"
	"specbed/vnet"

	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// netOpen brings up the guest's links with the default topology's
// addresses and opens the flow to the sink. The sink gets a static ARP
// entry, so that the context holds its resolved neighbour (the same in
// every boot) and no host-timed ARP exchange precedes the sends.
func netOpen(p *qemu.Platform, adu int) []fmt.Stringer {
	var up []fmt.Stringer
	if p.Link == qemu.LinkSLIP {
		up = []fmt.Stringer{qemu.NetStep{Dev: "sl0", Addr: vnet.GuestSLIPIP, Prefix: 32,
			Peer: vnet.RouterSLIPIP, Gateway: vnet.RouterSLIPIP, TTY: p.SLIPTTY, Baud: vnet.SLIPRate}}
	} else {
		up = []fmt.Stringer{
			qemu.NetStep{Dev: "eth0", Addr: vnet.GuestSpecIP, Prefix: vnet.PrefixLen},
			qemu.NetStep{Dev: "eth1", Addr: vnet.GuestDataIP, Prefix: vnet.PrefixLen, Neigh: vnet.SinkIP, LLAddr: vnet.SinkMAC},
		}
	}
	return append(up, qemu.CustomizeStep{Dst: vnet.SinkIP, Port: vnet.SinkPort, SrcPort: paths.SrcPort, ADU: adu})
}

// routerOpen brings up the data NIC with a static neighbour entry for
// Router1 (the context holds it, the same in every boot), routes the far
// segment through Router1 and opens the flow to the far sink. Router2 the
// guest finds by ARP after the route change, as a rerouted datagram's
// neighbour resolution does (images/specnet/routeguard's network test).
func routerOpen(adu int) []fmt.Stringer {
	return []fmt.Stringer{
		qemu.NetStep{Dev: "eth1", Addr: vnet.GuestDataIP, Prefix: vnet.PrefixLen, Neigh: vnet.Router1IP, LLAddr: vnet.Router1MAC},
		routeguard.RouteStep{Op: "add", Dst: vnet.FarNet, Prefix: 24, Gateway: vnet.Router1IP},
		qemu.CustomizeStep{Dst: vnet.FarSinkIP, Port: vnet.SinkPort, SrcPort: paths.SrcPort, ADU: adu},
	}
}

// Guest files of a fetch: the context customize writes, the module the
// server sends.
const (
	fetchedContext = "/tmp/context.json"
	fetchedModule  = "/tmp/residual.ko"
)

// fetchOpen is netOpen for a fetched residual: the flow's context goes to
// a file, the fetch step sends it to the server over the specialization
// link (through the router on the SA-1110), and the module it gets back
// is loaded.
func fetchOpen(p *qemu.Platform, k *images.Kernel, adu int) []fmt.Stringer {
	open := netOpen(p, adu)
	cu := open[len(open)-1].(qemu.CustomizeStep)
	cu.Out = fetchedContext
	open[len(open)-1] = cu
	return append(open,
		qemu.FetchStep{Server: vnet.ServerIP, Port: vnet.ServerPort, Build: server.KernelID(k), Decl: "udp",
			Context: fetchedContext, Out: fetchedModule},
		qemu.InsmodStep{Path: fetchedModule})
}

// flowSource is the address the sink sees the guest's datagrams from.
func flowSource(p *qemu.Platform) string {
	if p.Link == qemu.LinkSLIP {
		return vnet.GuestSLIPIP
	}
	return vnet.GuestDataIP
}

// topology is the default topology of platform p with the scenario's
// link edits; a flow that changes its route runs over vnet's two routers.
func topology(s *Scenario, p *qemu.Platform) (vnet.Topology, error) {
	var (
		topo vnet.Topology
		err  error
	)
	if overRouters(s) {
		topo, err = vnet.TwoRouterTopology(p.Name)
	} else {
		topo, err = vnet.DefaultTopology(p.Name, p.Link)
	}
	if err != nil {
		return topo, err
	}
	if isTCP(s) && p.Link == qemu.LinkSLIP {
		topo.Link(vnet.SLIPLink).MTU = slipMTU // the router's end, as sl0
	}
	for _, e := range s.Topology.Links {
		l := topo.Link(e.Name)
		if l == nil {
			return topo, fmt.Errorf("topology: %s has no link %s", p.Name, e.Name)
		}
		if e.RateBps != nil {
			l.Rate = *e.RateBps
		}
		if e.Delay != nil {
			l.Delay = e.Delay.Duration
		}
		if e.Loss != nil {
			l.Loss = *e.Loss
		}
		if e.QueueBytes != nil {
			l.QueueBytes = *e.QueueBytes
		}
	}
	return topo, nil
}

// NetworkTopology is the scenario's network on platform p: vnet's default
// topology with the scenario's link edits (the sim backend models it).
func NetworkTopology(s *Scenario, p *qemu.Platform) (vnet.Topology, error) { return topology(s, p) }

// guestNetwork is one network-mode boot's virtual network and sink.
type guestNetwork struct {
	n    *vnet.Network
	sink *vnet.Sink
	// served is the specialization server's Serve result (nil channel
	// when no server runs).
	served chan error
	// drain is how long frames may still be on their way once the guest
	// has sent its last.
	drain  time.Duration
	cancel context.CancelFunc
	// src is the address the flow's datagrams come from.
	src string
	// links names the topology's links.
	links []string
	// routers counts the flow's datagrams each router forwarded to the
	// far segment (flows over two routers only).
	routers map[string]*atomic.Int64
	// stream checks a TCP flow's bytes on the sink host (TCP only).
	stream *vnet.StreamCheck
	// atEvent holds the arrivals when each timeline event happened
	// (arrive-at checks).
	atEvent map[int]Arrivals
}

// Arrivals counts where a flow's datagrams arrived (datagrams): at
// WhereSink, and through WhereRouter1 and WhereRouter2 on the flow over
// two routers.
type Arrivals map[string]int64

// startNetwork starts the scenario's topology for p with a sink on the
// sink host and wires cfg's links to it. The caller closes the returned
// guest ends once QEMU runs.
//
// srv, when set, serves on the server host's port for the guest's fetch.
func startNetwork(ctx context.Context, s *Scenario, p *qemu.Platform, cfg *qemu.Config, srv *server.Server) (*guestNetwork, []*os.File, error) {
	topo, err := topology(s, p)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	g := &guestNetwork{cancel: cancel, drain: drainTime(topo), src: flowSource(p), atEvent: map[int]Arrivals{}}
	for _, l := range topo.Links {
		g.links = append(g.links, l.Name)
	}
	sinkHost := vnet.SinkHost
	if overRouters(s) {
		sinkHost = vnet.FarSinkHost
		g.routers = map[string]*atomic.Int64{}
		for _, r := range []string{vnet.Router1, vnet.Router2} {
			n := &atomic.Int64{}
			g.routers[r] = n
			topo.Link(vnet.RouterOutLink(r)).Tamper = countFlow(g.src, n)
		}
	}
	if g.n, err = vnet.Start(ctx, topo); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("vnet: %w", err)
	}
	if g.sink, err = vnet.StartSink(ctx, g.n.Host(sinkHost), vnet.SinkPort); err != nil {
		g.close()
		return nil, nil, fmt.Errorf("vnet sink: %w", err)
	}
	if isTCP(s) {
		if g.stream, err = vnet.StartStreamCheck(ctx, g.n.Host(vnet.SinkHost), tcpPort, s.Workload.ADU(s.Workload.SizesBytes[0])); err != nil {
			g.close()
			return nil, nil, fmt.Errorf("vnet stream check: %w", err)
		}
	}
	if srv != nil {
		l, err := g.n.Host(vnet.ServerHost).Listen(ctx, "tcp", fmt.Sprintf(":%d", vnet.ServerPort))
		if err != nil {
			g.close()
			return nil, nil, fmt.Errorf("vnet server host: %w", err)
		}
		g.served = make(chan error, 1)
		go func() { g.served <- srv.Serve(ctx, l) }()
	}
	for _, nic := range topo.Node(p.Name).NICs {
		cfg.MACs = append(cfg.MACs, nic.MAC)
	}
	ends, err := g.attach(p, cfg)
	if err != nil {
		g.close()
		return nil, nil, err
	}
	return g, ends, nil
}

// attach makes one socket pair per guest link, gives the host ends to
// the network and the guest ends to cfg, and returns the guest ends.
func (g *guestNetwork) attach(p *qemu.Platform, cfg *qemu.Config) ([]*os.File, error) {
	pair := func(name string) (host, guest *os.File, err error) {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("socketpair for %s: %w", name, err)
		}
		return os.NewFile(uintptr(fds[0]), name+"-host"), os.NewFile(uintptr(fds[1]), name+"-guest"), nil
	}
	if p.Link == qemu.LinkSLIP {
		host, guest, err := pair("slip")
		if err != nil {
			return nil, err
		}
		if err := g.n.AttachSLIP(p.Name, host); err != nil {
			guest.Close()
			return nil, err
		}
		cfg.Link = guest
		return []*os.File{guest}, nil
	}
	var guests []*os.File
	for _, nic := range []int{vnet.SpecNIC, vnet.DataNIC} {
		host, guest, err := pair(fmt.Sprintf("nic%d", nic))
		if err == nil {
			err = g.n.AttachEthernet(p.Name, nic, host)
		}
		if err != nil {
			for _, f := range guests {
				f.Close()
			}
			return nil, err
		}
		guests = append(guests, guest)
	}
	cfg.Link, cfg.DataLink = guests[0], guests[1]
	return guests, nil
}

// countFlow is a tap on a router's link to the far segment: it counts
// the UDP datagrams from src the router forwarded (first fragments), and
// lets every frame through unchanged.
func countFlow(src string, n *atomic.Int64) vnet.Tamper {
	return func(f vnet.Framing, dir vnet.Direction, frame []byte) []byte {
		if dir != vnet.AToB {
			return frame
		}
		ip := vnet.IPv4Packet(f, frame)
		if ip != nil && ip.TransportProtocol() == header.UDPProtocolNumber && ip.FragmentOffset() == 0 &&
			ip.SourceAddress().String() == src {
			n.Add(1)
		}
		return frame
	}
}

// delivered is the datagrams the sink got from the flow's source, after
// the frames still on the links had time to arrive.
func (g *guestNetwork) delivered() int64 {
	time.Sleep(g.drain)
	return g.sunk()
}

// sunk is the datagrams the sink got from the flow's source so far.
func (g *guestNetwork) sunk() int64 {
	var n int64
	for _, f := range g.sink.Report().UDP {
		if strings.HasPrefix(f.Source, g.src+":") {
			n += f.Datagrams
		}
	}
	return n
}

// deliveredBytes is the payload the sink got from the flow so far
// (bytes): the stream checker's bytes in order for TCP.
func (g *guestNetwork) deliveredBytes() *int64 {
	var n int64
	if g.stream != nil {
		n = g.stream.Good()
		return &n
	}
	for _, f := range g.sink.Report().UDP {
		if strings.HasPrefix(f.Source, g.src+":") {
			n += f.Bytes
		}
	}
	return &n
}

// arrivals is where the flow's datagrams arrived so far.
func (g *guestNetwork) arrivals() Arrivals {
	a := Arrivals{WhereSink: g.sunk()}
	for r, n := range g.routers {
		a[r] = n.Load()
	}
	return a
}

// settle waits until every link delivered or dropped what it was offered
// away from the guest (down links included) and the sink's socket read
// the last datagram: the guest's sends before it have all arrived.
func (g *guestNetwork) settle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, g.drain+30*time.Second)
	defer cancel()
	for {
		var pending int64
		for _, name := range g.links {
			st := g.n.Link(name).Stats().AToB
			pending += st.OfferedFrames - st.DeliveredFrames - st.QueueDrops - st.LossDrops - st.NoReceiverDrops - st.DownDrops
		}
		if pending == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("links still hold %d frames: %w", pending, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	time.Sleep(sinkReadMargin)
	return nil
}

// sinkReadMargin is how long the sink's socket takes to read a datagram
// its netstack already has (host time, generous on a loaded host).
const sinkReadMargin = 200 * time.Millisecond

// hostAct does the host's part of timeline event i: with an arrive-at
// check it first counts where the sends before the event arrived, and a
// link event changes its link.
func (g *guestNetwork) hostAct(ctx context.Context, s *Scenario, i int) error {
	if g == nil {
		return fmt.Errorf("%s needs the network clock", s.Timeline[i].Event)
	}
	if countsArrivals(s) {
		if err := g.settle(ctx); err != nil {
			return err
		}
		g.atEvent[i] = g.arrivals()
	}
	if slices.Contains(hostEvents, s.Timeline[i].Event) {
		return g.linkEvent(s.Timeline[i])
	}
	return nil
}

// linkEvent applies a link-down, link-up or link-rate event to the
// running network's link.
func (g *guestNetwork) linkEvent(e Event) error {
	l := g.n.Link(e.Link)
	if l == nil {
		return fmt.Errorf("%s: the topology has no link %s", e.Event, e.Link)
	}
	switch e.Event {
	case EventLinkDown:
		l.SetDown(true)
	case EventLinkUp:
		l.SetDown(false)
	case EventLinkRate:
		l.SetRate(e.RateBps)
		// Frames queued at the slower of the two rates drain last.
		spec := l.Spec()
		spec.Rate = min(spec.Rate, e.RateBps)
		g.drain = max(g.drain, drainTime(vnet.Topology{Links: []vnet.LinkSpec{spec}}))
	default:
		return fmt.Errorf("%s is not a link event", e.Event)
	}
	return nil
}

// drainTime is how long the fullest queue of topo takes to empty: its
// bytes at its link's rate, plus the link's delay and a margin for the
// host's timers.
func drainTime(topo vnet.Topology) time.Duration {
	const margin = 500 * time.Millisecond
	longest := time.Duration(0)
	for _, l := range topo.Links {
		if l.Rate <= 0 {
			continue
		}
		queue := l.QueueBytes
		if queue == 0 {
			queue = vnet.DefaultQueueBytes
		}
		longest = max(longest, time.Duration(int64(queue)*8*int64(time.Second)/l.Rate)+l.Delay)
	}
	return longest + margin
}

// close stops the network and the server; its error is theirs.
func (g *guestNetwork) close() error {
	g.cancel()
	var err error
	if g.served != nil {
		if serr := <-g.served; serr != nil && !errors.Is(serr, context.Canceled) {
			err = fmt.Errorf("specialization server: %w", serr)
		}
	}
	return errors.Join(err, g.n.Close())
}
