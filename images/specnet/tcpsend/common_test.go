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
	"specbed/images/specnet/tcpsend"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
)

// coreModule is the core module's path in the initramfs.
const coreModule = "/lib/modules/specnet.ko"

type plan []string

func (p *plan) add(s fmt.Stringer) int {
	*p = append(*p, s.String())
	return len(*p) - 1
}

// buildResidual is tcpsend.BuildResidual with the recipes in the cache's
// specializer folder, as the server's are: a fresh folder per build
// reached the residual's line table and build ID, so the module's bytes,
// and with them the count-mode figures, moved from run to run (sa1100
// SEND: 21 686 vs 22 346 instructions per send).
func buildResidual(t testing.TB, b *images.Builder, u *specializer.Unit, k *images.Kernel, p *qemu.Platform, generic string, guestCtx []byte) *compile.Module {
	t.Helper()
	m, err := tcpsend.BuildResidual(t.Context(), compile.New(k, p, generic, filepath.Join(b.Cache, "specializer")), u, guestCtx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: ADU %d bytes, residual %s (%d bytes of module)", p.Name, tcpsend.ADU, m.Name, len(m.Ko))
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
