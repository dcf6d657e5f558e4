package vnet

import (
	"fmt"

	"specbed/qemu"
)

// Two-router topology names and addresses: an x86 guest's data NIC on a
// segment with two routers, both forwarding to a sink on another segment,
// so that a route change moves the guest's datagrams from one router to
// the other (the route guard's test, images/specnet/routeguard).
const (
	// DataSwitch joins the guest's data NIC and the routers' inner NICs;
	// FarSwitch the routers' outer NICs and the far sink.
	DataSwitch = "data-switch"
	FarSwitch  = "far-switch"
	// Router1 and Router2 are the two next hops on the data segment.
	Router1 = "router1"
	Router2 = "router2"
	// FarSinkHost is the sink behind the routers.
	FarSinkHost = "far-sink"

	Router1IP = "10.2.0.1"
	Router2IP = "10.2.0.3"
	// FarNet is the sink's subnet, FarSinkIP the sink.
	FarNet    = "10.4.0.0"
	FarSinkIP = "10.4.0.9"

	Router1MAC = "52:54:00:ff:02:01"
	Router2MAC = "52:54:00:ff:02:02"
)

// RouterOutLink is the link from a router (Router1 or Router2) to the far
// segment: its AToB delivered frames are what that router forwarded.
func RouterOutLink(router string) string { return router + "-out" }

// TwoRouterTopology is DefaultTopology of an Ethernet guest with its data
// link to a switch instead of the sink: Router1 (10.2.0.1) and Router2
// (10.2.0.3) on that segment forward to FarSinkHost (10.4.0.9) on a second
// segment. Each router's link to the far segment counts what it forwarded.
func TwoRouterTopology(guest string) (Topology, error) {
	topo, err := DefaultTopology(guest, qemu.LinkEthernet)
	if err != nil {
		return Topology{}, err
	}
	// The default sink stays off the data segment: the flow's
	// destination is the far sink.
	nodes := topo.Nodes[:0]
	for _, n := range topo.Nodes {
		if n.Name != SinkHost {
			nodes = append(nodes, n)
		}
	}
	data := topo.Link(DataLink)
	data.B = Port{DataSwitch, 0}
	topo.Nodes = append(nodes,
		NodeSpec{Name: DataSwitch, Kind: NodeSwitch, NICs: make([]NICSpec, 3)},
		NodeSpec{Name: FarSwitch, Kind: NodeSwitch, NICs: make([]NICSpec, 3)},
		NodeSpec{Name: FarSinkHost, Kind: NodeHost, NICs: []NICSpec{
			{MAC: "52:54:00:ff:02:09", Addr: prefix(FarSinkIP)}}})
	topo.Links = append(topo.Links, LinkSpec{Name: "far-sink", Framing: FramingEthernet,
		A: Port{FarSwitch, 2}, B: Port{FarSinkHost, 0}, Rate: DataRate, QueueBytes: DataQueueBytes})
	for i, r := range []struct{ name, ip, outIP, mac string }{
		{Router1, Router1IP, "10.4.0.1", Router1MAC}, {Router2, Router2IP, "10.4.0.3", Router2MAC},
	} {
		topo.Nodes = append(topo.Nodes, NodeSpec{Name: r.name, Kind: NodeRouter, NICs: []NICSpec{
			{MAC: r.mac, Addr: prefix(r.ip)},
			{MAC: fmt.Sprintf("52:54:00:ff:03:%02x", i+1), Addr: prefix(r.outIP)}}})
		topo.Links = append(topo.Links,
			LinkSpec{Name: r.name + "-in", Framing: FramingEthernet, A: Port{DataSwitch, i + 1}, B: Port{r.name, 0},
				Rate: DataRate, QueueBytes: DataQueueBytes},
			LinkSpec{Name: RouterOutLink(r.name), Framing: FramingEthernet, A: Port{r.name, 1}, B: Port{FarSwitch, i},
				Rate: DataRate, QueueBytes: DataQueueBytes})
	}
	return topo, topo.Validate()
}
