package core_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/specnet/core"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
)

// syncBuffer is a console copy written by QEMU's reader and read here.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The flow every boot customizes: dummy0 drops what it is given, so the
// sends cost only the sender's work and no host traffic disturbs them.
// dummy0 has a random Ethernet address, which its ARP-less neighbours
// take as theirs; the static entry fixes the peer's, so that every boot
// has the same context.
var (
	flowNet       = qemu.NetStep{Dev: "dummy0", Addr: "10.0.0.1", Prefix: 24, Neigh: "10.0.0.2", LLAddr: "02:00:00:00:00:02"}
	flowCustomize = qemu.CustomizeStep{Dst: "10.0.0.2", Port: 9, SrcPort: 40000, ADU: 64}
)

// boot runs plan on a guest of platform p booted with kernel k and the
// files, and returns its step results.
func boot(t *testing.T, b *images.Builder, p *qemu.Platform, k *images.Kernel, files []images.File, plan []string) []qemu.StepResult {
	t.Helper()
	initrd, err := b.Initramfs(context.Background(), p, files)
	if err != nil {
		t.Fatal(err)
	}
	var console syncBuffer
	in, err := qemu.Start(t.Context(), qemu.Config{
		Platform: p,
		Boot:     qemu.Boot{Kernel: k.Image, Initrd: initrd},
		Plan:     plan,
		RunRoot:  t.TempDir(),
		Timeout:  3 * time.Minute,
		Echo:     &console,
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := in.Wait()
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, console.String())
	}
	if len(r.Steps) != len(plan) {
		t.Fatalf("%d step results for %d steps\nconsole:\n%s", len(r.Steps), len(plan), console.String())
	}
	return r.Steps
}

// counters checks the named /proc/specnet counters of a counters step.
func counters(t *testing.T, what string, s qemu.StepResult, want map[string]int64) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		got, err := s.Counter(name)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if got != want[name] {
			t.Errorf("%s: %s = %d, want %d", what, name, got, want[name])
		}
	}
}

// TestCustomizeLoadSend is the core module's life cycle on every
// platform. Boot 1 loads the core and asks for the context of a UDP flow;
// the host loads that guest-made context (ctxschema), specializes it and
// compiles the residual module. Boot 2 loads core and residual, finds the
// same context, binds a token, sends through it (the residual ran every
// send: no fallback), sends a wrong length (the residual refuses, the
// token falls back to the generic path), sends through the generic path,
// releases the token and unloads the residual: every counter back to 0.
func TestCustomizeLoadSend(t *testing.T) {
	if testing.Short() {
		t.Skip("boots guests; skipped only in short mode")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	generic := filepath.Join(b.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "udp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range qemu.Names() {
		t.Run(name, func(t *testing.T) {
			p, err := qemu.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			k, err := b.CachedKernel(t.Context(), p)
			if err != nil {
				t.Fatal(err)
			}
			coreKo, err := core.Build(t.Context(), b, k)
			if err != nil {
				t.Fatal(err)
			}
			coreData, err := os.ReadFile(coreKo)
			if err != nil {
				t.Fatal(err)
			}
			coreFile := images.File{Path: "/lib/modules/specnet.ko", Data: coreData}
			insmodCore := qemu.InsmodStep{Path: coreFile.Path}.String()

			steps := boot(t, b, p, k, []images.File{coreFile}, []string{
				insmodCore, flowNet.String(), flowCustomize.String(), qemu.CountersStep{}.String(),
			})
			if e := steps[0].Insmod.Errno; e != 0 {
				t.Fatalf("insmod specnet: errno %d", e)
			}
			guestCtx := steps[2].Customize.Context
			c, err := ctxschema.Load(guestCtx)
			if err != nil {
				t.Fatalf("guest context rejected: %v\n%s", err, guestCtx)
			}
			out, err := u.Specialize(c)
			if err != nil {
				t.Fatalf("guest context does not specialize: %v\n%s", err, guestCtx)
			}
			t.Logf("guest context: %d bytes, %d values, residual %s (%d lines)", len(guestCtx), len(c.Values), out.Entry, out.Lines)
			counters(t, "after customize", steps[3], map[string]int64{"tokens_live": 0, "refs_held": 0, "residuals_registered": 0})

			m, err := compile.New(k, p, generic, t.TempDir()).Build(t.Context(), compile.Residual{C: out.C, Entry: out.Entry})
			if err != nil {
				t.Fatal(err)
			}
			resFile := images.File{Path: "/lib/modules/residual.ko", Data: m.Ko}
			const sends, warmup, wrong = 100, 10, 5
			plan := []string{
				insmodCore,
				qemu.InsmodStep{Path: resFile.Path}.String(),
				flowNet.String(),
				flowCustomize.String(),
				qemu.LoadStep{Slot: 0, Name: m.Name, Policy: "fallback"}.String(),
				qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: flowCustomize.ADU, Count: sends, Warmup: warmup}.String(),
				qemu.CountersStep{}.String(),
				qemu.RmmodStep{Name: m.Name}.String(),
				qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: flowCustomize.ADU + 1, Count: wrong, Warmup: 0}.String(),
				qemu.SendStep{Path: qemu.PathGeneric, Size: flowCustomize.ADU, Count: sends, Warmup: warmup}.String(),
				qemu.CountersStep{}.String(),
				qemu.ReleaseStep{Slot: 0}.String(),
				qemu.RmmodStep{Name: m.Name}.String(),
				qemu.CountersStep{}.String(),
			}
			steps = boot(t, b, p, k, []images.File{coreFile, resFile}, plan)
			for i, s := range steps[:2] {
				if s.Insmod.Errno != 0 {
					t.Fatalf("step %d %s: errno %d", i, plan[i], s.Insmod.Errno)
				}
			}
			if !bytes.Equal(steps[3].Customize.Context, guestCtx) {
				t.Errorf("the second boot's context differs from the first's:\n%s\nvs\n%s", steps[3].Customize.Context, guestCtx)
			}
			if l := steps[4].Load; l.Errno != 0 || l.Token <= 0 {
				t.Fatalf("load: token %d errno %d", l.Token, l.Errno)
			}
			for _, i := range []int{5, 8, 9} {
				if s := steps[i].Send; s.Errors != 0 {
					t.Errorf("step %d %s: %d sends failed, first errno %d", i, plan[i], s.Errors, s.Errno)
				}
			}
			counters(t, "after the token's sends", steps[6], map[string]int64{
				"tokens_live": 1, "residuals_registered": 1, "sends_specialized": sends + warmup,
				"fallbacks": 0, "refused": 0, "sends_generic": 0,
			})
			if held, _ := steps[6].Counter("refs_held"); held < 3 {
				t.Errorf("a live token holds %d references, want at least file, route and module", held)
			}
			if bytes, _ := steps[6].Counter("residual_bytes"); bytes <= 0 {
				t.Errorf("residual_bytes %d while a token uses the residual", bytes)
			}
			// delete_module with O_NONBLOCK fails with EWOULDBLOCK while
			// the module's refcount is not 0 (try_stop_module, Linux 6.1).
			const errnoEWOULDBLOCK = 11
			if e := steps[7].Rmmod.Errno; e != errnoEWOULDBLOCK {
				t.Errorf("rmmod of a residual a token uses: errno %d, want EWOULDBLOCK", e)
			}
			counters(t, "after wrong-length and generic sends", steps[10], map[string]int64{
				"sends_specialized": sends + warmup, "fallbacks": wrong,
				"sends_generic": wrong + sends + warmup, "refused": 0,
			})
			if e := steps[11].Release.Errno; e != 0 {
				t.Errorf("release: errno %d", e)
			}
			if e := steps[12].Rmmod.Errno; e != 0 {
				t.Errorf("rmmod after release: errno %d", e)
			}
			counters(t, "after release and rmmod", steps[13], map[string]int64{
				"tokens_live": 0, "refs_held": 0, "residuals_registered": 0, "residual_bytes": 0,
			})
			t.Logf("%s: specialized %.0f, generic %.0f virtual ns per %d-byte send", m.Name,
				steps[5].Send.NsPerSend, steps[9].Send.NsPerSend, flowCustomize.ADU)
		})
	}
}
