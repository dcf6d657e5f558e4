package tcpsend_test

import (
	"path/filepath"
	"testing"

	"specbed/images"
	"specbed/images/guesttest"
	"specbed/images/specnet/routeguard"
	"specbed/qemu"
	"specbed/specializer"
)

const (
	// mssSends is the specialized sends per phase of the MSS guard test.
	mssSends = 50
	// getsockopt(IPPROTO_TCP, TCP_MAXSEG): the connection's MSS.
	ipprotoTCP = 6
	tcpMaxseg  = 2
)

// TestTCPMSSGuard changes the MSS of a specialized TCP connection
// mid-stream (loopback's MTU 1500 -> 1400 -> 1500, count mode) under each
// guard policy. The residual folds the MSS in; the token's MSS guard
// sends through the generic path, which cuts segments at the new MSS:
// with fallback from the change on, with reinforce while the MSS differs.
// The kernel keeps the route's lower MTU after the device's rises (the
// MSS stays 1348 bytes: measured), so reinforce goes back to the
// residual only if the connection's MSS is back at 1448 after the third
// phase (then its first send, which still finds the old MSS, is
// guarded). No send fails.
func TestTCPMSSGuard(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a guest per policy; skipped only in short mode")
	}
	b := guesttest.Builder(t)
	generic := filepath.Join(b.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "tcp.decl"))
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
	core := coreFile(t, b, k)
	ctxPlan, customize := loopPlan()
	steps := countBoot(t, b, p, k, []images.File{core}, ctxPlan)
	guestCtx := steps[customize].Customize.Context
	m := buildResidual(t, b, u, k, p, generic, guestCtx)

	for _, guard := range []string{routeguard.Reinforce, routeguard.Fallback} {
		pl, customize := loopPlan()
		pl.add(qemu.InsmodStep{Path: residualModule})
		load := pl.add(routeguard.LoadStep{Slot: 0, Name: m.Name, Guard: guard})
		send := qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: adu, Count: mssSends, Flags: sendFlags}
		counters := []int{pl.add(qemu.CountersStep{})}
		var mss []int
		for _, mtu := range []int{0, 1400, loopMTU} {
			if mtu != 0 {
				pl.add(routeguard.MTUStep{Dev: "lo", MTU: mtu})
			}
			pl.add(send)
			counters = append(counters, pl.add(qemu.CountersStep{}))
			mss = append(mss, pl.add(qemu.GetsockoptStep{Level: ipprotoTCP, Name: tcpMaxseg}))
		}
		steps := countBoot(t, b, p, k, []images.File{core, {Path: residualModule, Data: m.Ko}}, pl)
		if l := steps[load].Load; l.Errno != 0 || l.Token <= 0 {
			t.Fatalf("%s: token %d errno %d; contexts differ in%s", pl[load], l.Token, l.Errno,
				contextDiff(guestCtx, steps[customize].Customize.Context))
		}
		for i, s := range steps {
			if s.Send != nil && s.Send.Errors != 0 {
				t.Errorf("%s: %s: %d sends failed, first errno %d", guard, pl[i], s.Send.Errors, s.Send.Errno)
			}
		}
		// Per phase (before the change, at MTU 1400, back at 1500): the
		// specialized and the guarded sends the counters must show.
		want := [3][2]int64{{mssSends, 0}, {0, mssSends}, {0, mssSends}}
		if guard == routeguard.Reinforce && steps[mss[2]].Getsockopt.Value == adu/2 {
			want[2] = [2]int64{mssSends - 1, 1}
		}
		if got := steps[mss[1]].Getsockopt.Value; got != adu/2-100 {
			t.Errorf("%s: MSS %d bytes at MTU 1400, want %d", guard, got, adu/2-100)
		}
		for phase := range 3 {
			before, after := steps[counters[phase]].Counters, steps[counters[phase+1]].Counters
			spec := after["sends_specialized"] - before["sends_specialized"]
			guarded := after["sends_guarded"] - before["sends_guarded"]
			if w := want[phase]; spec != w[0] || guarded != w[1] {
				t.Errorf("%s, phase %d: %d specialized, %d guarded sends; want %d and %d", guard, phase, spec, guarded, w[0], w[1])
			}
		}
		last := steps[counters[3]].Counters
		t.Logf("%s: MSS after each phase %d, %d, %d bytes; guard_pmtu %d, sends_specialized %d, sends_guarded %d", guard,
			steps[mss[0]].Getsockopt.Value, steps[mss[1]].Getsockopt.Value, steps[mss[2]].Getsockopt.Value,
			last["guard_pmtu"], last["sends_specialized"], last["sends_guarded"])
	}
}
