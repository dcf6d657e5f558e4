package tcpsend_test

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/guesttest"
	"specbed/images/specnet/guards"
	"specbed/images/specnet/routeguard"
	"specbed/images/specnet/tcpsend"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
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
// guard policy, on every platform. The residual folds the MSS in; the
// token's MSS guard sends through the generic path, which cuts segments
// at the new MSS: with fallback from the change on, with reinforce while
// the MSS differs: back at 1500, reinforce returns to the residual once
// the connection's MSS is back at 1448 (p3, sa1100; the i486 kernel keeps
// the route's lower MTU, its MSS stays 1348 bytes: measured). No send
// fails; then the checks of the close guard's test (images/specnet/
// guards): the in-guest receiver read every byte the flow sent, those
// before the change among them (a stall would end the boot at its
// timeout), the core's counters back to zero after the release, the TCP
// sockets and MemFree back after the close (less the flow's socket,
// whose receiver stays open), and no oops, SLUB report or WARNING
// (slub_debug).
func TestTCPMSSGuard(t *testing.T) {
	if testing.Short() {
		t.Skip("boots guests per platform; skipped only in short mode")
	}
	b := guesttest.Builder(t)
	generic := filepath.Join(b.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "tcp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	guesttest.ForEach(t, b, func(t *testing.T, g *guesttest.Guest) {
		core := coreFile(t, b, g.K)
		ctxPlan, customize := loopPlan()
		steps := mssBoot(t, g, []images.File{core}, ctxPlan)
		guestCtx := steps[customize].Customize.Context
		m := buildResidual(t, b, u, g.K, g.P, generic, guestCtx)
		for _, guard := range []string{routeguard.Reinforce, routeguard.Fallback} {
			t.Run(guard, func(t *testing.T) { mssPhases(t, g, core, m, guard, guestCtx) })
		}
	})
}

// mssBoot boots g in count mode with SLUB debugging and fails the test
// on a SLUB report or WARNING in its console.
func mssBoot(t *testing.T, g *guesttest.Guest, files []images.File, pl plan) []qemu.StepResult {
	t.Helper()
	r := g.Boot(t, qemu.Config{
		Mode: qemu.CountMode, Plan: pl, Timeout: 10 * time.Minute,
		Boot: qemu.Boot{Kernel: g.K.Image, Initrd: g.Initrd(t, files), Params: []string{guards.SlubDebug}},
		// The p3's e1000 probe stayed silent past 30 s on a loaded host.
		SilenceTimeout: 3 * time.Minute,
	})
	if m := guards.KernelReport(r.Console); m != "" {
		t.Errorf("the kernel reported %q\nconsole:\n%s", m, r.Console)
	}
	return r.Steps
}

// mssPhases loads the residual with guard and sends mssSends per phase.
func mssPhases(t *testing.T, g *guesttest.Guest, core images.File, m *compile.Module, guard string, guestCtx []byte) {
	pl, customize := loopPlan()
	pl.add(qemu.InsmodStep{Path: tcpsend.ResidualModule})
	load := pl.add(routeguard.LoadStep{Slot: 0, Name: m.Name, Guard: guard})
	before := [2]int{pl.add(guards.SockstatTCP), pl.add(guards.MemFree)}
	send := qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: tcpsend.ADU, Count: mssSends, Flags: tcpsend.SendFlags}
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
	// The end of the stream: the token lets go, the close sends FIN,
	// the receiver reports what it read.
	pl.add(qemu.ReleaseStep{Slot: 0})
	pl.add(qemu.CloseStep{})
	received := len(pl)
	pl = append(pl, "tcpsinkwait", "sleep,ms=1000")
	released := pl.add(qemu.CountersStep{})
	end := [2]int{pl.add(guards.SockstatTCP), pl.add(guards.MemFree)}
	steps := mssBoot(t, g, []images.File{core, {Path: tcpsend.ResidualModule, Data: m.Ko}}, pl)
	if l := steps[load].Load; l.Errno != 0 || l.Token <= 0 {
		t.Fatalf("%s: token %d errno %d; contexts differ in%s", pl[load], l.Token, l.Errno,
			contextDiff(guestCtx, steps[customize].Customize.Context))
	}
	for i, s := range steps {
		if s.Send != nil && s.Send.Errors != 0 {
			t.Errorf("%s: %d sends failed, first errno %d", pl[i], s.Send.Errors, s.Send.Errno)
		}
	}
	// Per phase (before the change, at MTU 1400, back at 1500): the
	// specialized and the guarded sends the counters must show. Back at
	// 1500, fallback stays on the generic path; reinforce goes back to
	// the residual once the connection's MSS is back at 1448, which
	// happens on some platforms (p3, sa1100: after the kernel's next look
	// at the route, within the phase) and not on others (i486 keeps the
	// route's lower MTU: measured), so the phase's split is only bounded.
	if got := steps[mss[1]].Getsockopt.Value; got != tcpsend.ADU/2-100 {
		t.Errorf("MSS %d bytes at MTU 1400, want %d", got, tcpsend.ADU/2-100)
	}
	var phases [3][2]int64
	for phase := range phases {
		before, after := steps[counters[phase]].Counters, steps[counters[phase+1]].Counters
		phases[phase] = [2]int64{after["sends_specialized"] - before["sends_specialized"],
			after["sends_guarded"] - before["sends_guarded"]}
	}
	want := [3][2]int64{{mssSends, 0}, {0, mssSends}, {0, mssSends}}
	back := guard == routeguard.Reinforce && steps[mss[2]].Getsockopt.Value == tcpsend.ADU/2
	if back {
		// Any split, as long as the residual made some sends.
		want[2] = phases[2]
		if phases[2][0] == 0 || phases[2][0]+phases[2][1] != mssSends {
			t.Errorf("phase 2: %d specialized, %d guarded sends; want %d in all, some specialized (the MSS is back at %d)",
				phases[2][0], phases[2][1], mssSends, tcpsend.ADU/2)
		}
	}
	for phase, got := range phases {
		if got != want[phase] {
			t.Errorf("phase %d: %d specialized, %d guarded sends; want %d and %d", phase, got[0], got[1], want[phase][0], want[phase][1])
		}
	}
	sent := int64(tcpsend.LoopWarmup + 3*mssSends*tcpsend.ADU)
	if got := steps[received].Fields["bytes"]; got != strconv.FormatInt(sent, 10) {
		t.Errorf("the receiver read %s bytes, the flow sent %d", got, sent)
	}
	if err := guards.CheckCounters(steps[released], guards.Released); err != nil {
		t.Errorf("after the release: %v", err)
	}
	log, err := guards.Leaks(guards.Reading{Sockets: steps[before[0]], MemFree: steps[before[1]]},
		guards.Reading{Sockets: steps[end[0]], MemFree: steps[end[1]]}, 1)
	if err != nil {
		t.Error(err)
	}
	t.Logf("%s: MSS after each phase %d, %d, %d bytes; specialized and guarded sends per phase %v; guard_pmtu %d; "+
		"receiver read %s bytes; %s", g.P.Name,
		steps[mss[0]].Getsockopt.Value, steps[mss[1]].Getsockopt.Value, steps[mss[2]].Getsockopt.Value,
		phases, steps[counters[3]].Counters["guard_pmtu"], steps[received].Fields["bytes"], log)
}
