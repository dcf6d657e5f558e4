package vnet

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"specbed/qemu"
)

// TestSwitchLearns: three hosts on a switch; after ARP, a's traffic to b
// no longer reaches c, while everyone still reaches everyone.
func TestSwitchLearns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo := Topology{Nodes: []NodeSpec{{Name: "sw", Kind: NodeSwitch, NICs: make([]NICSpec, 3)}}}
	for i, name := range []string{"a", "b", "c"} {
		topo.Nodes = append(topo.Nodes, NodeSpec{Name: name, Kind: NodeHost, NICs: []NICSpec{{
			MAC: fmt.Sprintf("52:54:00:00:aa:%02x", i), Addr: netip.MustParsePrefix(fmt.Sprintf("10.9.0.%d/24", i+1))}}})
		topo.Links = append(topo.Links, LinkSpec{Name: "l" + name, Framing: FramingEthernet,
			A: Port{name, 0}, B: Port{"sw", i}, Rate: 100_000_000})
	}
	n, err := Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, h := range []string{"b", "c"} {
		l, err := n.Host(h).Listen(ctx, "tcp", ":7")
		if err != nil {
			t.Fatal(err)
		}
		go echo(l)
	}
	echoRoundTrip(t, ctx, n.Host("a"), "10.9.0.2:7", 20000)
	toB, toC := n.Link("lb").Stats().BToA, n.Link("lc").Stats().BToA
	// c sees a's ARP broadcast and nothing of the TCP exchange. b gets the
	// transfer: its 20000 bytes at least (how many frames carry them and
	// the ACKs depends on how the stacks coalesce: 19 on a loaded host).
	if toB.DeliveredBytes < 20000 || toC.DeliveredFrames != 1 {
		t.Errorf("switch delivered %d bytes (%d frames) to b and %d frames to c; want the 20000-byte transfer to b and only the ARP request to c",
			toB.DeliveredBytes, toB.DeliveredFrames, toC.DeliveredFrames)
	}
	echoRoundTrip(t, ctx, n.Host("c"), "10.9.0.2:7", 100)
	echoRoundTrip(t, ctx, n.Host("b"), "10.9.0.3:7", 100)
}

// TestSecondSink edits the default topology the way a scenario adds a
// second sink: the guest's data NIC goes to a switch that has both sinks.
func TestSecondSink(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo, err := DefaultTopology("g", qemu.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	data := topo.Link(DataLink)
	data.B = Port{"sw", 0}
	topo.Nodes = append(topo.Nodes,
		NodeSpec{Name: "sw", Kind: NodeSwitch, NICs: make([]NICSpec, 3)},
		NodeSpec{Name: "sink2", Kind: NodeHost, NICs: []NICSpec{{MAC: "52:54:00:ff:00:03", Addr: prefix("10.2.0.3")}}})
	topo.Links = append(topo.Links,
		LinkSpec{Name: "sw-sink", Framing: FramingEthernet, A: Port{"sw", 1}, B: Port{SinkHost, 0}, Rate: DataRate},
		LinkSpec{Name: "sw-sink2", Framing: FramingEthernet, A: Port{"sw", 2}, B: Port{"sink2", 0}, Rate: DataRate})
	n, err := Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	gc, hc := socketpair(t)
	if err := n.AttachEthernet("g", DataNIC, hc); err != nil {
		t.Fatal(err)
	}
	guest := guestStack(t, ctx, FramingEthernet, gc, GuestMAC(0, DataNIC), prefix(GuestDataIP), netip.Addr{})
	for _, h := range []string{SinkHost, "sink2"} {
		sink, err := StartSink(ctx, n.Host(h), SinkPort)
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		c, err := guest.Dial(ctx, "tcp", fmt.Sprintf("%s:%d", n.Host(h).Addr(0), SinkPort))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(make([]byte, 10000)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if !eventually(10*time.Second, func() bool { r := sink.Report(); return len(r.TCP) == 1 && r.TCP[0].Bytes == 10000 }) {
			t.Errorf("%s got %+v, want 10000 bytes", h, sink.Report().TCP)
		}
	}
}
