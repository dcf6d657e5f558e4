package vnet

import (
	"context"
	"io"
	"testing"
	"time"
)

func TestSmokeTCP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	topo := pairTopology(LinkSpec{Rate: 10_000_000, Delay: 2 * time.Millisecond})
	n, err := Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	l, err := n.Host("b").Listen(ctx, "tcp", ":7070")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	c, err := n.Host("a").Dial(ctx, "tcp", "10.9.0.2:7070")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("hello over vnet")
	c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %+v", got, n.Link("ab").Stats())
}
