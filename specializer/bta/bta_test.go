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

// rootOf is the entry instance of the scenario in which the guards pin pinned (nil: none).
func rootOf(t *testing.T, u *specializer.Unit, pinned []string) *bta.Instance {
	t.Helper()
	for _, sc := range u.BTA.Scenarios() {
		if strings.Join(sc.Pinned, " ") == strings.Join(pinned, " ") {
			return sc.Root
		}
	}
	t.Fatalf("no scenario pinning %v", pinned)
	return nil
}

// The analysis' own test path (testdata/paths): a split call's failure path leaves through its
// test, an unsplit one makes its value dynamic; a residual exit that leaves after a static exit
// jumped does not make what the static exit brings dynamic; the guard case without corking
// (pending pinned, corkflag and MSG_MORE known zero) never reaches the corking code.
func TestPaths(t *testing.T) {
	u, err := specializer.Load(filepath.Join("testdata", "paths", "paths.decl"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(u.BTA.Scenarios()); got != 2 {
		t.Fatalf("%d scenarios, want 2 (sk->pending pinned or not)", got)
	}
	for _, tt := range []struct {
		pinned []string
		name   string
		want   bta.BT
	}{
		{nil, "split_tos", bta.S},
		{nil, "merged_tos", bta.D},
		{nil, "corking", bta.S},
		{nil, "rt", bta.D}, // frames corked earlier bring their own route
		{[]string{"sk->pending"}, "split_tos", bta.S},
		{[]string{"sk->pending"}, "merged_tos", bta.D},
		{[]string{"sk->pending"}, "rt", bta.S},
	} {
		if got := rootOf(t, u, tt.pinned).VarBT(tt.name); got != tt.want {
			t.Errorf("pinned %v: %s is %s, want %s", tt.pinned, tt.name, got, tt.want)
		}
	}
	// Without corking the corking branch is never analysed: its reads have no binding time.
	if got := rootOf(t, u, []string{"sk->pending"}).FieldBT("cork_rt"); got != 0 {
		t.Errorf("pinned: the corking branch was analysed (cork_rt %s)", got)
	}
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

// variantBT is a key value's binding time in the instances of its function that one caller
// calls (joined when it calls it more than once), in one scenario.
type variantBT struct {
	scenario string // the fields the guards pin, or "none"
	caller   string
	bt       bta.BT
}

// variants lists a key value's binding times per scenario and caller, in scenario order and
// the instance tree's depth-first order.
func variants(u *specializer.Unit, k keyValue) []variantBT {
	var out []variantBT
	for _, sc := range u.BTA.Scenarios() {
		name := strings.Join(sc.Pinned, " ")
		if name == "" {
			name = "none"
		}
		idx := map[string]int{}
		sc.Root.Walk(func(path []*bta.Instance) {
			in := path[len(path)-1]
			if in.Func.Name != k.fn {
				return
			}
			caller := "(entry)"
			if len(path) > 1 {
				caller = path[len(path)-2].Func.Name
			}
			bt := in.VarBT(k.name)
			if k.field {
				bt = in.FieldBT(k.name)
			}
			if i, ok := idx[caller]; ok {
				out[i].bt |= bt
				return
			}
			idx[caller] = len(out)
			out = append(out, variantBT{scenario: name, caller: caller, bt: bt})
		})
	}
	return out
}

// The generic UDP path's key values, with the declarations as they are and without the ADU
// guard, per scenario of the pinning guards and per caller (the analysis is polyvariant),
// pinned in testdata/udp-keys.golden (go test -update rewrites it).
//
// In a send that does not cork (udp.decl's pending guard pins sock->sk->up.pending to 0) the
// values the paper freezes are static on the path the specialization takes: destination, port,
// TOS, route, MTU, device features; the payload is dynamic, the length dynamic unless the ADU
// guard fixes it. In a corking send (no pin) two things stay dynamic, as in Linux:
//   - sn_udp_sendmsg's rt where paths meet at do_append_data and out: a send that finds
//     frames pending appends to them without a route lookup (rt NULL), the first one looks
//     the route up;
//   - everything sn___ip_append_data derives from the cork when ip_append_data calls it (rt,
//     mtu = cork->fragsize, the device's features): the cork is socket state that the send
//     which corked the socket wrote, and the declarations make it dynamic.
func TestUDPKeyValues(t *testing.T) {
	if _, err := os.Stat(udpDecl); err != nil {
		t.Fatalf("the generic UDP path is missing: %v", err)
	}
	var b strings.Builder
	for _, d := range []struct {
		name, path string
		guard      bool
	}{{"udp.decl", udpDecl, true}, {"udp.decl without the ADU guard", withoutADUGuard(t), false}} {
		u, err := specializer.Load(d.path)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "# %s: scenario (fields the guards pin), function, its caller, value, binding time\n", d.name)
		for _, k := range udpKeys {
			for _, v := range variants(u, k) {
				fmt.Fprintf(&b, "%-21s %-20s %-18s %-14s %s\n", v.scenario, k.fn, v.caller, k.name, v.bt)
				checkNonCorking(t, d.name, d.guard, k, v)
			}
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
}

// checkNonCorking holds the non-corking send's key values to the paper's classification,
// whatever the golden file says: static but for the payload, and the length without the ADU
// guard. Two things the analysis cannot show static are allowed S/D, where the specializer
// finds them static (TestUDPKeyValuesObserved in package specializer):
//   - sn___ip_append_data's length with the guard: the fragment loop is dynamic for the
//     analysis (how much of the datagram each fragment takes depends on the skbs it
//     allocates), so length is dynamic inside it;
//   - sn_udp_sendmsg's rt without the guard, at out: a MSG_CONFIRM|MSG_PROBE send of length
//     0 (dynamic without the guard) comes there with the route, the other sends after
//     ip_make_skb, whose static return paths (probe: the route; else NULL, the route went to
//     the cork) merged, so the analysis no longer sees that a probing send has the route on
//     both.
func checkNonCorking(t *testing.T, decl string, aduGuard bool, k keyValue, v variantBT) {
	t.Helper()
	if v.scenario != "sock->sk->up.pending" || v.caller == "sn_ip_append_data" {
		return // a corking send
	}
	want := []bta.BT{bta.S}
	switch {
	case k.name == "buf":
		want = []bta.BT{bta.D}
	case (k.name == "len" || k.name == "length") && !aduGuard:
		want = []bta.BT{bta.D}
	case k.name == "length":
		want = []bta.BT{bta.S, bta.Both}
	case k.fn == "sn_udp_sendmsg" && k.name == "rt" && !aduGuard:
		want = []bta.BT{bta.S, bta.Both}
	}
	for _, w := range want {
		if v.bt == w {
			return
		}
	}
	t.Errorf("%s, a send that does not cork: %s in %s (called by %s) is %s, want %v", decl, k.name, k.fn, v.caller, v.bt, want)
}
