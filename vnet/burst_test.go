package vnet

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"specbed/qemu"
)

// TestSLIPBurstReachesSink sends bursts of unpaced 64-byte datagrams from a
// guest on the SLIP line, through the router, to the sink: the sink must
// count every one, whether or not the router has yet resolved the sink's
// Ethernet address (the first burst waits behind the router's ARP).
func TestSLIPBurstReachesSink(t *testing.T) {
	const bursts, burst = 3, 10
	for run := range 5 {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			topo, err := DefaultTopology("g", qemu.LinkSLIP)
			if err != nil {
				t.Fatal(err)
			}
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
			gc, hc := socketpair(t)
			if err := n.AttachSLIP("g", hc); err != nil {
				t.Fatal(err)
			}
			g := guestStack(t, ctx, FramingSLIP, gc, "", netip.MustParsePrefix(GuestSLIPIP+"/24"),
				netip.MustParseAddr(RouterSLIPIP))
			u, err := g.Dial(ctx, "udp", fmt.Sprintf("%s:%d", SinkIP, SinkPort))
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			var seq uint32
			for b := range bursts {
				for range burst {
					dgram := binary.BigEndian.AppendUint32(make([]byte, 0, 64), seq)
					if _, err := u.Write(dgram[:64]); err != nil {
						t.Fatal(err)
					}
					seq++
				}
				counted := func() int64 {
					var got int64
					for _, f := range sink.Report().UDP {
						got += f.Datagrams
					}
					return got
				}
				if !eventually(10*time.Second, func() bool { return counted() == int64(seq) }) {
					t.Fatalf("burst %d: the sink counted %d of %d datagrams, its netstack dropped %+v (slip %+v, data %+v)",
						b, counted(), seq, sink.Report().Dropped, n.Link(SLIPLink).Stats().AToB, n.Link(DataLink).Stats())
				}
			}
		})
	}
}
