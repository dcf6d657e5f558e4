// Package tcpsend_test checks the specialized TCP send of the core module
// (images/specnet/core, kmod/tcp_token.c) on guests: a stream through it
// in network mode, and instructions per send of the three paths in count
// mode.
package tcpsend_test

import (
	"fmt"
	"os"
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

// sendFlags are the flow's MSG_* flags: records (MSG_EOR, which tcp.decl's
// write-queue guard needs) and MSG_NOSIGNAL, so that a reset peer fails a
// send instead of killing the agent.
const sendFlags = 0x80 | 0x4000

type plan []string

func (p *plan) add(s fmt.Stringer) int {
	*p = append(*p, s.String())
	return len(*p) - 1
}

// buildResidual specializes tcp.decl for the guest's context with an ADU
// of segs times the connection's MSS (the ADU is the application's input,
// outside the environment the residual's digest covers) and builds the
// module; it returns the module and the MSS (bytes).
func buildResidual(t *testing.T, u *specializer.Unit, k *images.Kernel, p *qemu.Platform, generic string, guestCtx []byte, segs int) (*compile.Module, int) {
	t.Helper()
	c, err := ctxschema.Load(guestCtx)
	if err != nil {
		t.Fatalf("guest context rejected: %v\n%s", err, guestCtx)
	}
	mss := int(c.Values["tp->mss_cache"].Bits)
	c.Values["adu"] = ctxschema.Value{Kind: "u32", Bits: uint64(segs * mss)}
	c.Hash = ctxschema.Rehash(c)
	out, err := u.Specialize(c)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := compile.ContextDigest(guestCtx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := compile.New(k, p, generic, t.TempDir()).Build(t.Context(),
		compile.Residual{C: out.C, Entry: out.Entry, Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: MSS %d, ADU %d bytes, residual %s (%d bytes of module)", p.Name, mss, segs*mss, m.Name, len(m.Ko))
	return m, mss
}

// coreFile is the core module built for k, at coreModule.
func coreFile(t *testing.T, b *images.Builder, k *images.Kernel) images.File {
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
