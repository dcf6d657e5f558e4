package core_test

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/guesttest"
	"specbed/images/specnet/core"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
)

// The flow every boot customizes: dummy0 drops what it is given, so the
// sends cost only the sender's work and no host traffic disturbs them.
// dummy0 draws a random Ethernet address at boot, which its ARP-less
// neighbours take as theirs and the neighbour's cached header holds as
// its source: the net step fixes dummy0's and the static entry the
// peer's, so that every boot has the same context.
var (
	flowNet = qemu.NetStep{Dev: "dummy0", Addr: "10.0.0.1", Prefix: 24, HWAddr: "02:00:00:00:00:01",
		Neigh: "10.0.0.2", LLAddr: "02:00:00:00:00:02"}
	flowCustomize = qemu.CustomizeStep{Dst: "10.0.0.2", Port: 9, SrcPort: 40000, ADU: 64}
)

// boot runs plan on g booted with the files, and returns its step
// results.
func boot(t *testing.T, g *guesttest.Guest, files []images.File, plan []string) []qemu.StepResult {
	t.Helper()
	return g.Boot(t, qemu.Config{
		Boot:    qemu.Boot{Kernel: g.K.Image, Initrd: g.Initrd(t, files)},
		Plan:    plan,
		Timeout: 3 * time.Minute,
	}).Steps
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
// On the way: SO_ADU set by the application wins over CUSTOMIZE's adu
// (boot 1); setsockopt on the tokens' socket fails with EBUSY until the
// last RELEASE; closing the socket kills a token (the close guard: SEND
// fails with EBADF, its references are gone, the residual can go).
func TestCustomizeLoadSend(t *testing.T) {
	if testing.Short() {
		t.Skip("boots guests; skipped only in short mode")
	}
	b := guesttest.Builder(t)
	generic := filepath.Join(b.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "udp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	guesttest.ForEach(t, b, func(t *testing.T, g *guesttest.Guest) {
		p, k := g.P, g.K
		coreFile, err := core.GuestFile(t.Context(), b, k)
		if err != nil {
			t.Fatal(err)
		}
		insmodCore := qemu.InsmodStep{Path: coreFile.Path}.String()

		// The same flow again, the application committing to a
		// different data unit size with SO_ADU: the kernel's context
		// takes it over the request's.
		committed := flowCustomize
		committed.SoADU = flowCustomize.ADU + 36
		steps := boot(t, g, []images.File{coreFile}, []string{
			insmodCore, flowNet.String(), flowCustomize.String(), qemu.CountersStep{}.String(),
			committed.String(), qemu.GetsockoptStep{Level: qemu.SolSocket, Name: qemu.SoADU}.String(),
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
		for _, tt := range []struct {
			what string
			ctx  []byte
			want int
		}{
			{"without SO_ADU", guestCtx, flowCustomize.ADU},
			{"with SO_ADU", steps[4].Customize.Context, committed.SoADU},
		} {
			c, err := ctxschema.Load(tt.ctx)
			if err != nil {
				t.Fatalf("guest context %s rejected: %v", tt.what, err)
			}
			if got := c.Values["adu"].Bits; got != uint64(tt.want) {
				t.Errorf("guest context %s: adu %d, want %d", tt.what, got, tt.want)
			}
		}
		if g := steps[5].Getsockopt; g.Errno != 0 || g.Value != committed.SoADU {
			t.Errorf("getsockopt(SO_ADU): value %d errno %d, want %d", g.Value, g.Errno, committed.SoADU)
		}

		m, err := compile.New(k, p, generic, t.TempDir()).Build(t.Context(), compile.Residual{C: out.C, Entry: out.Entry})
		if err != nil {
			t.Fatal(err)
		}
		resFile := images.File{Path: "/lib/modules/residual.ko", Data: m.Ko}
		const sends, warmup, wrong = 100, 10, 5
		var plan []string
		add := func(step fmt.Stringer) int {
			plan = append(plan, step.String())
			return len(plan) - 1
		}
		add(qemu.InsmodStep{Path: coreFile.Path})
		add(qemu.InsmodStep{Path: resFile.Path})
		add(flowNet)
		customize := add(flowCustomize)
		load := add(qemu.LoadStep{Slot: 0, Name: m.Name, Policy: "fallback"})
		special := add(qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: flowCustomize.ADU, Count: sends, Warmup: warmup})
		oneToken := add(qemu.CountersStep{})
		load2 := add(qemu.LoadStep{Slot: 1, Name: m.Name, Policy: "refuse"})
		twoTokens := add(qemu.CountersStep{})
		busy := add(qemu.SetsockoptStep{Level: qemu.SolIP, Name: qemu.IPTTL, Value: 64})
		busyADU := add(qemu.SetsockoptStep{Level: qemu.SolSocket, Name: qemu.SoADU, Value: flowCustomize.ADU})
		pinned := add(qemu.RmmodStep{Name: m.Name})
		wrongLen := add(qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: flowCustomize.ADU + 1, Count: wrong, Warmup: 0})
		refused := add(qemu.SendStep{Path: qemu.PathSpecial, Slot: 1, Size: flowCustomize.ADU + 1, Count: wrong, Warmup: 0})
		generic := add(qemu.SendStep{Path: qemu.PathGeneric, Size: flowCustomize.ADU, Count: sends, Warmup: warmup})
		afterSends := add(qemu.CountersStep{})
		release := add(qemu.ReleaseStep{Slot: 0})
		release2 := add(qemu.ReleaseStep{Slot: 1})
		unmarked := add(qemu.SetsockoptStep{Level: qemu.SolIP, Name: qemu.IPTTL, Value: 64})
		rmmod := add(qemu.RmmodStep{Name: m.Name})
		afterRelease := add(qemu.CountersStep{})
		sendto := add(qemu.SendStep{Path: qemu.PathSendto, Size: flowCustomize.ADU, Count: sends, Warmup: warmup})
		send := add(qemu.SendStep{Path: qemu.PathSend, Size: flowCustomize.ADU, Count: sends, Warmup: warmup})

		steps = boot(t, g, []images.File{coreFile, resFile}, plan)
		for i, s := range steps[:2] {
			if s.Insmod.Errno != 0 {
				t.Fatalf("step %d %s: errno %d", i, plan[i], s.Insmod.Errno)
			}
		}
		if !bytes.Equal(steps[customize].Customize.Context, guestCtx) {
			t.Errorf("the second boot's context differs from the first's:\n%s\nvs\n%s", steps[customize].Customize.Context, guestCtx)
		}
		for _, i := range []int{load, load2} {
			if l := steps[i].Load; l.Errno != 0 || l.Token <= 0 {
				t.Fatalf("%s: token %d errno %d", plan[i], l.Token, l.Errno)
			}
		}
		if steps[load].Load.Token == steps[load2].Load.Token {
			t.Errorf("two loads on one socket got the same token %d", steps[load].Load.Token)
		}
		for _, i := range []int{special, wrongLen, generic, sendto, send} {
			if s := steps[i].Send; s.Errors != 0 {
				t.Errorf("%s: %d sends failed, first errno %d", plan[i], s.Errors, s.Errno)
			}
		}
		const errnoEINVAL = 22
		if s := steps[refused].Send; s.Errors != s.Count+s.Warmup && s.Errors != s.Count || s.Errno != errnoEINVAL {
			t.Errorf("%s on a refusing token: %d of %d sends failed, first errno %d; want all, EINVAL", plan[refused], s.Errors, s.Count, s.Errno)
		}
		counters(t, "after the token's sends", steps[oneToken], map[string]int64{
			"tokens_live": 1, "residuals_registered": 1, "sends_specialized": sends + warmup,
			"fallbacks": 0, "refused": 0, "sends_generic": 0,
		})
		held, _ := steps[oneToken].Counter("refs_held")
		if held < 3 {
			t.Errorf("a live token holds %d references, want at least file, route and module", held)
		}
		resBytes, _ := steps[oneToken].Counter("residual_bytes")
		if resBytes <= 0 {
			t.Errorf("residual_bytes %d while a token uses the residual", resBytes)
		}
		// A second token on the same socket holds its own references;
		// the residual's bytes count once against the budget.
		counters(t, "with two tokens", steps[twoTokens], map[string]int64{
			"tokens_live": 2, "refs_held": 2 * held, "residual_bytes": resBytes, "sockets_marked": 1,
		})
		// The tokens mark the socket: setsockopt fails with EBUSY at
		// the IP level and at the socket level (SO_ADU too), and works
		// again once the last token is released.
		const errnoEBUSY = 16
		for _, i := range []int{busy, busyADU} {
			if e := steps[i].Setsockopt.Errno; e != errnoEBUSY {
				t.Errorf("%s on a specialized socket: errno %d, want EBUSY", plan[i], e)
			}
		}
		if e := steps[unmarked].Setsockopt.Errno; e != 0 {
			t.Errorf("%s after the last release: errno %d", plan[unmarked], e)
		}
		// delete_module with O_NONBLOCK fails with EWOULDBLOCK while
		// the module's refcount is not 0 (try_stop_module, Linux 6.1).
		const errnoEWOULDBLOCK = 11
		if e := steps[pinned].Rmmod.Errno; e != errnoEWOULDBLOCK {
			t.Errorf("rmmod of a residual a token uses: errno %d, want EWOULDBLOCK", e)
		}
		counters(t, "after wrong-length and generic sends", steps[afterSends], map[string]int64{
			"sends_specialized": sends + warmup, "fallbacks": wrong, "refused": wrong,
			"sends_generic": wrong + sends + warmup,
		})
		for _, i := range []int{release, release2} {
			if e := steps[i].Release.Errno; e != 0 {
				t.Errorf("%s: errno %d", plan[i], e)
			}
		}
		if e := steps[rmmod].Rmmod.Errno; e != 0 {
			t.Errorf("rmmod after release: errno %d", e)
		}
		counters(t, "after release and rmmod", steps[afterRelease], map[string]int64{
			"tokens_live": 0, "refs_held": 0, "residuals_registered": 0, "residual_bytes": 0,
			"sockets_marked": 0, "guard_close": 0,
		})
		t.Logf("%s: %d bytes while loaded; instructions per %d-byte send: sendto %.0f, send %.0f, generic %.0f, specialized %.0f",
			m.Name, resBytes, flowCustomize.ADU, steps[sendto].Send.InstructionsPerSend, steps[send].Send.InstructionsPerSend,
			steps[generic].Send.InstructionsPerSend, steps[special].Send.InstructionsPerSend)

		// The close guard (a boot of its own: the plan must fit the
		// SA-1110's 1024-byte command line): a token, sends, a dup of
		// its descriptor closed (the bound descriptor still holds the
		// file: the token lives), then close(fd) from the same thread:
		// SENDs on the token fail with EBADF.
		plan = nil
		add(qemu.InsmodStep{Path: coreFile.Path})
		add(qemu.InsmodStep{Path: resFile.Path})
		add(flowNet)
		add(flowCustomize)
		load = add(qemu.LoadStep{Slot: 0, Name: m.Name, Policy: "fallback"})
		beforeClose := add(qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: flowCustomize.ADU, Count: wrong, Warmup: 0})
		dup := add(qemu.DupStep{})
		closeDup := add(qemu.CloseStep{Dup: true})
		afterDup := add(qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: flowCustomize.ADU, Count: wrong, Warmup: 0})
		closeFlow := add(qemu.CloseStep{})
		afterClose := add(qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: flowCustomize.ADU, Count: wrong, Warmup: 0})
		closed := add(qemu.CountersStep{})
		release = add(qemu.ReleaseStep{Slot: 0})
		rmmod = add(qemu.RmmodStep{Name: m.Name})
		afterRelease = add(qemu.CountersStep{})
		steps = boot(t, g, []images.File{coreFile, resFile}, plan)
		if l := steps[load].Load; l.Errno != 0 || l.Token <= 0 {
			t.Fatalf("%s: token %d errno %d", plan[load], l.Token, l.Errno)
		}
		for _, i := range []int{beforeClose, afterDup} {
			if s := steps[i].Send; s.Errors != 0 {
				t.Errorf("%s: %d sends failed, first errno %d", plan[i], s.Errors, s.Errno)
			}
		}
		for _, i := range []int{dup, closeDup, closeFlow} {
			if e := steps[i].Close.Errno; e != 0 {
				t.Errorf("%s: errno %d", plan[i], e)
			}
		}
		const errnoEBADF = 9
		if s := steps[afterClose].Send; s.Errors != s.Count || s.Errno != errnoEBADF {
			t.Errorf("%s after close: %d of %d sends failed, first errno %d; want all, EBADF", plan[afterClose], s.Errors, s.Count, s.Errno)
		}
		// Only the bound descriptor's close fired the guard; the dead
		// token holds nothing but its slot until RELEASE.
		counters(t, "after the close", steps[closed], map[string]int64{
			"tokens_live": 1, "refs_held": 0, "residual_bytes": 0, "sockets_marked": 0, "guard_close": 1,
			"sends_specialized": 2 * wrong, "fallbacks": 0,
		})
		if e := steps[release].Release.Errno; e != 0 {
			t.Errorf("release of the dead token: errno %d", e)
		}
		if e := steps[rmmod].Rmmod.Errno; e != 0 {
			t.Errorf("rmmod after the close and release: errno %d", e)
		}
		counters(t, "after the close, release and rmmod", steps[afterRelease], map[string]int64{
			"tokens_live": 0, "refs_held": 0, "residuals_registered": 0, "residual_bytes": 0,
			"sockets_marked": 0, "guard_close": 1,
		})

		// A budget smaller than the residual: LOAD fails cleanly and
		// leaves nothing held, the residual can go.
		plan = nil
		add(qemu.InsmodStep{Path: coreFile.Path})
		plan[0] += fmt.Sprintf(",params=budget_bytes=%d", resBytes-1)
		add(qemu.InsmodStep{Path: resFile.Path})
		add(flowNet)
		add(flowCustomize)
		load = add(qemu.LoadStep{Slot: 0, Name: m.Name, Policy: "fallback"})
		after := add(qemu.CountersStep{})
		rmmod = add(qemu.RmmodStep{Name: m.Name})
		steps = boot(t, g, []images.File{coreFile, resFile}, plan)
		const errnoENOSPC = 28
		if l := steps[load].Load; l.Errno != errnoENOSPC {
			t.Errorf("load past the budget: token %d errno %d, want ENOSPC", l.Token, l.Errno)
		}
		counters(t, "after a load past the budget", steps[after], map[string]int64{
			"tokens_live": 0, "refs_held": 0, "residual_bytes": 0, "budget_bytes": resBytes - 1,
		})
		if e := steps[rmmod].Rmmod.Errno; e != 0 {
			t.Errorf("rmmod after a refused load: errno %d", e)
		}
	})
}
