package qemu

import (
	"path/filepath"
	"testing"
)

// testdata/i486-System.map.excerpt holds lines of a real i486 System.map:
// the start of text, the UDP send functions and the end of text.
func loadExcerpt(t *testing.T) *Symbolizer {
	t.Helper()
	s, err := LoadSystemMap(filepath.Join("testdata", "i486-System.map.excerpt"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLookup(t *testing.T) {
	s := loadExcerpt(t)
	tests := []struct {
		addr     uint64
		name     string
		off      uint64
		size     uint64
		resolved bool
	}{
		{0xc12b1830, "udp_sendmsg", 0, 0xbb0, true},
		{0xc12b1843, "udp_sendmsg", 0x13, 0xbb0, true},
		{0xc12b23df, "udp_sendmsg", 0xbaf, 0xbb0, true},
		{0xc12b23e0, "udp_sendpage", 0, 0x80, true},
		{0xc1000070, "startup_32_smp", 0, 0x2b1510, true},
		{0xc13292a8, "", 0, 0, false}, // _etext: past the last function
		{0xc132a0a0, "", 0, 0, false}, // data
		{0xd0850010, "", 0, 0, false}, // module space
		{0x00001000, "", 0, 0, false}, // below text
	}
	for _, tt := range tests {
		sym, off, ok := s.Lookup(tt.addr)
		if ok != tt.resolved || sym.Name != tt.name || off != tt.off || sym.Size != tt.size {
			t.Errorf("Lookup(%#x) = %+v+%#x, %v; want %s+%#x/%#x, %v",
				tt.addr, sym, off, ok, tt.name, tt.off, tt.size, tt.resolved)
		}
	}
}

func TestAnnotate(t *testing.T) {
	s := loadExcerpt(t)
	tests := []struct{ in, want string }{
		// ARM backtraces bracket raw addresses.
		{"[<c12b1843>] (udp_sendmsg) from [<c12b23e4>] (inet_sendmsg+0x3c/0x48)",
			"[<c12b1843>] {udp_sendmsg+0x13/0xbb0} (udp_sendmsg) from [<c12b23e4>] {udp_sendpage+0x4/0x80} (inet_sendmsg+0x3c/0x48)"},
		// %pS without kallsyms prints 0x addresses.
		{"EIP: 0xc12b1843", "EIP: 0xc12b1843 {udp_sendmsg+0x13/0xbb0}"},
		// Addresses outside kernel text stay as they are.
		{"EIP: 0xd0850010", "EIP: 0xd0850010"},
		{"Modules linked in: oops(O)", "Modules linked in: oops(O)"},
	}
	for _, tt := range tests {
		if got := s.Annotate(tt.in); got != tt.want {
			t.Errorf("Annotate(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
	var none *Symbolizer
	if got := none.Annotate("EIP: 0xc12b1843"); got != "EIP: 0xc12b1843" {
		t.Errorf("a nil Symbolizer changed a line: %q", got)
	}
}

func TestFaultOf(t *testing.T) {
	s := loadExcerpt(t)
	tests := []struct {
		line string
		want Fault
		ok   bool
	}{
		{"EIP: specbed_oops_fault+0x5/0x10 [oops]", Fault{Function: "specbed_oops_fault", Offset: 5}, true},
		{"RIP: 0010:udp_sendmsg+0x13/0xbb0", Fault{Function: "udp_sendmsg", Offset: 0x13}, true},
		{"PC is at specbed_oops_fault+0x4/0xc [oops]", Fault{Function: "specbed_oops_fault", Offset: 4}, true},
		{"EIP: 0xc12b1843", Fault{Function: "udp_sendmsg", Offset: 0x13, Address: 0xc12b1843}, true},
		{"pc : [<c12b1843>]    lr : [<c0008000>]    psr: 20000013",
			Fault{Function: "udp_sendmsg", Offset: 0x13, Address: 0xc12b1843}, true},
		{"EIP: 0xd0850010", Fault{Address: 0xd0850010}, true},
		{"LR is at do_one_initcall+0x50/0x1f0", Fault{}, false},
		{"Code: 89 e5 ...", Fault{}, false},
	}
	for _, tt := range tests {
		got, ok := s.faultOf(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("faultOf(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}
