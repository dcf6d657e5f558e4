package wire

import (
	"bytes"
	"fmt"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Diff is one field in which a datagram differs from the reference.
type Diff struct {
	// Field names the field ("ip.ttl", "udp.checksum", "payload"); a
	// fragment's header field is prefixed by "fragment N: " when the
	// datagram has several.
	Field string
	// Want is the reference's value (the kernel's datagram, or the
	// expected value), Got the compared datagram's.
	Want, Got string
}

func (d Diff) String() string { return fmt.Sprintf("%s: want %s, got %s", d.Field, d.Want, d.Got) }

// differ collects the diffs of one comparison.
type differ struct {
	prefix string
	diffs  []Diff
}

func (c *differ) field(name string, want, got any) {
	w, g := fmt.Sprint(want), fmt.Sprint(got)
	if w != g {
		c.diffs = append(c.diffs, Diff{Field: c.prefix + name, Want: w, Got: g})
	}
}

// bytesField compares two byte strings and shows the first difference.
func (c *differ) bytesField(name string, want, got []byte) {
	if bytes.Equal(want, got) {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	show := func(b []byte) string {
		if i >= len(b) {
			return fmt.Sprintf("%d bytes (ends before byte %d)", len(b), i)
		}
		return fmt.Sprintf("%d bytes, byte %d = %#02x", len(b), i, b[i])
	}
	c.diffs = append(c.diffs, Diff{Field: c.prefix + name, Want: show(want), Got: show(got)})
}

// Compare lists every field in which got differs from want, the kernel's
// datagram for the same payload: per fragment the Ethernet source,
// destination and type, the IPv4 version, header length, TOS, total
// length, flags (DF, MF), fragment offset, TTL, protocol, header checksum
// validity, source, destination and options; then the UDP ports, length,
// checksum (the same payload and addresses give the same checksum) and
// its validity, and the payload. The IP ID, and so the header checksum's
// value, are not compared: each datagram takes the next ID of a shared
// generator (IDSequence checks them). No diffs: the datagrams are the
// same on the wire.
func Compare(want, got *Datagram) []Diff {
	c := &differ{}
	c.field("fragments", len(want.Fragments), len(got.Fragments))
	c.field("complete", want.Complete, got.Complete)
	for i := range min(len(want.Fragments), len(got.Fragments)) {
		if len(want.Fragments) > 1 {
			c.prefix = fmt.Sprintf("fragment %d: ", i)
		}
		comparePacket(c, &want.Fragments[i], &got.Fragments[i])
	}
	c.prefix = ""
	if !want.Complete || !got.Complete {
		return c.diffs
	}
	c.field("udp.src_port", uint16(want.UDP.SrcPort), uint16(got.UDP.SrcPort))
	c.field("udp.dst_port", uint16(want.UDP.DstPort), uint16(got.UDP.DstPort))
	c.field("udp.length", want.UDP.Length, got.UDP.Length)
	c.field("udp.checksum", fmt.Sprintf("%#04x", want.UDP.Checksum), fmt.Sprintf("%#04x", got.UDP.Checksum))
	c.field("udp.checksum_valid", want.UDPChecksumOK, got.UDPChecksumOK)
	c.bytesField("payload", want.Payload, got.Payload)
	return c.diffs
}

func comparePacket(c *differ, want, got *Packet) {
	switch {
	case (want.Eth == nil) != (got.Eth == nil):
		c.field("eth", want.Eth != nil, got.Eth != nil)
	case want.Eth != nil:
		c.field("eth.src", want.Eth.SrcMAC, got.Eth.SrcMAC)
		c.field("eth.dst", want.Eth.DstMAC, got.Eth.DstMAC)
		c.field("eth.type", want.Eth.EthernetType, got.Eth.EthernetType)
	}
	w, g := want.IP, got.IP
	c.field("ip.version", w.Version, g.Version)
	c.field("ip.ihl", w.IHL, g.IHL)
	c.field("ip.tos", fmt.Sprintf("%#02x", w.TOS), fmt.Sprintf("%#02x", g.TOS))
	c.field("ip.total_length", w.Length, g.Length)
	c.field("ip.flags", flags(w.Flags), flags(g.Flags))
	c.field("ip.fragment_offset", w.FragOffset, g.FragOffset)
	c.field("ip.ttl", w.TTL, g.TTL)
	c.field("ip.protocol", w.Protocol, g.Protocol)
	c.field("ip.header_checksum_valid", want.HeaderChecksumOK, got.HeaderChecksumOK)
	c.field("ip.src", w.SrcIP, g.SrcIP)
	c.field("ip.dst", w.DstIP, g.DstIP)
	c.bytesField("ip.options", want.Options(), got.Options())
}

// flags shows IPv4 flags as "DF", "MF", "DF|MF" or "none".
func flags(f layers.IPv4Flag) string {
	if f == 0 {
		return "none"
	}
	return f.String()
}

// Check lists the fields in which d is not a correct datagram of the
// given payload: every fragment's header checksum must verify, the
// datagram must be complete, its UDP checksum must verify and its payload
// must be payload. Compare only says two datagrams agree; Check keeps
// the kernel's reference honest too.
func Check(d *Datagram, payload []byte) []Diff {
	c := &differ{}
	for i := range d.Fragments {
		if len(d.Fragments) > 1 {
			c.prefix = fmt.Sprintf("fragment %d: ", i)
		}
		c.field("ip.header_checksum_valid", true, d.Fragments[i].HeaderChecksumOK)
	}
	c.prefix = ""
	c.field("complete", true, d.Complete)
	if !d.Complete {
		return c.diffs
	}
	c.field("udp.checksum_valid", true, d.UDPChecksumOK)
	c.bytesField("payload", payload, d.Payload)
	return c.diffs
}

// IDSample is one datagram of an ID sequence: which path sent it and the
// ID it carried, in send order.
type IDSample struct {
	// Label names the datagram in errors ("special path, 512 B, round 3").
	Label string
	ID    uint16
	// At is when it was captured (host time).
	At time.Time
}

// IDSequence checks that samples, datagrams sent one after the other to
// one destination, took their IDs from one generator: the kernel's
// hashed per-destination counter (ip_idents_reserve). That counter adds
// 1 per datagram, plus a random jump below the number of jiffies since
// the bucket was last used, so each ID must follow the previous one by
// at least 1 and at most 1 + maxJump(gap), gap being the host time
// between the two captures. A path with a generator of its own (a
// per-socket or per-token counter, a fixed 0) lands outside that window
// (a few hundred IDs of 65536) at its first datagram after another
// path's. The errors name both datagrams and IDs.
func IDSequence(samples []IDSample, maxJump func(gap time.Duration) int) []string {
	var errs []string
	for i := 1; i < len(samples); i++ {
		prev, cur := samples[i-1], samples[i]
		step := int(cur.ID - prev.ID) // uint16 arithmetic: mod 2^16
		limit := 1 + maxJump(cur.At.Sub(prev.At))
		if step < 1 || step > limit {
			errs = append(errs, fmt.Sprintf("IP ID %d (%s) follows %d (%s) by %d, want 1 to %d",
				cur.ID, cur.Label, prev.ID, prev.Label, step, limit))
		}
	}
	return errs
}
