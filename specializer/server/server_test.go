package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"specbed/images"
	"specbed/specializer"
	"specbed/specializer/ctxschema"
)

// TestInstanceKeys: in the UDP declaration only the descriptor is
// per-instance, and two contexts that differ only there specialize to the
// same code (up to the entry's name and the header comment).
func TestInstanceKeys(t *testing.T) {
	repo, err := images.FindRepo()
	if err != nil {
		t.Fatal(err)
	}
	u, err := specializer.Load(DefaultDecls(repo)["udp"])
	if err != nil {
		t.Fatal(err)
	}
	if got := InstanceKeys(u.Decl); len(got) != 1 || got[0] != "fd" {
		t.Fatalf("InstanceKeys = %q, want [fd]", got)
	}
	body := func(js []byte) string {
		c, err := ctxschema.Load(js)
		if err != nil {
			t.Fatal(err)
		}
		out, err := u.Specialize(c)
		if err != nil {
			t.Fatal(err)
		}
		_, code, ok := strings.Cut(string(out.C), "#include")
		if !ok {
			t.Fatalf("residual without #include:\n%s", out.C)
		}
		return strings.ReplaceAll(code, out.Entry, "ENTRY")
	}
	typical := testContext(t, "typical")
	if a, b := body(typical), body(withValue(t, typical, "fd", 7)); a != b {
		t.Errorf("residuals for fd 3 and 7 differ:\n%s\n---\n%s", a, b)
	}
}

// TestServe: a module for a context, a cache hit for a context that
// differs only in its per-instance values (a new socket, same invariants),
// a miss for another context, and the error statuses.
func TestServe(t *testing.T) {
	e := newTestEnv(t, Config{}, "i486")
	// Every context of this test goes through withValue's re-encoding, so
	// that all have the same layout (the digest a residual embeds is taken
	// over the core module's layout; a host-encoded context has none).
	typical := withValue(t, testContext(t, "typical"), "fd", 3)

	first := e.fetch(t, e.request(t, "i486", typical))
	if first.Err() != nil || first.CacheHit || !signed(first.Module) {
		t.Fatalf("first fetch: status %s hit %t signed %t: %s", first.Status, first.CacheHit, signed(first.Module), first.Message)
	}
	if first.Phase(PhaseCompile) == 0 || first.Phase(PhaseSign) == 0 || first.Phase(PhaseSpecialization) == 0 {
		t.Errorf("cold fetch phases %v: compile, sign and specialization must be timed", first.Phases)
	}
	newSocket := e.fetch(t, e.request(t, "i486", withValue(t, typical, "fd", 9)))
	if newSocket.Err() != nil || !newSocket.CacheHit || !bytes.Equal(newSocket.Module, first.Module) {
		t.Errorf("new socket, same invariants: status %s hit %t same module %t", newSocket.Status, newSocket.CacheHit, bytes.Equal(newSocket.Module, first.Module))
	}
	if newSocket.Phase(PhaseCompile) != 0 || newSocket.Phase(PhaseSpecialization) != 0 {
		t.Errorf("cache hit phases %v: nothing is specialized or compiled", newSocket.Phases)
	}
	other := e.fetch(t, e.request(t, "i486", withValue(t, typical, "adu", 1000)))
	if other.Err() != nil || other.CacheHit || bytes.Equal(other.Module, first.Module) {
		t.Errorf("another ADU: status %s hit %t same module %t", other.Status, other.CacheHit, bytes.Equal(other.Module, first.Module))
	}

	for _, tc := range []struct {
		name string
		req  *Request
		want Status
		msg  string
	}{
		{"unknown kernel", &Request{Kernel: "0123456789abcdef", Decl: "udp", Context: typical}, StatusUnknownKernel, "0123456789abcdef"},
		{"unknown declaration", &Request{Kernel: KernelID(e.kernels["i486"]), Decl: "sctp", Context: typical}, StatusUnknownDeclaration, "sctp"},
		{"not JSON", e.request(t, "i486", []byte("{\"schema\": ")), StatusBadContext, ""},
		{"value out of range", e.request(t, "i486", withValue(t, typical, "sock->sk->sk_net->sysctl_ip_default_ttl", 0)), StatusBadContext, "sysctl_ip_default_ttl"},
		{"missing value", e.request(t, "i486", bytes.Replace(typical, []byte(`"adu"`), []byte(`"adv"`), 1)), StatusBadContext, "adu"},
	} {
		resp := e.fetch(t, tc.req)
		if resp.Status != tc.want || !strings.Contains(resp.Message, tc.msg) || resp.Module != nil {
			t.Errorf("%s: status %s, message %q, %d module bytes; want %s mentioning %q", tc.name, resp.Status, resp.Message, len(resp.Module), tc.want, tc.msg)
		}
	}
}

// TestHostileClients: truncated, oversized, garbage, flooding and stalled
// clients at once, while valid clients still get their modules in far
// less than the read timeout; every hostile one gets its status.
func TestHostileClients(t *testing.T) {
	const readTimeout = 3 * time.Second
	e := newTestEnv(t, Config{ReadTimeout: readTimeout}, "i486")
	valid, err := AppendRequest(nil, e.request(t, "i486", testContext(t, "typical")))
	if err != nil {
		t.Fatal(err)
	}
	oversized := append([]byte{}, valid[:31]...)
	oversized = binary.BigEndian.AppendUint32(oversized, 1<<30)
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	flood := append(append([]byte{}, oversized...), bytes.Repeat([]byte{'x'}, 8<<20)...)

	type hostile struct {
		name  string
		send  []byte
		stall bool // keep the connection open without sending more
		want  Status
	}
	var hostiles []hostile
	for i := range 4 {
		hostiles = append(hostiles,
			hostile{fmt.Sprintf("truncated-%d", i), valid[:len(valid)/(i+2)], false, StatusMalformed},
			hostile{fmt.Sprintf("oversized-%d", i), oversized, false, StatusTooLarge},
			hostile{fmt.Sprintf("garbage-%d", i), garbage[i*100:], false, StatusMalformed},
			hostile{fmt.Sprintf("stalled-%d", i), valid[:20+i], true, StatusTimeout},
			hostile{fmt.Sprintf("silent-%d", i), nil, true, StatusTimeout},
		)
	}
	hostiles = append(hostiles, hostile{"flood", flood, false, StatusTooLarge})

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	start := time.Now()
	for _, h := range hostiles {
		wg.Go(func() {
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				errs <- fmt.Errorf("%s: %v", h.name, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(readTimeout + 10*time.Second))
			// The flood may be cut off by the server's close: only the
			// response matters.
			go c.Write(h.send)
			if !h.stall {
				if tc, ok := c.(*net.TCPConn); ok && len(h.send) < 1<<20 {
					time.Sleep(50 * time.Millisecond)
					tc.CloseWrite()
				}
			}
			resp, err := ReadResponse(c)
			if err != nil {
				errs <- fmt.Errorf("%s: %v", h.name, err)
				return
			}
			if resp.Status != h.want {
				errs <- fmt.Errorf("%s: status %s (%s), want %s", h.name, resp.Status, resp.Message, h.want)
			}
		})
	}
	// Valid clients among them, after the hostile ones connected.
	time.Sleep(100 * time.Millisecond)
	var validTimes []time.Duration
	var mu sync.Mutex
	for i := range 3 {
		wg.Go(func() {
			t0 := time.Now()
			ctx := withValue(t, testContext(t, "typical"), "fd", 10+i)
			resp := e.fetch(t, e.request(t, "i486", ctx))
			d := time.Since(t0)
			if resp.Err() != nil || !signed(resp.Module) {
				errs <- fmt.Errorf("valid client %d: %v", i, resp.Err())
			}
			mu.Lock()
			validTimes = append(validTimes, d)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, d := range validTimes {
		if d >= readTimeout {
			t.Errorf("a valid client waited %v, as long as the stalled clients' read timeout %v", d, readTimeout)
		}
	}
	t.Logf("valid clients' round trips %v; all %d hostile clients answered after %v", validTimes, len(hostiles), time.Since(start))
	// And the server still serves.
	if resp := e.fetch(t, e.request(t, "i486", withValue(t, testContext(t, "typical"), "fd", 9))); resp.Err() != nil || !resp.CacheHit {
		t.Errorf("after the hostile clients: status %s hit %t", resp.Status, resp.CacheHit)
	}
}

// TestBusy: beyond MaxConns a connection gets a busy response at once.
func TestBusy(t *testing.T) {
	e := newTestEnv(t, Config{MaxConns: 1, ReadTimeout: 2 * time.Second}, "i486")
	stalled, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	time.Sleep(100 * time.Millisecond) // let the server take the slot
	resp := e.fetch(t, e.request(t, "i486", testContext(t, "typical")))
	if resp.Status != StatusBusy {
		t.Errorf("second connection: status %s, want busy", resp.Status)
	}
	if r, err := ReadResponse(stalled); err != nil || r.Status != StatusTimeout {
		t.Errorf("stalled connection: %v, %v, want a timeout response", r, err)
	}
}

// TestServeStops: cancelling Serve's context ends it and closes
// connections in progress.
func TestServeStops(t *testing.T) {
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Kernels: []*images.Kernel{{Platform: "i486", Key: strings.Repeat("0", 64)}},
		Decls: DefaultDecls(b.Repo), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("connection not closed: %v", err)
	}
}
