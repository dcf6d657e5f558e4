package vnet

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// TestTwoRouterTopology puts a host in the guest's place on the data
// segment, sends to the far sink through each router in turn and checks
// that the sink got every datagram and that only that router's outer link
// carried them.
func TestTwoRouterTopology(t *testing.T) {
	for _, tt := range []struct{ via, other string }{{Router1IP, Router2}, {Router2IP, Router1}} {
		t.Run(tt.via, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			n := startHostBehindRouters(t, ctx, tt.via, nil)
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
			const sends = 10
			for i := range sends {
				if _, err := c.Write([]byte{0, 0, 0, byte(i), 'x'}); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			var got int64
			for time.Now().Before(deadline) {
				got = 0
				for _, f := range sink.Report().UDP {
					got += f.Datagrams
				}
				if got == sends {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got != sends {
				t.Fatalf("the far sink got %d of %d datagrams", got, sends)
			}
			router := map[string]string{Router1IP: Router1, Router2IP: Router2}[tt.via]
			// The datagrams and the router's one ARP request for the sink.
			if d := n.Link(RouterOutLink(router)).Stats().AToB.DeliveredFrames; d != sends+1 {
				t.Errorf("%s sent %d frames to the far segment, want %d", router, d, sends+1)
			}
			if d := n.Link(RouterOutLink(tt.other)).Stats().AToB.DeliveredFrames; d != 0 {
				t.Errorf("%s forwarded %d frames, want 0", tt.other, d)
			}
		})
	}
}

// startHostBehindRouters starts TwoRouterTopology with a host in the
// guest's place on the data segment, routing the far segment via the router
// address via. edit, when set, changes the topology before the start.
func startHostBehindRouters(t *testing.T, ctx context.Context, via string, edit func(*Topology)) *Network {
	t.Helper()
	topo, err := TwoRouterTopology("i486")
	if err != nil {
		t.Fatal(err)
	}
	g := topo.Node("i486")
	g.Kind = NodeHost
	g.NICs = g.NICs[DataNIC:]
	g.Routes = []RouteSpec{{Dest: netip.MustParsePrefix(FarNet + "/24"), Via: netip.MustParseAddr(via)}}
	// No spec link and no server: the host has the data NIC only.
	topo.Links = topo.Links[1:]
	for i, node := range topo.Nodes {
		if node.Name == ServerHost {
			topo.Nodes = append(topo.Nodes[:i], topo.Nodes[i+1:]...)
			break
		}
	}
	topo.Link(DataLink).A = Port{"i486", 0}
	if edit != nil {
		edit(&topo)
	}
	n, err := Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
