package server

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadRequest: the decoder never panics, fails only with a
// *ProtocolError of a request status, and whatever it accepts encodes
// back to exactly the bytes it consumed.
func FuzzReadRequest(f *testing.F) {
	for _, req := range []*Request{
		{Kernel: "30f5e808cd246887", Decl: "udp", Context: []byte(`{"version":"specbed.context/v1","values":{}}`)},
		{Kernel: "a-b", Decl: "x_y", Context: nil},
	} {
		b, err := AppendRequest(nil, req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("SBRQ\x00\x01\x00\x00\xff\xff"))
	f.Add([]byte("SBRQ\x00\x01\x00\x00\x00\x01a\x00\x01b\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		req, err := ReadRequest(r)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ProtocolError", err)
			}
			if pe.Status != StatusMalformed && pe.Status != StatusTooLarge {
				t.Fatalf("status %s for a reader that never times out", pe.Status)
			}
			return
		}
		consumed := data[:len(data)-r.Len()]
		b, err := AppendRequest(nil, req)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		if !bytes.Equal(b, consumed) {
			t.Fatalf("re-encoding gave %q, consumed %q", b, consumed)
		}
	})
}
