package guards_test

import (
	"strconv"
	"testing"
	"time"

	"specbed/images/guesttest"
	"specbed/images/specnet/guards"
	"specbed/images/specnet/routeguard"
	"specbed/qemu"
)

const (
	// mssControlSends is the sends before and after the MTU change.
	mssControlSends = 50
	// mssControlDrop is how far the link's MTU drops (bytes): the
	// connection's MSS drops as much (1448 to 1348 on Ethernet, 244 to
	// 144 on SLIP), and the residual's folded MSS makes packets 100
	// bytes too large for the link.
	mssControlDrop = 100
	// getsockopt(IPPROTO_TCP, TCP_MAXSEG): the connection's MSS.
	solTCP, tcpMaxseg = 6, 2
)

// drainStep waits until the sink acknowledged every byte of the flow
// (guest clock; the SA-1110's runs slow while it sends): a stall longer
// than that fails the boot.
const drainStep = "tcpdrain,timeout_ms=60000"

// mssRun is what one boot of the MSS control shows.
type mssRun struct {
	counters map[string]int64
	// fragFails are IP packets the guest dropped for being larger than
	// the route's MTU with DF set, over the sends (a delta of
	// /proc/net/snmp).
	fragFails  int64
	mss        int64 // bytes, after the sends
	sunk       tcpTotals
	sendErrors int64
}

// TestTCPMSSGuardControl is the negative control of the TCP MSS guard,
// in network mode on every platform (the SA-1110 over its SLIP line
// through the router, records of two of its MSS): a specialized
// connection to the sink sends mssControlSends records, the data link's
// MTU (eth1, sl0) drops by mssControlDrop bytes, and it sends as many
// again. With the guard (the fallback policy) the sends after the change
// take the generic path, which cuts segments at the new MSS: no packet is
// too large. With the guard off (the core's test-only mss_guard=0) the
// residual goes on pushing segments of the MSS it folded in: the guest's
// IP drops every such packet (DF set: FragFails, and an ICMP
// "fragmentation needed" to itself); the transmit fails, so the segment
// stays unsent in the write queue until a push of the kernel's own (an
// ACK, the ICMP) cuts it at the new MSS. The two runs must differ in
// exactly that; every byte arrives in both (TCP repairs it), so the sink
// alone would not tell. Both runs check the event as the close guard's
// test does: no oops, SLUB report or WARNING, every byte acknowledged
// (no stall past tcpdrain's timeout) and at the sink in order, the
// core's counters back to zero and the TCP sockets and MemFree back once
// the connection closed.
func TestTCPMSSGuardControl(t *testing.T) {
	if testing.Short() {
		t.Skip("boots guests; skipped only in short mode")
	}
	b := guesttest.Builder(t)
	for _, name := range qemu.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mssControl(t, newTCPGuest(t, b, name))
		})
	}
}

// mssControl boots g with the guard and without.
func mssControl(t *testing.T, g *tcpGuest) {
	mtu := 1500
	if g.P.Link == qemu.LinkSLIP {
		mtu = slipMTU
	}
	mtu -= mssControlDrop
	mss := int64(g.adu/2 - mssControlDrop)
	pattern := func(o int64) byte { return byte(o % int64(g.adu)) }
	want := int64(2 * mssControlSends * g.adu)
	boot := func(t *testing.T, params string) mssRun {
		p := g.prefix(params)
		p.add(g.customize())
		p.add(routeguard.LoadStep{Slot: 0, Name: g.name, Guard: routeguard.Fallback})
		// The IP MIB's values before and after, its header once: the
		// SA-1110's command line holds no more.
		header, snmp0 := p.add(guards.SNMPIPHeader), p.add(guards.SNMPIPValues)
		send := qemu.SendStep{Path: qemu.PathCustomized, Slot: 0, Size: g.adu, Count: mssControlSends, Flags: tcpFlags}
		// Every byte before the change acknowledged, so that the first
		// sends after it go out at once (on the SLIP line a full window
		// would hold them until the kernel's own transmit cut them at
		// the new MSS). The leak check compares the connection at rest
		// after the change (its caches grown for the new MSS: 4
		// segments a send on SLIP instead of 2) with the guest after
		// its close.
		sends := []int{p.add(send)}
		drained := []int{len(p)}
		p = append(p, drainStep)
		p.add(routeguard.MTUStep{Dev: g.netStep().Dev, MTU: mtu})
		sends = append(sends, p.add(send))
		drained = append(drained, len(p))
		p = append(p, drainStep)
		before := p.reading(guards.SockstatTCP)
		snmp1 := p.add(guards.SNMPIPValues)
		mssAfter := p.add(qemu.GetsockoptStep{Level: solTCP, Name: tcpMaxseg})
		// The connection ends, so the sink sees its end; then no token,
		// socket or memory may be left. The counters of the sends stay.
		p.add(qemu.ReleaseStep{Slot: 0})
		p.add(qemu.CloseStep{})
		p = append(p, "sleep,ms="+strconv.Itoa(drainMS))
		released := p.add(qemu.CountersStep{})
		end := p.reading(guards.SockstatTCP)
		r, sunk := g.boot(t, slubDebug, p, 5*time.Minute, pattern)

		field := func(values int, name string) int64 {
			v, err := guards.SNMPField(r.steps[header], r.steps[values], name)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		m := mssRun{
			counters:  r.steps[released].Counters,
			fragFails: field(snmp1, "FragFails") - field(snmp0, "FragFails"),
			mss:       int64(r.steps[mssAfter].Getsockopt.Value),
			sunk:      sunk,
		}
		for _, i := range sends {
			m.sendErrors += int64(r.steps[i].Send.Errors)
		}
		t.Logf("%q: MSS %d bytes after; IP FragFails %+d; sink %+v; counters %v",
			params, m.mss, m.fragFails, m.sunk, m.counters)
		for _, i := range drained {
			if left := r.steps[i].Fields["left"]; left != "0" {
				t.Errorf("%q: %s bytes not acknowledged after %s", params, left, drainStep)
			}
		}
		counters(t, params+": after the release", r.steps[released], guards.Released)
		// The connection's socket is gone (in TIME_WAIT).
		if params == "" {
			leaks(t, r.steps, before, end, 1)
			return m
		}
		// Without the guard, logged only (as the close guard's
		// control): segments too large for the link sat in the write
		// queue until the kernel cut them anew.
		log, err := guards.Leaks(readingAt(r.steps, before), readingAt(r.steps, end), 1)
		t.Logf("%q: %s (%v)", params, log, err)
		return m
	}
	on, off := boot(t, ""), boot(t, "mss_guard=0")
	for _, c := range []struct {
		what string
		m    mssRun
	}{{"guard on", on}, {"guard off", off}} {
		if c.m.sendErrors != 0 || c.m.sunk.good != want || c.m.sunk.bad != 0 || c.m.sunk.conns != 1 || c.m.sunk.ended != 1 {
			t.Errorf("%s: %d sends failed; the sink got %d of %d bytes in order (%+v)", c.what, c.m.sendErrors, c.m.sunk.good, want, c.m.sunk)
		}
		if c.m.mss != mss {
			t.Errorf("%s: MSS %d bytes at MTU %d, want %d", c.what, c.m.mss, mtu, mss)
		}
	}
	// With the guard: one MSS change seen, the sends after it generic,
	// no packet too large for the link.
	if c := on.counters; c["guard_pmtu"] != 1 || c["sends_specialized"] != mssControlSends ||
		c["sends_guarded"] != mssControlSends || on.fragFails != 0 {
		t.Errorf("guard on: counters %v, FragFails %d; want guard_pmtu 1, %d specialized and %d guarded sends, no FragFails",
			c, on.fragFails, mssControlSends, mssControlSends)
	}
	// Without: every send specialized, and packets sized for the old
	// MSS dropped at the guest's IP.
	if c := off.counters; c["guard_pmtu"] != 0 || c["sends_specialized"] != 2*mssControlSends ||
		c["sends_guarded"] != 0 || off.fragFails == 0 {
		t.Errorf("guard off: counters %v, FragFails %d; want every send specialized and packets too large for the link (FragFails)",
			c, off.fragFails)
	}
}
