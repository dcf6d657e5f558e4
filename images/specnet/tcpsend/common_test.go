// Package tcpsend_test checks the specialized TCP send of the core module
// (images/specnet/core, kmod/tcp_token.c) on guests: a stream through it
// in network mode, and instructions per send of the three paths in count
// mode.
package tcpsend_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"specbed/images"
	"specbed/images/specnet/core"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
)

// Guest paths of the modules in the initramfs.
const (
	coreModule     = "/lib/modules/specnet.ko"
	residualModule = "/lib/modules/residual.ko"
)

// adu is the application's bytes per send: two MSS of a 1500-byte MTU
// with timestamps (1448 bytes each), the paper's "multiple of the MSS".
const adu = 2 * 1448

// sendFlags are the flow's MSG_* flags: records (MSG_EOR, which tcp.decl's
// write-queue guard needs) and MSG_NOSIGNAL, so that a reset peer fails a
// send instead of killing the agent.
const sendFlags = 0x80 | 0x4000

// sndBuf is the flow's SO_SNDBUF (bytes; the kernel doubles it): fixed,
// so that the context is the same in every boot.
const sndBuf = 64 << 10

type plan []string

func (p *plan) add(s fmt.Stringer) int {
	*p = append(*p, s.String())
	return len(*p) - 1
}

// buildResidual specializes tcp.decl for the guest's context (ADU adu)
// and builds the module; the connection's MSS must be half the ADU. The
// recipes live in the cache's specializer folder, as the server's do: a
// fresh folder per build reached the residual's line table and build ID,
// so the module's bytes, and with them the count-mode figures, moved from
// run to run (sa1100 SEND: 21 686 vs 22 346 instructions per send).
func buildResidual(t testing.TB, b *images.Builder, u *specializer.Unit, k *images.Kernel, p *qemu.Platform, generic string, guestCtx []byte) *compile.Module {
	t.Helper()
	c, err := ctxschema.Load(guestCtx)
	if err != nil {
		t.Fatalf("guest context rejected: %v\n%s", err, guestCtx)
	}
	if mss := c.Values["tp->mss_cache"].Bits; 2*mss != adu {
		t.Fatalf("the connection's MSS is %d bytes, not half the ADU (%d bytes)", mss, adu)
	}
	out, err := u.Specialize(c)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := compile.ContextDigest(guestCtx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := compile.New(k, p, generic, filepath.Join(b.Cache, "specializer")).Build(t.Context(),
		compile.Residual{C: out.C, Entry: out.Entry, Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: ADU %d bytes, residual %s (%d bytes of module)", p.Name, adu, m.Name, len(m.Ko))
	return m
}

// contextDiff lists the keys whose values differ between two guest
// contexts (adu and send_flags too): why a LOAD failed with ESTALE.
func contextDiff(a, b []byte) string {
	ca, err := ctxschema.Load(a)
	if err != nil {
		return err.Error()
	}
	cb, err := ctxschema.Load(b)
	if err != nil {
		return err.Error()
	}
	var out string
	for k, va := range ca.Values {
		if vb, ok := cb.Values[k]; !ok || vb.Bits != va.Bits {
			out += fmt.Sprintf(" %s: %d vs %d;", k, va.Bits, vb.Bits)
		}
	}
	return out
}

// coreFile is the core module built for k, at coreModule.
func coreFile(t testing.TB, b *images.Builder, k *images.Kernel) images.File {
	t.Helper()
	ko, err := core.Build(t.Context(), b, k)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(ko)
	if err != nil {
		t.Fatal(err)
	}
	return images.File{Path: coreModule, Data: data}
}
