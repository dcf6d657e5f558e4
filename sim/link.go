package sim

import (
	"math"
	"time"

	specserver "specbed/specializer/server"
)

// Bytes of a fetch's packets on the specialization link, as vnet's
// LinkSpec.Rate counts them: an Ethernet link carries the frame with its
// 14-byte header (no preamble or FCS), a SLIP line the SLIP-encoded packet
// (RFC 1055: END, the packet with END and ESC bytes escaped to two bytes,
// END).
const (
	// tcpIPHeaders is a data segment's IPv4 and TCP headers with the
	// timestamp option (20 + 20 + 12 bytes): Linux and gVisor both use
	// timestamps.
	tcpIPHeaders = 20 + 32
	// synPacket is a SYN or SYN-ACK (IPv4 20 bytes, TCP 20 with 20 bytes
	// of options: MSS, SACK permitted, timestamps, window scale).
	synPacket = 60
	// ethernetHeader is what Ethernet adds to an IP packet (bytes).
	ethernetHeader = 14
	// ethernetControlFrame is an ARP, SYN or SYN-ACK frame (74 bytes: ARP's
	// 42 are padded by QEMU to 60, the SYN is 60 + 14).
	ethernetControlFrame = synPacket + ethernetHeader
	// slipEnds are the two END bytes around every SLIP packet.
	slipEnds = 2
	// slipEscapeShare is the chance that a uniformly distributed byte is
	// END or ESC and goes on the line as two bytes (2 of 256 values).
	slipEscapeShare = 2.0 / 256
	// variableHeaderBytes are a segment's header bytes that change from
	// segment to segment and look uniformly distributed to the escaper:
	// IP ID and checksum, TCP sequence, acknowledgement and checksum, the
	// two timestamps.
	variableHeaderBytes = 2 + 2 + 4 + 4 + 2 + 8
	// ethernetMTU and slipMTU are the links' default IP MTUs (bytes): vnet's
	// and Linux's sl0.
	ethernetMTU = 1500
	slipMTU     = 296
	// initialWindow is the sender's first congestion window (segments):
	// Linux's and gVisor's 10.
	initialWindow = 10
)

// Payload escape shares of a fetch's two messages on a SLIP line: the
// request is its fixed header and the context's JSON (ASCII text, no byte
// is END or ESC); the module is an ELF file, counted as uniformly
// distributed bytes: an upper bound (the residuals in the cache have 0.05%
// to 0.25% END and ESC bytes against 0.78%, so the download's modelled
// wire bytes are at most 0.6% long).
const (
	requestEscapeShare = 0
	moduleEscapeShare  = slipEscapeShare
)

// responseHeaderBytes is the response's header before the module, with
// every phase the server reports (specializer/server's encoding).
func responseHeaderBytes() float64 {
	b, err := specserver.AppendResponse(nil, &specserver.Response{Phases: make([]time.Duration, specserver.NumPhases)})
	if err != nil {
		panic(err) // an empty module is within every limit
	}
	return float64(len(b))
}

// mtu is the path's IP MTU (bytes).
func (l Link) mtu() float64 {
	if l.MTU > 0 {
		return float64(l.MTU)
	}
	return float64(l.defaultMTU())
}

// defaultMTU is the bottleneck's framing's default MTU (bytes), as vnet
// sets it for a link that names none.
func (l Link) defaultMTU() int {
	if l.SLIP {
		return slipMTU
	}
	return ethernetMTU
}

// mss is a full segment's payload (bytes): the MTU less IP and TCP with
// timestamps (1448 on Ethernet, 244 on a 296-byte SLIP line).
func (l Link) mss() float64 { return l.mtu() - tcpIPHeaders }

// framing is what the bottleneck adds to each IP packet (bytes): the
// Ethernet header, or the SLIP line's two ENDs and the escapes of the
// header bytes that vary.
func (l Link) framing() float64 {
	if l.SLIP {
		return slipEnds + slipEscapeShare*variableHeaderBytes
	}
	return ethernetHeader
}

// payloadOnWire is payload bytes of which the share escape are END or
// ESC, as the bottleneck carries them (bytes).
func (l Link) payloadOnWire(payload, escape float64) float64 {
	if l.SLIP {
		return payload * (1 + escape)
	}
	return payload
}

// segmentSeconds is one full segment's time on the wire.
func (l Link) segmentSeconds() float64 {
	return (tcpIPHeaders + l.framing() + l.payloadOnWire(l.mss(), moduleEscapeShare)) * 8 / l.RateBps
}

// controlSeconds is a SYN's (or an ack's, rounded up to it) time on the
// wire.
func (l Link) controlSeconds() float64 {
	return (synPacket + l.framing()) * 8 / l.RateBps
}

// Wire is the time a message of payload bytes (escape: the share of its
// bytes that are END or ESC) takes on the bottleneck's wire: its segments
// back to back at the link's rate, without delay or stalls. The server's
// receive phase of an upload is this (it starts when the handshake's last
// ack, just ahead of the first segment, arrives).
func (l Link) Wire(payload, escape float64) float64 {
	segs := math.Max(1, math.Ceil(payload/l.mss()))
	return (l.payloadOnWire(payload, escape) + segs*(tcpIPHeaders+l.framing())) * 8 / l.RateBps
}

// Transfer is one message from its first bit sent to its last bit in:
// its wire time, the one-way delay, and the stalls of TCP slow start: the
// window opens at initialWindow segments and doubles each round trip, and
// a round whose window drains before its first ack returns waits for it.
// A fetch's messages (a few KB) do not stall on any link the sweeps use:
// the first window drains slower than an ack returns.
func (l Link) Transfer(payload, escape float64) float64 {
	segs := math.Max(1, math.Ceil(payload/l.mss()))
	rtt := 2*l.DelaySeconds + l.segmentSeconds() + l.controlSeconds()
	stall := 0.0
	for sent, w := 0.0, float64(initialWindow); sent+w < segs; sent, w = sent+w, 2*w {
		stall += math.Max(0, rtt-w*l.segmentSeconds())
	}
	return l.DelaySeconds + l.Wire(payload, escape) + stall
}

// Setup is a first contact's round trips before the request can leave:
// on Ethernet the neighbour's address (ARP) and the TCP handshake, two
// round trips of control frames on the bottleneck; behind a SLIP line the
// handshake's two packets cross the line and the router's ARP for the
// server only the faster link beyond it (its frames' time there is left
// out, its delays are in).
func (l Link) Setup() float64 {
	if l.SLIP {
		return 4*l.DelaySeconds + 2*l.controlSeconds()
	}
	return 4 * (l.DelaySeconds + ethernetControlFrame*8/l.RateBps)
}

// Upload is the request's time from the fetch's start to its last byte at
// the server; Download the response's from the server's send to the
// module's last byte at the device (seconds).
func (l Link) Upload(s *SpecCost) float64 {
	return l.Setup() + l.Transfer(s.RequestBytes, requestEscapeShare)
}

func (l Link) Download(s *SpecCost) float64 {
	return l.Transfer(s.ModuleBytes+responseHeaderBytes(), moduleEscapeShare)
}

// FetchRoundTrip is the fetch as the device's agent times it (round_trip_ns):
// from before connect() to the module's last byte, with serverSeconds of
// the server's work between the request's arrival and the response.
func (l Link) FetchRoundTrip(s *SpecCost, serverSeconds float64) float64 {
	return l.Upload(s) + serverSeconds + l.Download(s)
}
