package compile

import (
	"hash/fnv"
	"testing"
)

func TestContextDigest(t *testing.T) {
	tail := `,
		"msg_name": {"type": "ptr", "value": 1}
	}
}
`
	head := `{
	"schema": "specbed.context/v1",
	"label": "guest",
	"values": {
		"fd": {"type": "s32", "value": 3},
		"adu": {"type": "u32", "value": 64},
		"send_flags": {"type": "u32", "value": 0}`
	h := fnv.New64a()
	h.Write([]byte(tail))
	want := h.Sum64()
	for _, tt := range []struct {
		name string
		ctx  string
		err  bool
	}{
		{"adu 64", head + tail, false},
		{"another fd and adu", `{"values": {"fd": {"type": "s32", "value": 9}, "adu": {"type": "u32", "value": 1000}, "send_flags": {"type": "u32", "value": 0}` + tail, false},
		{"no send_flags", `{"values": {}}`, true},
		{"send_flags not closed", `"send_flags": {"type": "u32"`, true},
	} {
		got, err := ContextDigest([]byte(tt.ctx))
		if tt.err {
			if err == nil {
				t.Errorf("%s: digest %x, want an error", tt.name, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s: %x, %v; want %x (the bytes after send_flags only)", tt.name, got, err, want)
		}
	}
}
