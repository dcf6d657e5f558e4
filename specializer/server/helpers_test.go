package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/specnet"
	"specbed/qemu"
)

// testEnv is a server on a host loopback listener, serving the cached
// kernels of some platforms, with a fresh cache.
type testEnv struct {
	srv     *Server
	addr    string
	kernels map[string]*images.Kernel // by platform
	served  chan Served
}

func newTestEnv(t testing.TB, cfg Config, platforms ...string) *testEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("compiles kernel modules; skipped only in short mode")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{kernels: map[string]*images.Kernel{}, served: make(chan Served, 256)}
	for _, name := range platforms {
		p, err := qemu.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		k, err := b.CachedKernel(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		e.kernels[name] = k
		cfg.Kernels = append(cfg.Kernels, k)
	}
	cfg.Decls = DefaultDecls(b.Repo)
	if cfg.CacheDir == "" {
		cfg.CacheDir = t.TempDir()
	}
	cfg.Observe = func(sv Served) {
		select {
		case e.served <- sv:
		default:
		}
	}
	if e.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

// fetch sends req over a new loopback connection.
func (e *testEnv) fetch(t testing.TB, req *Request) *Response {
	t.Helper()
	resp, _ := e.fetchFrom(t, req)
	return resp
}

// fetchFrom is fetch that also returns the client's address (the Remote
// of the server's Served record).
func (e *testEnv) fetchFrom(t testing.TB, req *Request) (*Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := Fetch(ctx, c, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, c.LocalAddr().String()
}

// testContext returns a test context's JSON by name.
func testContext(t testing.TB, name string) []byte {
	t.Helper()
	for _, c := range specnet.Contexts() {
		if c.Name == name {
			return c.JSON
		}
	}
	t.Fatalf("no test context %q", name)
	return nil
}

// withValue returns ctxJSON with one value's "value" replaced.
func withValue(t testing.TB, ctxJSON []byte, key string, v any) []byte {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(ctxJSON))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	vals, _ := doc["values"].(map[string]any)
	field, _ := vals[key].(map[string]any)
	if field == nil {
		t.Fatalf("context has no value %q", key)
	}
	field["value"] = v
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *testEnv) request(t testing.TB, platform string, ctxJSON []byte) *Request {
	return &Request{Kernel: KernelID(e.kernels[platform]), Decl: "udp", Context: ctxJSON}
}

// signed reports whether a module carries sign-file's signature marker.
func signed(ko []byte) bool { return bytes.HasSuffix(ko, []byte("~Module signature appended~\n")) }
