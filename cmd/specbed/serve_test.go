package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/specnet"
	"specbed/qemu"
	"specbed/specializer/server"
)

// TestServeByHand runs 'specbed serve' on a free loopback port and fetches
// a module from it, as a local-mode client would.
func TestServeByHand(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a kernel module; skipped only in short mode")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	p, err := qemu.Lookup("i486")
	if err != nil {
		t.Fatal(err)
	}
	k, err := b.CachedKernel(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	logR, logW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runServe(ctx, serveOptions{listen: "127.0.0.1:0", platforms: []string{"i486"}}, logW)
		logW.Close()
		done <- err
	}()
	addr := make(chan string, 1)
	var log strings.Builder
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(logR)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if a, ok := strings.CutPrefix(sc.Text(), "specbed serve: listening on "); ok {
				addr <- a
			}
		}
	}()
	var a string
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("serve did not start listening")
	}
	c, err := net.Dial("tcp", a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := server.Fetch(t.Context(), c, &server.Request{Kernel: server.KernelID(k), Decl: "udp", Context: specnet.Contexts()[0].JSON})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Err() != nil || len(resp.Module) == 0 {
		t.Errorf("fetch: %v (%d module bytes)", resp.Err(), len(resp.Module))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	<-scanned
	if !strings.Contains(log.String(), "status=0(ok)") {
		t.Errorf("the request was not logged:\n%s", log.String())
	}
}
