// Package guesttest is what the guest tests of several packages share:
// the builder, a subtest per platform with its cached kernel, and a boot
// that fails the test with the guest's console when the guest fails or
// answers fewer steps than its plan. It imports testing and is meant for
// _test.go files only.
package guesttest

import (
	"context"
	"io"
	"testing"

	"specbed/images"
	"specbed/qemu"
	"specbed/vnet"
)

// Builder returns the image builder of this checkout and cache.
func Builder(t testing.TB) *images.Builder {
	t.Helper()
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Guest is one platform with its cached kernel.
type Guest struct {
	B *images.Builder
	P *qemu.Platform
	K *images.Kernel
}

// Lookup returns the named platform with its cached kernel (the test
// fails when it is not built: `specbed images build`).
func Lookup(t testing.TB, b *images.Builder, name string) *Guest {
	t.Helper()
	p, err := qemu.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	k, err := b.CachedKernel(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return &Guest{B: b, P: p, K: k}
}

// ForEach runs f as a subtest per platform, in qemu.Names order.
func ForEach(t *testing.T, b *images.Builder, f func(t *testing.T, g *Guest)) {
	for _, name := range qemu.Names() {
		t.Run(name, func(t *testing.T) { f(t, Lookup(t, b, name)) })
	}
}

// Initrd returns the agent's initramfs with files added.
func (g *Guest) Initrd(t testing.TB, files []images.File) string {
	t.Helper()
	initrd, err := g.B.Initramfs(t.Context(), g.P, files)
	if err != nil {
		t.Fatal(err)
	}
	return initrd
}

// Run is a finished guest run: its result and everything it printed.
type Run struct {
	*qemu.Result
	Console string
}

// Boot runs cfg (Platform, and RunRoot when empty, filled in from g and
// the test) and returns the run. The test fails with the console when
// the guest fails (timeout, oops, agent error) or answers fewer steps
// than cfg.Plan holds. cfg.Echo, when set, gets the console too.
func (g *Guest) Boot(t testing.TB, cfg qemu.Config) Run {
	t.Helper()
	return g.boot(t, cfg, qemu.Start)
}

// BootOn is Boot with the guest attached to n, which topo started
// (vnet.StartQEMU).
func (g *Guest) BootOn(t testing.TB, n *vnet.Network, topo *vnet.Topology, cfg qemu.Config) Run {
	t.Helper()
	return g.boot(t, cfg, func(ctx context.Context, cfg qemu.Config) (*qemu.Instance, error) {
		return vnet.StartQEMU(ctx, n, topo, cfg)
	})
}

func (g *Guest) boot(t testing.TB, cfg qemu.Config, start func(context.Context, qemu.Config) (*qemu.Instance, error)) Run {
	t.Helper()
	var console qemu.ConsoleCopy
	cfg.Platform = g.P
	if cfg.RunRoot == "" {
		cfg.RunRoot = t.TempDir()
	}
	if cfg.Echo != nil {
		cfg.Echo = io.MultiWriter(&console, cfg.Echo)
	} else {
		cfg.Echo = &console
	}
	in, err := start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Wait()
	if err != nil {
		t.Fatalf("%s: %v\nconsole:\n%s", g.P.Name, err, console.String())
	}
	if len(res.Steps) != len(cfg.Plan) {
		t.Fatalf("%s: %d step results for %d steps\nconsole:\n%s", g.P.Name, len(res.Steps), len(cfg.Plan), console.String())
	}
	return Run{Result: res, Console: console.String()}
}
