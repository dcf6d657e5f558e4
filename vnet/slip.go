package vnet

// SLIP framing (RFC 1055) as Linux's N_SLIP line discipline speaks it: every
// packet is sent as END, the escaped packet, END. Receivers ignore empty
// packets, so the leading END only flushes line noise.
const (
	slipEnd    = 0xc0
	slipEsc    = 0xdb
	slipEscEnd = 0xdc
	slipEscEsc = 0xdd
)

// SLIPEncodedLen is the number of bytes SLIPEncode produces for pkt: the
// bytes a SLIP link's rate applies to.
func SLIPEncodedLen(pkt []byte) int {
	n := len(pkt) + 2
	for _, b := range pkt {
		if b == slipEnd || b == slipEsc {
			n++
		}
	}
	return n
}

// SLIPEncode appends the SLIP encoding of pkt to dst and returns the result.
func SLIPEncode(dst, pkt []byte) []byte {
	dst = append(dst, slipEnd)
	for _, b := range pkt {
		switch b {
		case slipEnd:
			dst = append(dst, slipEsc, slipEscEnd)
		case slipEsc:
			dst = append(dst, slipEsc, slipEscEsc)
		default:
			dst = append(dst, b)
		}
	}
	return append(dst, slipEnd)
}

// SLIPDecoder turns a byte stream into packets. It keeps state between
// Write calls, so a packet may arrive split over any number of reads.
type SLIPDecoder struct {
	// MaxPacket is the largest decoded packet in bytes; longer packets are
	// discarded whole and counted in Overruns (Linux's sl_bump does the
	// same for packets over the MTU).
	MaxPacket int
	// Overruns counts packets discarded for length.
	Overruns int
	// BadEscapes counts ESC bytes followed by neither ESC_END nor ESC_ESC;
	// like Linux, the decoder keeps the second byte as is.
	BadEscapes int

	buf     []byte
	escaped bool
	overrun bool
}

// Write decodes p and calls emit for every complete packet. The slice
// passed to emit is only valid during the call.
func (d *SLIPDecoder) Write(p []byte, emit func(pkt []byte)) {
	for _, b := range p {
		switch {
		case b == slipEnd:
			if len(d.buf) > 0 && !d.overrun {
				emit(d.buf)
			}
			d.buf, d.escaped, d.overrun = d.buf[:0], false, false
			continue
		case d.escaped:
			d.escaped = false
			switch b {
			case slipEscEnd:
				b = slipEnd
			case slipEscEsc:
				b = slipEsc
			default:
				d.BadEscapes++
			}
		case b == slipEsc:
			d.escaped = true
			continue
		}
		if d.overrun {
			continue
		}
		if d.MaxPacket > 0 && len(d.buf) >= d.MaxPacket {
			d.Overruns++
			d.overrun = true
			continue
		}
		d.buf = append(d.buf, b)
	}
}
