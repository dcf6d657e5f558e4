package bta_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"specbed/specializer"
	"specbed/specializer/bta"
	"specbed/specializer/ir"
)

// tcpDecl is the path of the generic TCP path's declarations (images/specnet/generic).
var tcpDecl = filepath.Join("..", "..", "images", "specnet", "generic", "tcp.decl")

// tcpKeys are the values whose binding times the TCP golden file pins.
var tcpKeys = []keyValue{
	{fn: "sn_tcp_established_options", name: "eff_sacks"},
	{fn: "sn_tcp_established_options", name: "size"},
	{fn: "sn_tcp_current_mss", name: "mtu"},
	{fn: "sn_tcp_current_mss", name: "header_len"},
	{fn: "sn_tcp_current_mss", name: "mss_now"},
	{fn: "sn_tcp_xmit_size_goal", name: "new_size_goal"},
	{fn: "sn_tcp_xmit_size_goal", name: "size_goal"},
	{fn: "sn_tcp_send_mss", name: "mss_now"},
	{fn: "sn_tcp_push", name: "nonagle"},
	{fn: "sn_tcp_send_segments", name: "size_goal", field: true},
	{fn: "sn_tcp_send_segments", name: "copy"},
	{fn: "sn_tcp_sendmsg_locked", name: "buf"},
	{fn: "sn_tcp_sendmsg_locked", name: "len"},
	{fn: "sn_tcp_sendmsg_locked", name: "flags"},
}

// The generic TCP path's key values per call path, and which of its loops the analysis finds
// static, pinned in testdata/tcp-keys.golden (go test -update rewrites it). With tcp.decl's
// guards (the ADU, the flags, an established socket, no SACK blocks, no pending push, the
// cached GSO count) the option space and Nagle are static; the payload is dynamic. The MSS
// and the size goal are static only where the context decides it: after a PMTU change
// (tcp_sync_mss) and with GSO, half the peer's largest window bounds them, and that window
// is dynamic (tcp.decl); a context with the PMTU settled and no GSO, as every specialized
// socket of the kernel side, makes them static and the segment loop unrolls into k skbs for
// an ADU of k MSS (TestTCPUnroll in package specializer). What tcp.c leaves generic
// (tcp_copy.c, tcp_slow.c) the analysis does not see: it is a shim call in the residual.
func TestTCPKeyValues(t *testing.T) {
	u, err := specializer.Load(tcpDecl)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("# tcp.decl: value, binding time, call path\n")
	for _, k := range tcpKeys {
		vs := pathVariants(u, k)
		if len(vs) == 0 {
			t.Errorf("no instance of %s", k.fn)
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "%-14s %-3s %s\n", k.name, v.bt, v.path)
			if !strings.Contains(v.path, ">tcp_send_slow") {
				checkTCPStatic(t, k, v)
			}
		}
	}
	b.WriteString("# loops: static for the analysis, line, call path\n")
	for _, sc := range u.BTA.Scenarios() {
		sc.Root.Walk(func(path []*bta.Instance) {
			in := path[len(path)-1]
			ir.Inspect(in.Func.Body, func(n ir.Node) bool {
				switch n.(type) {
				case *ir.While, *ir.For, *ir.DoWhile:
					s := n.(ir.Stmt)
					at := fmt.Sprintf("%s:%d", filepath.Base(s.At().File), s.At().Line)
					fmt.Fprintf(&b, "%-5v %-16s %s\n", in.StaticLoop(s), at, callPath(path))
					if in.Func.Name == "sn_tcp_send_segments" && in.StaticLoop(s) {
						t.Errorf("the segment loop is static for the analysis, though the peer's window may bound the size goal")
					}
				}
				return true
			})
		})
	}
	golden := filepath.Join("testdata", "tcp-keys.golden")
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

// pathBT is a key value's binding time in the instances of its function at one call path.
type pathBT struct {
	path string
	bt   bta.BT
}

func callPath(path []*bta.Instance) string {
	names := make([]string, len(path))
	for i, in := range path {
		names[i] = strings.TrimPrefix(in.Func.Name, "sn_")
	}
	return strings.Join(names, ">")
}

// pathVariants lists a key value's binding times per call path, in the instance tree's
// depth-first order (tcp.decl has no pinning scenarios but the one).
func pathVariants(u *specializer.Unit, k keyValue) []pathBT {
	var out []pathBT
	idx := map[string]int{}
	for _, sc := range u.BTA.Scenarios() {
		sc.Root.Walk(func(path []*bta.Instance) {
			in := path[len(path)-1]
			if in.Func.Name != k.fn {
				return
			}
			bt := in.VarBT(k.name)
			if k.field {
				bt = in.FieldBT(k.name)
			}
			p := callPath(path)
			if i, ok := idx[p]; ok {
				out[i].bt |= bt
				return
			}
			idx[p] = len(out)
			out = append(out, pathBT{path: p, bt: bt})
		})
	}
	return out
}

// checkTCPStatic holds the straight path's key values to the paper's classification, whatever
// the golden file says: MSS, options, size goal, Nagle, length, flags and each skb's share
// static; the payload dynamic.
func checkTCPStatic(t *testing.T, k keyValue, v pathBT) {
	t.Helper()
	want := bta.S
	switch k.name {
	case "buf":
		want = bta.D
	case "mss_now", "new_size_goal", "size_goal", "copy":
		want = bta.D // the peer's window may bound them (see TestTCPKeyValues)
	}
	if v.bt != want {
		t.Errorf("%s in %s is %s, want %s", k.name, v.path, v.bt, want)
	}
}
