package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"specbed/images"
	"specbed/images/specnet/paths"
	"specbed/qemu"
	"specbed/specializer/server"
	"specbed/vnet"
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
// link edits.
func topology(s *Scenario, p *qemu.Platform) (vnet.Topology, error) {
	topo, err := vnet.DefaultTopology(p.Name, p.Link)
	if err != nil {
		return topo, err
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
}

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
	g := &guestNetwork{cancel: cancel, drain: drainTime(topo)}
	if g.n, err = vnet.Start(ctx, topo); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("vnet: %w", err)
	}
	if g.sink, err = vnet.StartSink(ctx, g.n.Host(vnet.SinkHost), vnet.SinkPort); err != nil {
		g.close()
		return nil, nil, fmt.Errorf("vnet sink: %w", err)
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

// delivered is the datagrams the sink got from src, after the frames
// still on the links had time to arrive.
func (g *guestNetwork) delivered(src string) int64 {
	time.Sleep(g.drain)
	var n int64
	for _, f := range g.sink.Report().UDP {
		if strings.HasPrefix(f.Source, src+":") {
			n += f.Datagrams
		}
	}
	return n
}

// linkEvent applies a link-down, link-up or link-rate event to the
// running network's link.
func (g *guestNetwork) linkEvent(e Event) error {
	if g == nil {
		return fmt.Errorf("%s needs the network clock", e.Event)
	}
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
