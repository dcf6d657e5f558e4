package bta_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"specbed/specializer"
	"specbed/specializer/bta"
)

// keyValue is a value whose binding time the analysis must find.
type keyValue struct {
	fn, name string
	field    bool // a struct member read, not a variable
	want     bta.BT
}

func check(t *testing.T, u *specializer.Unit, keys []keyValue) {
	t.Helper()
	for _, k := range keys {
		f := u.Prog.Func(k.fn)
		if f == nil {
			t.Errorf("no function %s", k.fn)
			continue
		}
		got := u.BTA.VarBT(f, k.name)
		if k.field {
			got = u.BTA.FieldBT(f, k.name)
		}
		if got != k.want {
			t.Errorf("%s: %s is %s, want %s", k.fn, k.name, got, k.want)
		}
	}
}

// The tiny test path: destination, route, MTU and device features are static; the payload is
// dynamic; the length is dynamic at entry and static after the ADU guard.
func TestTinyKeyValues(t *testing.T) {
	u, err := specializer.Load(filepath.Join("..", "testdata", "tiny", "tiny.decl"))
	if err != nil {
		t.Fatal(err)
	}
	check(t, u, []keyValue{
		{fn: "tiny_send", name: "daddr", want: bta.S},
		{fn: "ip_send_frags", name: "mtu", want: bta.S},
		{fn: "ip_send_frags", name: "daddr", want: bta.S},
		{fn: "ip_send_frags", name: "features", field: true, want: bta.S},
		{fn: "ip_send_frags", name: "hard_header_len", field: true, want: bta.S},
		{fn: "ip_send_frags", name: "buf", want: bta.D},
		{fn: "ip_send_frags", name: "skb", want: bta.D},
		{fn: "ip_send_frags", name: "len", want: bta.S},
		{fn: "ip_send_frags", name: "left", want: bta.S},
	})
}

// udpDecl is the path of the generic UDP path's declarations (images/specnet/generic).
var udpDecl = filepath.Join("..", "..", "images", "specnet", "generic", "udp.decl")

// withoutADUGuard copies the UDP declarations next to their sources without the ADU guard.
func withoutADUGuard(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(udpDecl)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gen, err := filepath.Abs(filepath.Dir(udpDecl))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(gen)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".c") || strings.HasSuffix(n, ".h") {
			if err := os.Symlink(filepath.Join(gen, n), filepath.Join(dir, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	text := strings.Replace(string(data), "guard len == adu\n", "", 1)
	if text == string(data) {
		t.Fatal("udp.decl has no \"guard len == adu\"")
	}
	out := filepath.Join(dir, "udp.decl")
	if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

var update = flag.Bool("update", false, "rewrite the golden files")

// udpKeys are the values whose binding times the UDP golden file pins.
var udpKeys = []keyValue{
	{fn: "sn_udp_sendmsg", name: "daddr"},
	{fn: "sn_udp_sendmsg", name: "dport"},
	{fn: "sn_udp_sendmsg", name: "tos"},
	{fn: "sn_udp_sendmsg", name: "connected"},
	{fn: "sn_udp_sendmsg", name: "rt"},
	{fn: "sn_udp_sendmsg", name: "len"},
	{fn: "sn___ip_append_data", name: "rt"},
	{fn: "sn___ip_append_data", name: "mtu"},
	{fn: "sn___ip_append_data", name: "fragheaderlen"},
	{fn: "sn___ip_append_data", name: "length"},
	{fn: "sn___ip_append_data", name: "features", field: true},
	{fn: "sn_sendmsg", name: "buf"},
	{fn: "sn_sendmsg", name: "len"},
}

// The generic UDP path's key values, with the declarations as they are and without the ADU
// guard, pinned in testdata/udp-keys.golden (go test -update rewrites it). The analysis is
// context-independent: a value static in the contexts the paper has in mind (see
// specializer.TestUDPKeyValuesObserved) may be S/D or D here when some declared-static input
// leads it through a dynamic merge (an error return, an undeclared SHIM_PURE lookup).
func TestUDPKeyValues(t *testing.T) {
	if _, err := os.Stat(udpDecl); err != nil {
		t.Fatalf("the generic UDP path is missing: %v", err)
	}
	var b strings.Builder
	for _, d := range []struct {
		name, path string
	}{{"udp.decl", udpDecl}, {"udp.decl without the ADU guard", withoutADUGuard(t)}} {
		u, err := specializer.Load(d.path)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "# %s\n", d.name)
		for _, k := range udpKeys {
			f := u.Prog.Func(k.fn)
			if f == nil {
				t.Fatalf("no function %s", k.fn)
			}
			bt := u.BTA.VarBT(f, k.name)
			if k.field {
				bt = u.BTA.FieldBT(f, k.name)
			}
			fmt.Fprintf(&b, "%-22s %-16s %s\n", k.fn, k.name, bt)
		}
	}
	golden := filepath.Join("testdata", "udp-keys.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("binding times changed (go test -update to accept):\n%s\nwant:\n%s", b.String(), want)
	}
	// Whatever else changes, the payload stays dynamic and the destination port static.
	if !strings.Contains(b.String(), "sn_sendmsg             buf              D") ||
		!strings.Contains(b.String(), "sn_udp_sendmsg         dport            S") {
		t.Errorf("payload or port misclassified:\n%s", b.String())
	}
}
