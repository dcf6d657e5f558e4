package vnet

import (
	"bytes"
	"testing"
)

func TestSLIPEncode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pkt     []byte
		encoded []byte
	}{
		{"plain", []byte{1, 2, 3}, []byte{0xc0, 1, 2, 3, 0xc0}},
		{"end", []byte{0xc0}, []byte{0xc0, 0xdb, 0xdc, 0xc0}},
		{"esc", []byte{0xdb}, []byte{0xc0, 0xdb, 0xdd, 0xc0}},
		{"escape bytes kept", []byte{0xdc, 0xdd}, []byte{0xc0, 0xdc, 0xdd, 0xc0}},
		{"mixed", []byte{0xc0, 7, 0xdb, 0xc0}, []byte{0xc0, 0xdb, 0xdc, 7, 0xdb, 0xdd, 0xdb, 0xdc, 0xc0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SLIPEncode(nil, tc.pkt)
			if !bytes.Equal(got, tc.encoded) {
				t.Errorf("SLIPEncode(% x) = % x, want % x", tc.pkt, got, tc.encoded)
			}
			if n := SLIPEncodedLen(tc.pkt); n != len(tc.encoded) {
				t.Errorf("SLIPEncodedLen = %d, want %d", n, len(tc.encoded))
			}
		})
	}
}

func TestSLIPDecode(t *testing.T) {
	for _, tc := range []struct {
		name       string
		stream     []byte
		maxPacket  int
		want       [][]byte
		overruns   int
		badEscapes int
	}{
		{name: "one", stream: []byte{0xc0, 1, 2, 0xc0}, want: [][]byte{{1, 2}}},
		{name: "no leading end", stream: []byte{1, 2, 0xc0}, want: [][]byte{{1, 2}}},
		{name: "empty packets ignored", stream: []byte{0xc0, 0xc0, 0xc0, 5, 0xc0, 0xc0}, want: [][]byte{{5}}},
		{name: "escapes", stream: []byte{0xc0, 0xdb, 0xdc, 0xdb, 0xdd, 0xc0}, want: [][]byte{{0xc0, 0xdb}}},
		{name: "two", stream: []byte{0xc0, 1, 0xc0, 0xc0, 2, 3, 0xc0}, want: [][]byte{{1}, {2, 3}}},
		{name: "unfinished packet waits", stream: []byte{0xc0, 1, 2}, want: nil},
		{name: "bad escape keeps byte", stream: []byte{0xc0, 0xdb, 9, 0xc0}, want: [][]byte{{9}}, badEscapes: 1},
		{name: "escaped end does not end", stream: []byte{0xc0, 0xdb, 0xc0, 4, 0xc0}, want: [][]byte{{4}}},
		{name: "overrun dropped whole", stream: []byte{0xc0, 1, 2, 3, 0xc0, 4, 0xc0}, maxPacket: 2,
			want: [][]byte{{4}}, overruns: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Feed the stream in every split, one byte at a time too.
			for _, step := range []int{len(tc.stream), 1, 2} {
				d := SLIPDecoder{MaxPacket: tc.maxPacket}
				var got [][]byte
				for i := 0; i < len(tc.stream); i += step {
					d.Write(tc.stream[i:min(i+step, len(tc.stream))], func(p []byte) {
						got = append(got, append([]byte(nil), p...))
					})
				}
				if len(got) != len(tc.want) {
					t.Fatalf("step %d: got %d packets % x, want % x", step, len(got), got, tc.want)
				}
				for i := range got {
					if !bytes.Equal(got[i], tc.want[i]) {
						t.Errorf("step %d: packet %d = % x, want % x", step, i, got[i], tc.want[i])
					}
				}
				if d.Overruns != tc.overruns || d.BadEscapes != tc.badEscapes {
					t.Errorf("step %d: %d overruns, %d bad escapes; want %d, %d", step, d.Overruns, d.BadEscapes, tc.overruns, tc.badEscapes)
				}
			}
		})
	}
}

// FuzzSLIP checks that encoding then decoding returns the packets, however
// the stream is split, and that the decoder survives arbitrary input.
func FuzzSLIP(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{0xc0, 0xdb}, uint8(3))
	f.Add([]byte{0xc0, 0xdb, 0xdc, 0xdd}, []byte{}, uint8(1))
	f.Fuzz(func(t *testing.T, a, b []byte, split uint8) {
		var d SLIPDecoder
		d.Write(a, func([]byte) {}) // arbitrary bytes: must not panic
		d = SLIPDecoder{}
		var pkts [][]byte
		for _, p := range [][]byte{a, b} {
			if len(p) > 0 { // SLIP cannot carry an empty packet
				pkts = append(pkts, p)
			}
		}
		var stream []byte
		for _, p := range pkts {
			stream = SLIPEncode(stream, p)
		}
		step := int(split)%16 + 1
		var got [][]byte
		for i := 0; i < len(stream); i += step {
			d.Write(stream[i:min(i+step, len(stream))], func(p []byte) { got = append(got, append([]byte(nil), p...)) })
		}
		if len(got) != len(pkts) {
			t.Fatalf("decoded %d packets from %d", len(got), len(pkts))
		}
		for i := range pkts {
			if !bytes.Equal(got[i], pkts[i]) {
				t.Fatalf("packet %d: % x, want % x", i, got[i], pkts[i])
			}
			if SLIPEncodedLen(pkts[i]) != len(SLIPEncode(nil, pkts[i])) {
				t.Fatalf("SLIPEncodedLen disagrees with SLIPEncode")
			}
		}
		if d.BadEscapes != 0 || d.Overruns != 0 {
			t.Fatalf("clean stream: %d bad escapes, %d overruns", d.BadEscapes, d.Overruns)
		}
	})
}
