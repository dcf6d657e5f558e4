package ctxschema

import (
	"path/filepath"
	"strings"
	"testing"

	"specbed/specializer/decl"
	"specbed/specializer/parse"
)

func TestLoad(t *testing.T) {
	c, err := Load([]byte(`{"schema":"specbed.context/v1","label":"x","values":{
		"a":{"type":"u16","value":65535},"b":{"type":"s8","value":-128},
		"c":{"type":"ipv4","value":"10.0.2.15"},"d":{"type":"bytes","value":"0aff"},
		"e":{"type":"ptr","value":"null"},"f":{"type":"bool","value":true},
		"g":{"type":"u64","value":18446744073709551615}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"a": 65535, "b": ^uint64(127), "c": 0x0f02000a, "e": 0, "f": 1, "g": ^uint64(0)}
	for k, v := range want {
		if c.Values[k].Bits != v {
			t.Errorf("%s = %#x, want %#x", k, c.Values[k].Bits, v)
		}
	}
	if string(c.Values["d"].Bytes) != "\x0a\xff" {
		t.Errorf("d = %x", c.Values["d"].Bytes)
	}
	// The hash covers the values, not the label or the key order.
	c2, err := Load([]byte(`{"schema":"specbed.context/v1","values":{"g":{"type":"u64","value":18446744073709551615},
		"f":{"type":"bool","value":true},"e":{"type":"ptr","value":"null"},"d":{"type":"bytes","value":"0AFF"},
		"c":{"type":"ipv4","value":251789322},"b":{"type":"s8","value":-128},"a":{"type":"u16","value":65535}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash != c2.Hash {
		t.Errorf("hashes differ: %s %s", c.Hash, c2.Hash)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"version", `{"schema":"specbed.context/v2","values":{}}`, "context field schema"},
		{"unknown top", `{"schema":"specbed.context/v1","values":{},"x":1}`, "context field x: unknown top-level field"},
		{"range", `{"schema":"specbed.context/v1","values":{"sk->mtu":{"type":"u16","value":65536}}}`, "context field sk->mtu: u16 value 65536 out of range"},
		{"negative unsigned", `{"schema":"specbed.context/v1","values":{"a":{"type":"u32","value":-1}}}`, "context field a: u32 value -1 out of range"},
		{"fraction", `{"schema":"specbed.context/v1","values":{"a":{"type":"u32","value":1.5}}}`, "context field a: u32 value 1.5 is not an integer"},
		{"kind", `{"schema":"specbed.context/v1","values":{"a":{"type":"float","value":1}}}`, "context field a: type must be one of"},
		{"ipv4", `{"schema":"specbed.context/v1","values":{"a":{"type":"ipv4","value":"10.0.0.256"}}}`, "context field a: ipv4 \"10.0.0.256\": 256 is not a byte"},
		{"bytes", `{"schema":"specbed.context/v1","values":{"a":{"type":"bytes","value":"0g"}}}`, "context field a: bytes value is not hex"},
		{"ptr", `{"schema":"specbed.context/v1","values":{"a":{"type":"ptr","value":"0x1234"}}}`, "context field a: ptr value must be"},
		{"duplicate", `{"schema":"specbed.context/v1","values":{"a":{"type":"u8","value":1},"a":{"type":"u8","value":2}}}`, "context field a: given twice"},
		{"key syntax", `{"schema":"specbed.context/v1","values":{"a; system()":{"type":"u8","value":1}}}`, "not an access path or name"},
		{"trailing", `{"schema":"specbed.context/v1","values":{}} {}`, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func tinyResolved(t *testing.T) *decl.Resolved {
	dir := filepath.Join("..", "testdata", "tiny")
	f, err := decl.Parse("tiny.decl", dir, []byte(`version 1
source ip.c sock.c
entry tiny_send
instance tiny_inst
param sk bound
param buf dynamic
param len dynamic
param flags static
bound rt sk->dst_cache
static rt->dev
static rt->dev->mtu 68..1500
static rt->dev->hh
static sk->state
`))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := parse.Parse(parse.Config{Files: f.Sources, Base: dir})
	if err != nil {
		t.Fatal(err)
	}
	r, err := decl.Resolve(f, prog)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheck(t *testing.T) {
	r := tinyResolved(t)
	const good = `"flags":{"type":"u32","value":0},"rt->dev":{"type":"ptr","value":"nonnull"},
		"rt->dev->mtu":{"type":"u32","value":1500},"rt->dev->hh":{"type":"bytes","value":"0000000000000000000000000000"},
		"sk->state":{"type":"s32","value":1}`
	tests := []struct {
		name, values, want string
	}{
		{"good", good, ""},
		{"missing", strings.Replace(good, `"flags":{"type":"u32","value":0},`, "", 1), "context field flags: declared static but missing"},
		{"undeclared", good + `,"sk->wmem_queued":{"type":"u32","value":0}`, "context field sk->wmem_queued: not declared static"},
		{"kind", strings.Replace(good, `"sk->state":{"type":"s32"`, `"sk->state":{"type":"u32"`, 1), "context field sk->state: the C type is int: want kind s32, not u32"},
		{"declared range", strings.Replace(good, `"value":1500`, `"value":9000`, 1), "context field rt->dev->mtu: value 9000 outside the declared range 68..1500"},
		{"bytes length", strings.Replace(good, `"0000000000000000000000000000"`, `"00"`, 1), "context field rt->dev->hh: the C type is u8[14]: want kind bytes with exactly 14 bytes"},
		{"below null", strings.Replace(good, `"nonnull"`, `"null"`, 1), "context field rt->dev->hh: rt->dev is NULL in this context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load([]byte(`{"schema":"specbed.context/v1","values":{` + tt.values + `}}`))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(r)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
