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
	// mssControlMTU is the data NIC's MTU after the change (bytes): the
	// connection's MSS becomes 1348, the residual's folded MSS 1448
	// makes 1500-byte packets.
	mssControlMTU = 1400
	// getsockopt(IPPROTO_TCP, TCP_MAXSEG): the connection's MSS.
	solTCP, tcpMaxseg = 6, 2
)

// sendPattern is byte o of a flow whose sends of tcpADU bytes each carry
// the agent's payload (bytes 0, 1, 2, ... mod 256 from each send's start).
func sendPattern(o int64) byte { return byte(o % tcpADU) }

// mssRun is what one boot of the MSS control shows.
type mssRun struct {
	counters map[string]int64
	// fragFails are IP packets the guest dropped for being larger than
	// the route's MTU with DF set, retrans TCP segments it sent again
	// (logged only: a failed transmit is no retransmission), both over
	// the sends (deltas of /proc/net/snmp).
	fragFails, retrans int64
	mss                int64 // bytes, after the sends
	sunk               tcpTotals
	sendErrors         int64
}

// TestTCPMSSGuardControl is the negative control of the TCP MSS guard,
// in network mode on the i486: a specialized connection to the sink
// sends mssControlSends records, the data NIC's MTU drops from 1500 to
// mssControlMTU, and it sends as many again. With the guard (the
// fallback policy) the sends after the change take the generic path,
// which cuts segments at the new MSS: no packet is too large. With the
// guard off (the core's test-only mss_guard=0) the residual goes on
// pushing segments of the MSS it folded in: the guest's IP drops every
// such 1500-byte packet (DF set: FragFails, and an ICMP "fragmentation
// needed" to itself); the transmit fails, so the segment stays unsent in
// the write queue until a push of the kernel's own (an ACK, the ICMP)
// cuts it at the new MSS. The two runs must differ in exactly that;
// every byte arrives in both (TCP repairs it), so the sink alone would
// not tell.
func TestTCPMSSGuardControl(t *testing.T) {
	if testing.Short() {
		t.Skip("boots guests; skipped only in short mode")
	}
	b := guesttest.Builder(t)
	g := newTCPGuest(t, b, "i486")
	boot := func(t *testing.T, params string) mssRun {
		p := g.prefix(params)
		p.add(g.customize())
		p.add(routeguard.LoadStep{Slot: 0, Name: g.name, Guard: routeguard.Fallback})
		snmp := func() [4]int {
			return [4]int{p.add(guards.SNMPIPHeader), p.add(guards.SNMPIPValues),
				p.add(guards.SNMPTCPHeader), p.add(guards.SNMPTCPValues)}
		}
		before := snmp()
		send := qemu.SendStep{Path: qemu.PathCustomized, Slot: 0, Size: tcpADU, Count: mssControlSends, Flags: tcpFlags}
		sends := []int{p.add(send)}
		p.add(routeguard.MTUStep{Dev: "eth1", MTU: mssControlMTU})
		sends = append(sends, p.add(send))
		p = append(p, "sleep,ms="+strconv.Itoa(drainMS))
		after := snmp()
		counters := p.add(qemu.CountersStep{})
		mss := p.add(qemu.GetsockoptStep{Level: solTCP, Name: tcpMaxseg})
		// The connection ends, so the sink sees its end.
		p.add(qemu.ReleaseStep{Slot: 0})
		p.add(qemu.CloseStep{})
		r, sunk := g.boot(t, slubDebug, p, 5*time.Minute, sendPattern)

		field := func(at [4]int, mib int, name string) int64 {
			v, err := guards.SNMPField(r.steps[at[mib]], r.steps[at[mib+1]], name)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		m := mssRun{
			counters:  r.steps[counters].Counters,
			fragFails: field(after, 0, "FragFails") - field(before, 0, "FragFails"),
			retrans:   field(after, 2, "RetransSegs") - field(before, 2, "RetransSegs"),
			mss:       int64(r.steps[mss].Getsockopt.Value),
			sunk:      sunk,
		}
		for _, i := range sends {
			m.sendErrors += int64(r.steps[i].Send.Errors)
		}
		t.Logf("%q: MSS %d bytes after; IP FragFails %+d, TCP RetransSegs %+d; sink %+v; counters %v",
			params, m.mss, m.fragFails, m.retrans, m.sunk, m.counters)
		return m
	}
	on, off := boot(t, ""), boot(t, "mss_guard=0")
	for _, c := range []struct {
		what string
		m    mssRun
	}{{"guard on", on}, {"guard off", off}} {
		if want := int64(2 * mssControlSends * tcpADU); c.m.sendErrors != 0 || c.m.sunk.good != want || c.m.sunk.bad != 0 {
			t.Errorf("%s: %d sends failed; the sink got %d of %d bytes in order", c.what, c.m.sendErrors, c.m.sunk.good, want)
		}
		if c.m.mss != tcpADU/2-100 {
			t.Errorf("%s: MSS %d bytes at MTU %d, want %d", c.what, c.m.mss, mssControlMTU, tcpADU/2-100)
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
