package vnet

import (
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// IPv4Packet returns the IPv4 packet in frame (an Ethernet frame or, on a
// SLIP link, a bare packet), trimmed to its total length, or nil when frame
// holds none.
func IPv4Packet(f Framing, frame []byte) header.IPv4 {
	if f == FramingEthernet {
		if len(frame) < header.EthernetMinimumSize ||
			header.Ethernet(frame).Type() != header.IPv4ProtocolNumber {
			return nil
		}
		frame = frame[header.EthernetMinimumSize:]
	}
	ip := header.IPv4(frame)
	if len(frame) < header.IPv4MinimumSize || !ip.IsValid(len(frame)) {
		return nil
	}
	return ip[:ip.TotalLength()]
}

// TCPSegment returns the TCP header and payload of an unfragmented IPv4
// packet, or nil.
func TCPSegment(ip header.IPv4) header.TCP {
	if ip == nil || ip.TransportProtocol() != header.TCPProtocolNumber || ip.More() || ip.FragmentOffset() != 0 {
		return nil
	}
	seg := header.TCP(ip.Payload())
	if len(seg) < header.TCPMinimumSize || int(seg.DataOffset()) < header.TCPMinimumSize ||
		int(seg.DataOffset()) > len(seg) {
		return nil
	}
	return seg
}

// FlipTCPPayloadByte returns a Tamper that inverts the bits of the byte at
// stream offset offset (0 = the first payload byte after the SYN) of every
// TCP connection in direction dir, and fixes the TCP checksum so that the
// receiver's TCP accepts the segment: the corruption reaches the
// application. Retransmissions of that byte are altered the same way.
func FlipTCPPayloadByte(dir Direction, offset uint32) Tamper {
	type flowKey struct {
		src, dst   [4]byte
		sport, dpt uint16
	}
	var mu sync.Mutex
	isn := map[flowKey]uint32{}
	return func(f Framing, d Direction, frame []byte) []byte {
		if d != dir {
			return frame
		}
		ip := IPv4Packet(f, frame)
		seg := TCPSegment(ip)
		if seg == nil {
			return frame
		}
		k := flowKey{ip.SourceAddress().As4(), ip.DestinationAddress().As4(), seg.SourcePort(), seg.DestinationPort()}
		mu.Lock()
		defer mu.Unlock()
		if seg.Flags().Contains(header.TCPFlagSyn) {
			isn[k] = seg.SequenceNumber()
			return frame
		}
		start, ok := isn[k]
		if !ok {
			return frame
		}
		payload := seg[seg.DataOffset():]
		// Sequence arithmetic is modulo 2^32.
		at := start + 1 + offset - seg.SequenceNumber()
		if at >= uint32(len(payload)) {
			return frame
		}
		payload[at] ^= 0xff
		seg.SetChecksum(0)
		xsum := header.PseudoHeaderChecksum(header.TCPProtocolNumber, ip.SourceAddress(),
			ip.DestinationAddress(), uint16(len(seg)))
		seg.SetChecksum(^checksum.Checksum(seg, xsum))
		return frame
	}
}
