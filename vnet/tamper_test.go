package vnet

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"
)

// TestFlipTCPPayloadByte alters one byte of a TCP stream on the link: the
// receiving TCP accepts the segment (the checksum was fixed), so the
// application reads exactly that byte inverted.
func TestFlipTCPPayloadByte(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dir    Direction
		offset uint32
		size   int
		// flipped is whether the byte at offset reaches b altered.
		flipped bool
	}{
		{name: "first byte", dir: AToB, offset: 0, size: 100, flipped: true},
		{name: "later segment", dir: AToB, offset: 5000, size: 20000, flipped: true},
		{name: "other direction", dir: BToA, offset: 10, size: 100},
		{name: "past the end", dir: AToB, offset: 100, size: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			n, err := Start(ctx, pairTopology(LinkSpec{Rate: SpecRate, Tamper: FlipTCPPayloadByte(tc.dir, tc.offset)}))
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			l, err := n.Host("b").Listen(ctx, "tcp", ":7070")
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan []byte, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					got <- nil
					return
				}
				defer c.Close()
				b, _ := io.ReadAll(c)
				got <- b
			}()
			c, err := n.Host("a").Dial(ctx, "tcp", "10.9.0.2:7070")
			if err != nil {
				t.Fatal(err)
			}
			sent := make([]byte, tc.size)
			for i := range sent {
				sent[i] = byte(i)
			}
			if _, err := c.Write(sent); err != nil {
				t.Fatal(err)
			}
			c.Close()
			var b []byte
			select {
			case b = <-got:
			case <-ctx.Done():
				t.Fatal("receiver did not finish")
			}
			want := append([]byte(nil), sent...)
			if tc.flipped {
				want[tc.offset] ^= 0xff
			}
			if !bytes.Equal(b, want) {
				t.Errorf("received %d bytes, differ from the expected %d (flipped at %d: %v)", len(b), len(want), tc.offset, tc.flipped)
			}
		})
	}
}
