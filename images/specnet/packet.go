package specnet

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Packet is one buffer the send path handed to the device (dev_queue_xmit)
// or looped back (dev_loopback_xmit), with the device's checksum offload
// already applied.
type Packet struct {
	Loopback bool
	Bytes    []byte // from the link-layer header on
	NH       int    // offset of the IP header in Bytes
	Ret      int    // the driver's verdict
}

// Packets returns the packets of a send.
func (s *Send) Packets() ([]Packet, error) {
	var out []Packet
	for _, e := range s.Effects {
		name, args := Effect(e)
		if name != "dev_queue_xmit" && name != "dev_loopback_xmit" {
			continue
		}
		b, err := hex.DecodeString(args["bytes"])
		if err != nil {
			return nil, fmt.Errorf("%s: bytes: %w", name, err)
		}
		nh, err1 := strconv.Atoi(args["nh"])
		ret, err2 := strconv.Atoi(args["ret"])
		n, err3 := strconv.Atoi(args["len"])
		if err1 != nil || err2 != nil || err3 != nil || n != len(b) || nh < 0 || nh > len(b) {
			return nil, fmt.Errorf("%s: bad arguments in %q", name, clip(e))
		}
		if args["summed"] == "3" { // CHECKSUM_PARTIAL: what the device does
			start, err1 := strconv.Atoi(args["csum_start"])
			off, err2 := strconv.Atoi(args["csum_off"])
			if err1 != nil || err2 != nil || start+off+2 > len(b) {
				return nil, fmt.Errorf("%s: bad checksum offload arguments in %q", name, clip(e))
			}
			sum := fold(onesSum(b[start:], 0))
			if sum == 0 {
				sum = 0xffff
			}
			binary.BigEndian.PutUint16(b[start+off:], sum)
		}
		out = append(out, Packet{Loopback: name == "dev_loopback_xmit", Bytes: b, NH: nh, Ret: ret})
	}
	return out, nil
}

// onesSum adds b as big-endian 16-bit words to sum (RFC 1071).
func onesSum(b []byte, sum uint32) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// Datagram is a UDP datagram reassembled from the packets of one send.
type Datagram struct {
	Src, Dst   [4]byte
	ID         uint16
	TTL, TOS   uint8
	Fragments  int
	Loopback   bool
	SrcPort    uint16
	DstPort    uint16
	Payload    []byte
	HasOptions bool
}

type fragKey struct {
	src, dst [4]byte
	id       uint16
	loopback bool
}

type fragment struct {
	off  int
	more bool
	data []byte
}

// Datagrams checks every packet of a send (IPv4 header, checksum, length,
// fragment geometry) and reassembles the UDP datagrams, checking their
// length and checksum. Datagrams that lack a fragment because the driver
// refused an earlier one are left out.
func (s *Send) Datagrams() ([]Datagram, error) {
	pkts, err := s.Packets()
	if err != nil {
		return nil, err
	}
	frags := map[fragKey][]fragment{}
	var order []fragKey
	hdr := map[fragKey][]byte{}
	// A packet the driver refused, one the neighbour's ARP queue took and
	// one whose link-layer header failed leave their datagram incomplete.
	refused := false
	for _, e := range s.Effects {
		name, args := Effect(e)
		switch {
		case name == "neigh_event_send" && args["ret"] != "0",
			name == "dev_hard_header" && strings.HasPrefix(args["ret"], "-"):
			refused = true
		}
	}
	for i, p := range pkts {
		ip := p.Bytes[p.NH:]
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return nil, fmt.Errorf("packet %d: not IPv4", i)
		}
		ihl := int(ip[0]&0xf) * 4
		if ihl < 20 || ihl > len(ip) {
			return nil, fmt.Errorf("packet %d: header length %d", i, ihl)
		}
		if tot := int(binary.BigEndian.Uint16(ip[2:])); tot != len(ip) {
			return nil, fmt.Errorf("packet %d: tot_len %d, %d bytes", i, tot, len(ip))
		}
		if fold(onesSum(ip[:ihl], 0)) != 0 {
			return nil, fmt.Errorf("packet %d: bad IP header checksum", i)
		}
		if ip[9] != 17 {
			return nil, fmt.Errorf("packet %d: protocol %d", i, ip[9])
		}
		fo := binary.BigEndian.Uint16(ip[6:])
		df, mf, off := fo&0x4000 != 0, fo&0x2000 != 0, int(fo&0x1fff)*8
		if (mf || off > 0) && df {
			return nil, fmt.Errorf("packet %d: a fragment with DF", i)
		}
		if mf && (len(ip)-ihl)%8 != 0 {
			return nil, fmt.Errorf("packet %d: a non-final fragment of %d bytes", i, len(ip)-ihl)
		}
		k := fragKey{id: binary.BigEndian.Uint16(ip[4:]), loopback: p.Loopback}
		copy(k.src[:], ip[12:16])
		copy(k.dst[:], ip[16:20])
		if _, ok := frags[k]; !ok {
			order = append(order, k)
		}
		if off == 0 {
			hdr[k] = ip[:ihl]
		}
		frags[k] = append(frags[k], fragment{off, mf, ip[ihl:]})
		if p.Ret != 0 {
			refused = true
		}
	}
	var out []Datagram
	for _, k := range order {
		data, n, complete := reassemble(frags[k])
		if !complete {
			if refused {
				continue
			}
			return nil, fmt.Errorf("datagram id %d: fragments missing", k.id)
		}
		h := hdr[k]
		if len(data) < 8 {
			return nil, fmt.Errorf("datagram id %d: %d bytes, no UDP header", k.id, len(data))
		}
		if ul := int(binary.BigEndian.Uint16(data[4:])); ul != len(data) {
			return nil, fmt.Errorf("datagram id %d: UDP length %d, %d bytes", k.id, ul, len(data))
		}
		if binary.BigEndian.Uint16(data[6:]) != 0 {
			sum := onesSum(k.src[:], 0)
			sum = onesSum(k.dst[:], sum)
			sum += 17 + uint32(len(data))
			if fold(onesSum(data, sum)) != 0 {
				return nil, fmt.Errorf("datagram id %d: bad UDP checksum", k.id)
			}
		}
		out = append(out, Datagram{Src: k.src, Dst: k.dst, ID: k.id, TTL: h[8], TOS: h[1], Fragments: n,
			Loopback: k.loopback, SrcPort: binary.BigEndian.Uint16(data), DstPort: binary.BigEndian.Uint16(data[2:]),
			Payload: data[8:], HasOptions: len(h) > 20})
	}
	return out, nil
}

// reassemble puts fragments together: complete when they cover the
// datagram from 0 to the fragment without MF, without gaps or overlap.
func reassemble(fs []fragment) ([]byte, int, bool) {
	byOff := map[int]fragment{}
	for _, f := range fs {
		if _, dup := byOff[f.off]; dup {
			return nil, 0, false
		}
		byOff[f.off] = f
	}
	var data []byte
	for used := 1; ; used++ {
		f, ok := byOff[len(data)]
		if !ok {
			return nil, 0, false
		}
		data = append(data, f.data...)
		if !f.more {
			return data, used, used == len(fs)
		}
	}
}

// PayloadHash is the driver's hash of payload bytes (FNV-1a, 64 bits).
func PayloadHash(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64())
}
