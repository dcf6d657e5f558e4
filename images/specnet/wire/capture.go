// Package wire reads the UDP datagrams of a link capture and compares
// them field by field: the datagrams a specnet path (the core module's
// generic path, a token's residual) put on the wire against the ones the
// kernel's own sendto() put there for the same payload.
//
// It knows pcap files with Ethernet frames (LINKTYPE_ETHERNET) and bare
// IPv4 packets (LINKTYPE_RAW, a SLIP line), reassembles IPv4 fragments
// into datagrams, checks the IPv4 header and UDP checksums, and says in
// which field, with which values, two datagrams differ (Compare). The IP
// ID is not compared (it comes from a generator whose state differs per
// send); IDSequence checks that a series of datagrams took their IDs
// from one generator.
//
// The test in this package boots every platform in network mode and runs
// the comparison on the capture of its data path (README.md).
package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Packet is one IPv4 packet of a capture: a whole datagram or a fragment.
type Packet struct {
	// At is the packet's capture timestamp (host time).
	At time.Time
	// Eth is the Ethernet header; nil on a link without one (SLIP).
	Eth *layers.Ethernet
	// IP is the decoded IPv4 header; IP.Contents holds its bytes (options
	// included) and IP.Payload the bytes after it, cut to the total
	// length (Ethernet padding dropped).
	IP *layers.IPv4
	// HeaderChecksumOK: the header's 16-bit ones' complement sum is 0xffff.
	HeaderChecksumOK bool
}

// Options are the header's IPv4 option bytes (empty without options).
func (p *Packet) Options() []byte { return p.IP.Contents[20:] }

// Datagram is one UDP datagram of a capture, reassembled from its
// fragments.
type Datagram struct {
	// Fragments are the datagram's IPv4 packets by fragment offset; one
	// for a datagram that was not fragmented.
	Fragments []Packet
	// Complete is false when fragments are missing; the fields below are
	// then zero.
	Complete bool
	UDP      *layers.UDP
	// UDPChecksumOK: the UDP checksum verifies over the pseudo-header,
	// the header and the payload (a zero checksum, "none", does not).
	UDPChecksumOK bool
	// Payload is the UDP payload.
	Payload []byte
}

// ID is the datagram's IPv4 identification.
func (d *Datagram) ID() uint16 { return d.Fragments[0].IP.Id }

// At is when the datagram's first fragment was captured.
func (d *Datagram) At() time.Time { return d.Fragments[0].At }

// Flow selects the datagrams of one sender: UDP from Src to Dst.
type Flow struct {
	Src, Dst netip.Addr
}

// ReadCapture returns the UDP datagrams of flow in the pcap file at
// path, in the order their first fragment was captured. Packets of other
// flows and protocols are skipped; a packet of the flow that does not
// decode is an error.
func ReadCapture(path string, flow Flow) ([]*Datagram, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	defer f.Close()
	ds, err := readCapture(f, flow)
	if err != nil {
		return nil, fmt.Errorf("wire: %s: %w", path, err)
	}
	return ds, nil
}

// fragmentKey identifies the fragments of one datagram (RFC 791).
type fragmentKey struct {
	src, dst netip.Addr
	id       uint16
}

func readCapture(r io.Reader, flow Flow) ([]*Datagram, error) {
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return nil, err
	}
	var ethernet bool
	switch pr.LinkType() {
	case layers.LinkTypeEthernet:
		ethernet = true
	case layers.LinkTypeRaw, layers.LinkTypeIPv4:
	default:
		return nil, fmt.Errorf("link type %v: want Ethernet or raw IPv4", pr.LinkType())
	}
	var out []*Datagram
	open := map[fragmentKey]*Datagram{}
	for n := 1; ; n++ {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		p, err := decodePacket(data, ethernet)
		if err != nil {
			return nil, fmt.Errorf("packet %d: %w", n, err)
		}
		if p == nil || p.IP.Protocol != layers.IPProtocolUDP {
			continue
		}
		src, _ := netip.AddrFromSlice(p.IP.SrcIP.To4())
		dst, _ := netip.AddrFromSlice(p.IP.DstIP.To4())
		if src != flow.Src || dst != flow.Dst {
			continue
		}
		p.At = ci.Timestamp
		key := fragmentKey{src, dst, p.IP.Id}
		d := open[key]
		if d == nil {
			d = &Datagram{}
			open[key] = d
			out = append(out, d)
		}
		d.Fragments = append(d.Fragments, *p)
		if err := d.reassemble(); err != nil {
			return nil, fmt.Errorf("packet %d: %w", n, err)
		}
		if d.Complete {
			delete(open, key)
		}
	}
}

// decodePacket decodes an IPv4 packet, or returns nil for a frame that
// holds none (ARP, IPv6).
func decodePacket(data []byte, ethernet bool) (*Packet, error) {
	p := &Packet{}
	if ethernet {
		p.Eth = &layers.Ethernet{}
		if err := p.Eth.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
			return nil, err
		}
		if p.Eth.EthernetType != layers.EthernetTypeIPv4 {
			return nil, nil
		}
		data = p.Eth.Payload
	}
	if len(data) < 20 || data[0]>>4 != 4 {
		return nil, nil
	}
	p.IP = &layers.IPv4{}
	if err := p.IP.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
		return nil, err
	}
	p.HeaderChecksumOK = onesSum(p.IP.Contents, 0) == 0xffff
	return p, nil
}

// reassemble sorts the fragments by offset and, when they cover the
// whole datagram, decodes its UDP header and payload.
func (d *Datagram) reassemble() error {
	sort.SliceStable(d.Fragments, func(i, j int) bool {
		return d.Fragments[i].IP.FragOffset < d.Fragments[j].IP.FragOffset
	})
	var body []byte
	for _, f := range d.Fragments {
		if int(f.IP.FragOffset)*8 != len(body) {
			return nil // a hole (or an overlap): wait for more
		}
		body = append(body, f.IP.Payload...)
		if f.IP.Flags&layers.IPv4MoreFragments == 0 {
			return d.decodeUDP(body)
		}
	}
	return nil
}

func (d *Datagram) decodeUDP(body []byte) error {
	u := &layers.UDP{}
	if err := u.DecodeFromBytes(body, gopacket.NilDecodeFeedback); err != nil {
		return fmt.Errorf("UDP: %w", err)
	}
	d.Complete, d.UDP, d.Payload = true, u, u.Payload
	first := d.Fragments[0].IP
	d.UDPChecksumOK = u.Checksum != 0 && udpSum(first.SrcIP.To4(), first.DstIP.To4(), body) == 0xffff
	return nil
}

// onesSum is the 16-bit ones' complement sum of b added to sum (RFC 1071).
func onesSum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// udpSum is the ones' complement sum over the IPv4 pseudo-header and the
// UDP datagram (header with its checksum, payload): 0xffff when the
// checksum verifies.
func udpSum(src, dst, datagram []byte) uint16 {
	pseudo := bytes.Join([][]byte{src, dst, {0, byte(layers.IPProtocolUDP)}, binary.BigEndian.AppendUint16(nil, uint16(len(datagram)))}, nil)
	return onesSum(datagram, uint32(onesSum(pseudo, 0)))
}
