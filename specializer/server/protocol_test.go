package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRequestRoundTrip(t *testing.T) {
	for _, req := range []*Request{
		{Kernel: "30f5e808cd246887", Decl: "udp", Context: []byte(`{"version":"specbed.context/v1"}`)},
		{Kernel: "a", Decl: "b", Context: []byte{}},
		{Kernel: strings.Repeat("k-", MaxKernelID/2), Decl: strings.Repeat("d_", MaxDeclID/2), Context: bytes.Repeat([]byte{0xff}, MaxContext)},
	} {
		b, err := AppendRequest(nil, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > MaxRequest {
			t.Errorf("encoded request of %d bytes exceeds MaxRequest %d", len(b), MaxRequest)
		}
		got, err := ReadRequest(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%.40q: %v", b, err)
		}
		if got.Kernel != req.Kernel || got.Decl != req.Decl || !bytes.Equal(got.Context, req.Context) {
			t.Errorf("round trip of %+.60v gave %+.60v", req, got)
		}
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, resp := range []*Response{
		{Status: StatusOK, Phases: []time.Duration{1, 2, 3, 4, 5}, CacheHit: true, Module: []byte("\x7fELF...")},
		{Status: StatusCompileError, Phases: []time.Duration{time.Second, 0, 0, 0, 0}, Message: "residual.c:1: error: ünïcode"},
		{Status: StatusBusy, Message: ""},
		{Status: StatusOK, Phases: make([]time.Duration, 9), Module: bytes.Repeat([]byte{1}, MaxModule)},
	} {
		b, err := AppendResponse(nil, resp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadResponse(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != resp.Status || got.CacheHit != resp.CacheHit || got.Message != resp.Message ||
			!bytes.Equal(got.Module, resp.Module) || len(got.Phases) != len(resp.Phases) ||
			(len(resp.Phases) > 0 && !reflect.DeepEqual(got.Phases, resp.Phases)) {
			t.Errorf("round trip of %+.80v gave %+.80v", resp, got)
		}
	}
}

// TestResponseLimits: messages are clipped to valid UTF-8, oversized
// modules are refused on both ends.
func TestResponseLimits(t *testing.T) {
	long := strings.Repeat("é", MaxMessage) // 2 bytes each: must be cut at a rune boundary
	b, err := AppendResponse(nil, &Response{Status: StatusCompileError, Message: long + "\xff"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadResponse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Message) > MaxMessage || !strings.HasPrefix(long, got.Message) || len(got.Message) < MaxMessage-1 {
		t.Errorf("message clipped to %d bytes", len(got.Message))
	}
	if _, err := AppendResponse(nil, &Response{Module: make([]byte, MaxModule+1)}); err == nil {
		t.Error("a module above MaxModule was encoded")
	}
	huge := []byte("SBRS\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff")
	if _, err := ReadResponse(bytes.NewReader(huge)); err == nil {
		t.Error("a response announcing a 4 GiB module was read")
	}
}

func TestReadRequestErrors(t *testing.T) {
	valid, err := AppendRequest(nil, &Request{Kernel: "30f5e808cd246887", Decl: "udp", Context: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, valid...)) }
	cases := []struct {
		name string
		in   []byte
		want Status
	}{
		{"empty", nil, StatusMalformed},
		{"bad magic", edit(func(b []byte) []byte { b[0] = 'X'; return b }), StatusMalformed},
		{"version 2", edit(func(b []byte) []byte { b[5] = 2; return b }), StatusMalformed},
		{"flags", edit(func(b []byte) []byte { b[7] = 1; return b }), StatusMalformed},
		{"kernel id too long", edit(func(b []byte) []byte { binary.BigEndian.PutUint16(b[8:], MaxKernelID+1); return b }), StatusTooLarge},
		{"kernel id uppercase", edit(func(b []byte) []byte { b[10] = 'A'; return b }), StatusMalformed},
		{"empty kernel id", []byte("SBRQ\x00\x01\x00\x00\x00\x00"), StatusMalformed},
		{"decl id with dash", edit(func(b []byte) []byte { b[28] = '-'; return b }), StatusMalformed},
		{"decl id too long", edit(func(b []byte) []byte { binary.BigEndian.PutUint16(b[26:], MaxDeclID+1); return b }), StatusTooLarge},
		{"context too long", edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b[31:], MaxContext+1); return b }), StatusTooLarge},
		{"context 4 GiB", edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b[31:], 0xffffffff); return b }), StatusTooLarge},
	}
	// Every proper prefix is a truncated request.
	for n := range len(valid) {
		cases = append(cases, struct {
			name string
			in   []byte
			want Status
		}{"truncated", valid[:n], StatusMalformed})
	}
	for _, tc := range cases {
		_, err := ReadRequest(bytes.NewReader(tc.in))
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("%s (%q): error %v, want a *ProtocolError", tc.name, tc.in, err)
			continue
		}
		if pe.Status != tc.want {
			t.Errorf("%s (%q): status %s (%v), want %s", tc.name, tc.in, pe.Status, err, tc.want)
		}
	}
}

func TestAppendRequestRefuses(t *testing.T) {
	for _, req := range []*Request{
		{Kernel: "", Decl: "udp"},
		{Kernel: strings.Repeat("a", MaxKernelID+1), Decl: "udp"},
		{Kernel: "abc", Decl: "UDP"},
		{Kernel: "abc", Decl: "udp", Context: make([]byte, MaxContext+1)},
	} {
		if _, err := AppendRequest(nil, req); err == nil {
			t.Errorf("request %.60v encoded", req)
		}
	}
}
