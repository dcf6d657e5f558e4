package profile

import (
	"strconv"
	"strings"
	"testing"

	"specbed/images/guesttest"
)

// TestServerProfile serves HTTP from the i486 guest to 100 concurrent
// host clients under the plugin (one boot, a few hundred connections):
// every connection served, the window's instructions all attributed, and
// the entries of the kernel's TCP receive and slab allocation at least
// what the connections need.
func TestServerProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the i486 in network mode under the TCG plugin; skipped only in short mode")
	}
	b := guesttest.Builder(t)
	g := guesttest.Lookup(t, b, "i486")
	load := ServerLoad{Clients: 100, Conns: 300, BodyBytes: 1024, Timeout: bootTimeout}
	prof, err := MeasureServer(t.Context(), b, g.P, g.K, load)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("guest served %v; clients saw %+v", prof.Served, prof.Clients)
	for _, field := range []struct {
		name string
		want int
	}{{"conns", load.Conns}, {"bad", 0}, {"failed", 0}, {"bytes", load.Conns * len(response(load.BodyBytes))}} {
		if got, err := strconv.Atoi(prof.Served[field.name]); err != nil || got != field.want {
			t.Errorf("httpd result %s=%q, want %d", field.name, prof.Served[field.name], field.want)
		}
	}
	if prof.Clients.Responses == 0 || prof.Clients.Responses > load.Conns {
		t.Errorf("the clients got %d complete responses; the guest served %d", prof.Clients.Responses, load.Conns)
	}
	var sum uint64
	byName := map[string]ServerFunc{}
	for i, f := range prof.Functions {
		sum += f.Instructions
		byName[f.Function] = f
		if i < 20 {
			t.Logf("%8d entries %10d instructions %6.3f /byte %-7s %s", f.Entries, f.Instructions, f.InstructionsPerByte(), f.Layer, f.Function)
		}
	}
	if sum != prof.Instructions {
		t.Errorf("functions add up to %d instructions, the window holds %d", sum, prof.Instructions)
	}
	// Every connection brings at least its SYN, its request and its ACKs
	// into tcp_v4_rcv, and allocates a socket and sk_buffs from slabs.
	for _, want := range []struct {
		function string
		atLeast  uint64
	}{{"tcp_v4_rcv", 3 * uint64(load.Conns)}, {"kmem_cache_alloc", uint64(load.Conns)}} {
		f, ok := byName[want.function]
		if !ok || f.Entries < want.atLeast {
			t.Errorf("%s: %d entries, want at least %d", want.function, f.Entries, want.atLeast)
		}
	}
}

// response is the agent's answer with a body of size bytes
// (images/agent/httpd.c).
func response(size int) string {
	return "HTTP/1.0 200 OK\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n" + strings.Repeat("a", size)
}
