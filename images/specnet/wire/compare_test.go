package wire

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var testFlow = Flow{Src: netip.MustParseAddr("10.2.0.2"), Dst: netip.MustParseAddr("10.2.0.1")}

// headers are the layers of one test datagram; edits tamper with them
// before serialization.
type headers struct {
	eth     layers.Ethernet
	ip      layers.IPv4
	udp     layers.UDP
	payload []byte
}

func kernelHeaders(id uint16, payload []byte) *headers {
	h := &headers{
		eth: layers.Ethernet{SrcMAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{0x52, 0x54, 0, 0xff, 0, 2},
			EthernetType: layers.EthernetTypeIPv4},
		ip: layers.IPv4{Version: 4, IHL: 5, Id: id, Flags: layers.IPv4DontFragment, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: testFlow.Src.AsSlice(), DstIP: testFlow.Dst.AsSlice()},
		udp:     layers.UDP{SrcPort: 5000, DstPort: 9},
		payload: payload,
	}
	h.udp.SetNetworkLayerForChecksum(&h.ip)
	return h
}

// frame serializes h with lengths and checksums computed, then lets
// after edit the bytes (to break a checksum).
func (h *headers) frame(t *testing.T, after func([]byte)) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, &h.eth, &h.ip, &h.udp, gopacket.Payload(h.payload)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if after != nil {
		after(b)
	}
	return b
}

// capture writes frames as a pcap of link type lt and reads it back.
func capture(t *testing.T, lt layers.LinkType, frames ...[]byte) []*Datagram {
	t.Helper()
	var file bytes.Buffer
	w := pcapgo.NewWriter(&file)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_700_000_000, 0)
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := readCapture(&file, testFlow)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func ramp(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// TestCompareTampered compares the kernel's datagram with copies that
// each differ in one field, as a faulty path would send them: Compare
// must name that field and only that one, with both values.
func TestCompareTampered(t *testing.T) {
	payload := ramp(64, 7)
	kernel := kernelHeaders(100, payload)
	for _, tc := range []struct {
		name   string
		edit   func(h *headers)
		after  func(b []byte)
		fields []string
	}{
		{name: "same datagram, next ID", edit: func(h *headers) {}},
		{name: "eth src", edit: func(h *headers) { h.eth.SrcMAC = net.HardwareAddr{0x52, 0x54, 0, 0, 0, 9} }, fields: []string{"eth.src"}},
		{name: "eth dst", edit: func(h *headers) { h.eth.DstMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }, fields: []string{"eth.dst"}},
		{name: "tos", edit: func(h *headers) { h.ip.TOS = 0x10 }, fields: []string{"ip.tos"}},
		{name: "no DF", edit: func(h *headers) { h.ip.Flags = 0 }, fields: []string{"ip.flags"}},
		{name: "ttl", edit: func(h *headers) { h.ip.TTL = 63 }, fields: []string{"ip.ttl"}},
		// Another address is another flow: ReadCapture leaves it out, and
		// the missing datagram fails the count in the guest test.
		{name: "destination port", edit: func(h *headers) { h.udp.DstPort = 10 }, fields: []string{"udp.dst_port", "udp.checksum"}},
		{name: "options", edit: func(h *headers) {
			h.ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}} // router alert
		}, fields: []string{"ip.ihl", "ip.total_length", "ip.options"}},
		{name: "source port", edit: func(h *headers) { h.udp.SrcPort = 5001 }, fields: []string{"udp.src_port", "udp.checksum"}},
		{name: "payload byte", edit: func(h *headers) { h.payload = append([]byte(nil), payload...); h.payload[10] ^= 1 },
			fields: []string{"udp.checksum", "payload"}},
		{name: "short payload", edit: func(h *headers) { h.payload = payload[:63] },
			fields: []string{"ip.total_length", "udp.length", "udp.checksum", "payload"}},
		{name: "bad header checksum", after: func(b []byte) { b[14+10] ^= 0xff }, fields: []string{"ip.header_checksum_valid"}},
		{name: "bad UDP checksum", after: func(b []byte) { b[14+20+6] ^= 0xff }, fields: []string{"udp.checksum", "udp.checksum_valid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := kernelHeaders(101, payload)
			if tc.edit != nil {
				tc.edit(got)
			}
			ds := capture(t, layers.LinkTypeEthernet, kernel.frame(t, nil), got.frame(t, tc.after))
			if len(ds) != 2 {
				t.Fatalf("%d datagrams read, want 2", len(ds))
			}
			if d := Check(ds[0], payload); len(d) != 0 {
				t.Fatalf("the kernel's datagram fails its own check: %v", d)
			}
			diffs := Compare(ds[0], ds[1])
			var fields []string
			for _, d := range diffs {
				fields = append(fields, d.Field)
				if d.Want == d.Got || d.Want == "" || d.Got == "" {
					t.Errorf("diff %v does not show two values", d)
				}
			}
			if strings.Join(fields, " ") != strings.Join(tc.fields, " ") {
				t.Errorf("diffs %v, want fields %v", diffs, tc.fields)
			}
			t.Logf("%v", diffs)
		})
	}
}

// TestCheck keeps the reference honest: a wrong payload or a broken
// checksum fails even when two paths agree.
func TestCheck(t *testing.T) {
	payload := ramp(32, 1)
	h := kernelHeaders(5, payload)
	ds := capture(t, layers.LinkTypeEthernet, h.frame(t, nil), h.frame(t, func(b []byte) { b[14+20+6] ^= 0xff }))
	if d := Check(ds[0], payload); len(d) != 0 {
		t.Errorf("good datagram: %v", d)
	}
	if d := Check(ds[0], ramp(32, 2)); len(d) != 1 || d[0].Field != "payload" {
		t.Errorf("other payload: %v, want one payload diff", d)
	}
	if d := Check(ds[1], payload); len(d) != 1 || d[0].Field != "udp.checksum_valid" {
		t.Errorf("bad UDP checksum: %v, want one udp.checksum_valid diff", d)
	}
}

// fragments splits an IPv4 packet (no options) into fragments of at most
// mtu bytes, as ip_do_fragment does.
func fragments(t *testing.T, packet []byte, mtu int) [][]byte {
	t.Helper()
	hdr, body := packet[:20], packet[20:]
	step := (mtu - 20) &^ 7
	var out [][]byte
	for off := 0; off < len(body); off += step {
		end := min(off+step, len(body))
		f := append(append([]byte(nil), hdr...), body[off:end]...)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		flags := uint16(off / 8)
		if end < len(body) {
			flags |= 0x2000 // MF
		}
		binary.BigEndian.PutUint16(f[6:], flags) // DF cleared, as the kernel does
		f[10], f[11] = 0, 0
		binary.BigEndian.PutUint16(f[10:], ^onesSum(f[:20], 0))
		out = append(out, f)
	}
	return out
}

// TestFragments reads a datagram fragmented on a SLIP line (raw IPv4),
// compares it with a copy that lost its middle fragment and with one
// whose second fragment has another TTL.
func TestFragments(t *testing.T) {
	payload := ramp(1024, 3)
	raw := func(id uint16) []byte { h := kernelHeaders(id, payload); return h.frame(t, nil)[14:] }
	kernel := fragments(t, raw(10), 296)
	if len(kernel) != 4 {
		t.Fatalf("%d fragments, want 4", len(kernel))
	}
	whole := fragments(t, raw(11), 296)
	lost := fragments(t, raw(12), 296)
	lost = append(lost[:1], lost[2:]...)
	ttl := fragments(t, raw(13), 296)
	ttl[1][8] = 63
	binary.BigEndian.PutUint16(ttl[1][10:], 0)
	binary.BigEndian.PutUint16(ttl[1][10:], ^onesSum(ttl[1][:20], 0))
	var frames [][]byte
	for _, fs := range [][][]byte{kernel, whole, lost, ttl} {
		frames = append(frames, fs...)
	}
	ds := capture(t, layers.LinkTypeRaw, frames...)
	if len(ds) != 4 {
		t.Fatalf("%d datagrams, want 4", len(ds))
	}
	if d := Check(ds[0], payload); len(d) != 0 {
		t.Fatalf("reassembled kernel datagram: %v", d)
	}
	if d := Compare(ds[0], ds[1]); len(d) != 0 {
		t.Errorf("same fragments: %v", d)
	}
	if d := Compare(ds[0], ds[2]); len(d) == 0 || d[0].Field != "fragments" || ds[2].Complete {
		t.Errorf("lost fragment: %v (complete %v), want a fragments diff", d, ds[2].Complete)
	}
	if d := Compare(ds[0], ds[3]); len(d) != 1 || d[0].Field != "fragment 1: ip.ttl" {
		t.Errorf("other TTL in fragment 1: %v", d)
	}
}

// TestIDSequence: IDs of one generator pass; a second generator, a
// repeated ID and a fixed 0 do not, and the error names both datagrams.
func TestIDSequence(t *testing.T) {
	at := time.Unix(0, 0)
	seq := func(ids ...uint16) []IDSample {
		var s []IDSample
		for i, id := range ids {
			s = append(s, IDSample{Label: []string{"sendto", "generic", "special"}[i%3], ID: id, At: at.Add(time.Duration(i) * time.Millisecond)})
		}
		return s
	}
	jump := func(gap time.Duration) int { return int(gap / time.Millisecond) }
	for _, tc := range []struct {
		name string
		ids  []uint16
		errs int
	}{
		{"one generator", []uint16{65534, 65535, 0, 1, 3, 4}, 0},
		{"own counter", []uint16{100, 101, 9000, 102, 103, 9001}, 3},
		{"repeated", []uint16{7, 8, 8}, 1},
		{"zero", []uint16{7, 8, 0}, 1},
	} {
		errs := IDSequence(seq(tc.ids...), jump)
		if len(errs) != tc.errs {
			t.Errorf("%s: %d errors %q, want %d", tc.name, len(errs), errs, tc.errs)
		}
		for _, e := range errs {
			if !strings.Contains(e, "(") || !strings.Contains(e, "follows") {
				t.Errorf("%s: error %q does not name the datagrams", tc.name, e)
			}
		}
	}
}
