package sim

import (
	"math"
	"time"

	specserver "specbed/specializer/server"
)

// Frames of a fetch on the specialization link, in bytes on the wire as
// vnet's LinkSpec.Rate counts them (the Ethernet frame with its 14-byte
// header, no preamble or FCS).
const (
	// segmentPayload is a full TCP segment's payload: the 1500-byte MTU
	// less 20 bytes of IP, 20 of TCP and 12 of the timestamp option.
	segmentPayload = 1448
	// segmentOverhead is each segment's headers: IP, TCP with
	// timestamps, Ethernet.
	segmentOverhead = 20 + 32 + 14
	// controlFrame is an ARP, SYN or SYN-ACK frame (74 bytes: Ethernet,
	// IP and TCP with the SYN's options; ARP's 42 padded by QEMU to 60).
	controlFrame = 74
	// initialWindow is the sender's first congestion window (segments):
	// Linux's and gVisor's 10.
	initialWindow = 10
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

// segmentSeconds is one full segment's time on the wire.
func (l Link) segmentSeconds() float64 {
	return (segmentPayload + segmentOverhead) * 8 / l.RateBps
}

// Transfer is one message of payload bytes from its first bit sent to its
// last bit in: its segments back to back at the link's rate, the one-way
// delay, and the stalls of TCP slow start: the window opens at
// initialWindow segments and doubles each round trip, and a round whose
// window drains before its first ack returns waits for it. A fetch's
// messages (a few KB) fit the first window, so slow start only matters
// past 14,480 bytes.
func (l Link) Transfer(payload float64) float64 {
	segs := math.Max(1, math.Ceil(payload/segmentPayload))
	wire := (payload + segs*segmentOverhead) * 8 / l.RateBps
	rtt := 2*l.DelaySeconds + l.segmentSeconds() + controlFrame*8/l.RateBps
	stall := 0.0
	for sent, w := 0.0, float64(initialWindow); sent+w < segs; sent, w = sent+w, 2*w {
		stall += math.Max(0, rtt-w*l.segmentSeconds())
	}
	return l.DelaySeconds + wire + stall
}

// Setup is a first contact's two round trips of control frames before the
// request can leave: the neighbour's address (ARP) and the TCP handshake.
func (l Link) Setup() float64 {
	return 4 * (l.DelaySeconds + controlFrame*8/l.RateBps)
}

// Upload is the request's time from the fetch's start to its last byte at
// the server; Download the response's from the server's send to the
// module's last byte at the device (seconds).
func (l Link) Upload(s *SpecCost) float64   { return l.Setup() + l.Transfer(s.RequestBytes) }
func (l Link) Download(s *SpecCost) float64 { return l.Transfer(s.ModuleBytes + responseHeaderBytes()) }

// FetchRoundTrip is the fetch as the device's agent times it (round_trip_ns):
// from before connect() to the module's last byte, with serverSeconds of
// the server's work between the request's arrival and the response.
func (l Link) FetchRoundTrip(s *SpecCost, serverSeconds float64) float64 {
	return l.Upload(s) + serverSeconds + l.Download(s)
}
