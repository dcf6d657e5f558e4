package guards_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/guesttest"
	"specbed/images/specnet/guards"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
	"specbed/vnet"
)

// The TCP flow: records of two MSS with MSG_EOR (tcp.decl's write-queue
// guard) and MSG_NOSIGNAL (an EPIPE must not kill the agent), a fixed
// SO_SNDBUF (tcp.decl folds the send buffer in). The MSS is 1448 bytes on
// Ethernet (1500-byte MTU, timestamps) and 244 on the SA-1110's SLIP line
// (the kernel's default SLIP MTU of 296 bytes).
const (
	tcpADU     = 2 * 1448 // bytes per send on Ethernet
	slipMTU    = 296      // bytes: the kernel's default, vnet's SLIP link's
	slipTCPADU = 2 * 244  // bytes per send on SLIP
	tcpFlags   = 0x80 | 0x4000
	tcpSndBuf  = 64 << 10 // bytes, doubled by the kernel
)

// memWaitRounds closes while a send sleeps in the memory wait: each
// fills the sink's receive window and the send buffer (about 1.2 MB on
// Ethernet, 0.3 MB on SLIP, whose host-to-guest direction carries the
// ACKs at 25-60 KB/s: one round there after the warm-up's).
func (g *tcpGuest) memWaitRounds() int {
	if g.P.Link == qemu.LinkSLIP {
		return 1
	}
	return 3
}

// timeout is a boot's with rounds rounds: the SLIP line is slower.
func (g *tcpGuest) timeout(rounds int) time.Duration {
	if g.P.Link == qemu.LinkSLIP {
		return 6*time.Minute + time.Duration(rounds)*time.Second
	}
	return 3*time.Minute + time.Duration(rounds)*300*time.Millisecond
}

// memWaitLookMS is how long the closer watches one send before it counts
// it as asleep (ms).
const memWaitLookMS = 200

const errnoEPIPE = 32

// tcpPattern is the byte at offset o of every tcpclose connection.
func tcpPattern(o int64) byte { return byte(o % guards.TCPClosePeriod) }

// tcpGuest is a guest whose TCP residual is built (see tcpResidual).
type tcpGuest struct {
	*guest
	adu      int // bytes per send: two MSS of the guest's link
	residual images.File
	name     string
}

// tcpBoot boots g with a tcpStreams on the sink host checking pattern.
func (g *tcpGuest) boot(t *testing.T, params []string, plan []string, timeout time.Duration, pattern func(int64) byte) (run, tcpTotals) {
	t.Helper()
	var s *tcpStreams
	r := g.bootWith(t, []images.File{g.residual}, params, plan, timeout,
		func(ctx context.Context, n *vnet.Network) (func(), error) {
			var err error
			s, err = startTCPStreams(ctx, n.Host(vnet.SinkHost), pattern)
			if err != nil {
				return nil, err
			}
			return func() { s.settle(); s.close() }, nil
		})
	return r, s.totals()
}

// customize connects the flow to the sink's reading port.
func (g *tcpGuest) customize() qemu.CustomizeStep {
	return qemu.CustomizeStep{Dst: vnet.SinkIP, Port: tcpReadPort, SrcPort: flowSrcPort, ADU: g.adu,
		Proto: "tcp", Flags: tcpFlags, SndBuf: tcpSndBuf}
}

// newTCPGuest boots once to collect a connection's context, specializes
// tcp.decl for it and builds the residual. The residual carries no
// context digest: every round of tcpclose is a new connection, whose
// context is the flow's (the same configuration and MSS; the peer's
// window, the sequence numbers and the ports are dynamic or not read).
func newTCPGuest(t *testing.T, b *images.Builder, name string) *tcpGuest {
	t.Helper()
	g := &tcpGuest{guest: newGuest(t, b, name), adu: tcpADU}
	if g.P.Link == qemu.LinkSLIP {
		g.adu = slipTCPADU
	}
	r := g.bootWith(t, nil, nil, []string{
		qemu.InsmodStep{Path: g.core.Path}.String(), g.netStep().String(), g.customize().String(),
	}, 3*time.Minute, func(ctx context.Context, n *vnet.Network) (func(), error) {
		s, err := startTCPStreams(ctx, n.Host(vnet.SinkHost), tcpPattern)
		if err != nil {
			return nil, err
		}
		return s.close, nil
	})
	guestCtx := r.steps[2].Customize.Context
	c, err := ctxschema.Load(guestCtx)
	if err != nil {
		t.Fatalf("guest context rejected: %v\n%s", err, guestCtx)
	}
	if mss := c.Values["tp->mss_cache"].Bits; 2*mss != uint64(g.adu) {
		t.Fatalf("the connection's MSS is %d bytes, not half the ADU (%d bytes)", mss, g.adu)
	}
	generic := filepath.Join(b.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "tcp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := u.Specialize(c)
	if err != nil {
		t.Fatalf("guest context does not specialize: %v\n%s", err, guestCtx)
	}
	m, err := compile.New(g.K, g.P, generic, t.TempDir()).Build(t.Context(), compile.Residual{C: out.C, Entry: out.Entry})
	if err != nil {
		t.Fatal(err)
	}
	g.residual, g.name = images.File{Path: "/lib/modules/residual.ko", Data: m.Ko}, m.Name
	return g
}

// prefix loads the core (with params) and the residual, and brings up
// the data link.
func (g *tcpGuest) prefix(params string) plan {
	core := qemu.InsmodStep{Path: g.core.Path}.String()
	if params != "" {
		core += ",params=" + params
	}
	return plan{core, qemu.InsmodStep{Path: g.residual.Path}.String(), g.netStep().String()}
}

func (g *tcpGuest) race(rounds int) guards.TCPCloseStep {
	return guards.TCPCloseStep{Dst: vnet.SinkIP, Port: tcpReadPort, Name: g.name, Rounds: rounds,
		Size: g.adu, Flags: tcpFlags, SndBuf: tcpSndBuf, Spread: closeSpread}
}

func tcpClose(t *testing.T, s qemu.StepResult) guards.TCPCloseResult {
	t.Helper()
	c, err := guards.TCPClose(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tcpclose step %d: %+v", s.Step, c)
	return c
}

// drainMS lets the closed connections finish (their queued data, FIN
// and ACK) before the sockets are counted (ms).
const drainMS = 3000

// TestTCPCloseGuard closes a specialized TCP socket from a second task
// while the agent sends through its token (customized_send), in network
// mode on every platform (the SA-1110 over its SLIP line through the
// router, records of two of its MSS), a new connection to the sink host
// per round. Checked: every round ends in EBADF (the token is dead: a send
// that starts after the close finds it so; EPIPE only for a send the
// close found asleep in the memory wait), no send succeeds after the
// close, no oops or SLUB report, the core's counters back to zero, the
// TCP sockets in use, allocated and orphaned and MemFree back to their
// start, and every byte the good sends queued at the sink, in order.
// The memwait rounds close while a send sleeps in the memory wait (the
// sink does not read): the close returns while the send still sleeps,
// the send ends with EPIPE (or the bytes it had queued) once the sink
// reads, the next one with EBADF. Then the held rounds (the close waits
// for a running send) and the negative control without the guard.
func TestTCPCloseGuard(t *testing.T) {
	if testing.Short() {
		t.Skip("boots guests; skipped only in short mode")
	}
	rounds := closeRounds(t)
	b := guesttest.Builder(t)
	for _, name := range qemu.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := newTCPGuest(t, b, name)
			timeout := g.timeout(rounds)
			memWaitRounds := g.memWaitRounds()

			t.Run("race", func(t *testing.T) {
				memWait := func(rounds int) guards.TCPCloseStep {
					s := g.race(rounds)
					s.Port, s.MemWait, s.GoPort, s.GapMS = tcpStallPort, true, tcpGoPort, memWaitLookMS
					return s
				}
				drain := "sleep,ms=" + strconv.Itoa(drainMS)
				// The warm-up runs both kinds of rounds: it grows the
				// slab caches and the page lists a megabyte in flight
				// needs before the first reading.
				p := g.prefix("")
				warm, warmWait := p.add(g.race(closeSpread)), p.add(memWait(1))
				p = append(p, drain)
				before := p.reading(guards.SockstatTCP)
				main := p.add(g.race(rounds))
				wait := p.add(memWait(memWaitRounds))
				p = append(p, drain)
				after := p.add(qemu.CountersStep{})
				end := p.reading(guards.SockstatTCP)
				r, sunk := g.boot(t, slubDebug, p, timeout, tcpPattern)

				w, m := tcpClose(t, r.steps[warm]), tcpClose(t, r.steps[main])
				ww, mwr := tcpClose(t, r.steps[warmWait]), tcpClose(t, r.steps[wait])
				for _, c := range []struct {
					what   string
					res    guards.TCPCloseResult
					rounds int
				}{{"warm-up", w, closeSpread}, {"rounds", m, rounds}, {"memwait warm-up", ww, 1}, {"memwait rounds", mwr, memWaitRounds}} {
					roundsEnded(t, c.what, c.res.CloseRaceResult, c.rounds)
				}
				for _, c := range []struct {
					guards.TCPCloseResult
					rounds int
				}{{w, closeSpread}, {m, rounds}} {
					if least := closePoints(c.rounds); c.OK < least || c.EPIPE != 0 || c.Partial != 0 || c.Bytes != c.OK*int64(g.adu) {
						t.Errorf("%+v: want at least %d good sends (the close points), each of %d bytes, no EPIPE", c, least, g.adu)
					}
				}
				// Each memwait round: the close returned while its send
				// slept, which then ended in EPIPE or with the bytes it
				// had queued (a partial count), and the next send in EBADF.
				for _, c := range []struct {
					res    guards.TCPCloseResult
					rounds int64
				}{{ww, 1}, {mwr, int64(memWaitRounds)}} {
					if c.res.CloseInWait != c.rounds || c.res.EPIPE+c.res.Partial != c.rounds || c.res.GoErrors != 0 {
						t.Errorf("memwait: %+v; want %d closes that returned during the send's memory wait, each send ending in EPIPE or short",
							c.res, c.rounds)
					}
				}
				ok := w.OK + m.OK + ww.OK + mwr.OK
				counters(t, "after the rounds", r.steps[after], released(map[string]int64{
					"guard_close": int64(closeSpread + rounds + 1 + memWaitRounds), "fallbacks": 0, "refused": 0,
					"sends_specialized": ok + ww.EPIPE + mwr.EPIPE,
				}))
				t.Logf("counters after the rounds: %v", r.steps[after].Counters)
				waits, err := r.steps[after].Counter("guard_close_waits")
				if err != nil {
					t.Error(err)
				}
				t.Logf("closes that waited for a running send: %d (a send asleep in the memory wait does not hold the guard)", waits)
				leaks(t, r.steps, before, end, 0)
				want := w.Bytes + m.Bytes + ww.Bytes + mwr.Bytes
				conns := int64(closeSpread + rounds + 1 + memWaitRounds)
				if sunk.conns != conns || sunk.bad != 0 || sunk.ended != conns || sunk.good != want {
					t.Errorf("sink: %+v; want %d connections, all ended, %d bytes in order", sunk, conns, want)
				}
				// A frame a link dropped is TCP's to send again.
				t.Logf("sink: %d connections, %d bytes in order (links dropped %d frames)", sunk.conns, sunk.good, r.drops)
			})

			// The close inside a running send (send_hold_us): the close
			// waits for it, it completes and its bytes arrive.
			t.Run("held", func(t *testing.T) {
				p := g.prefix("send_hold_us=" + strconv.Itoa(sendHoldUS))
				held := g.race(heldRounds)
				held.Spread, held.InSend = heldSpread, true
				step := p.add(held)
				p = append(p, "sleep,ms="+strconv.Itoa(drainMS))
				after := p.add(qemu.CountersStep{})
				r, sunk := g.boot(t, slubDebug, p, timeout, tcpPattern)

				c := tcpClose(t, r.steps[step])
				n := int64(heldRounds)
				if c.Rounds != n || c.EBADF != n || c.OKAfterClose != 0 || c.Unfailed != 0 || c.Other != 0 ||
					c.EPIPE != 0 || c.InSend != n || c.InSendOK != n {
					t.Errorf("held rounds: %+v; want %d rounds each ending in EBADF, the close during a send that succeeds", c, n)
				}
				counters(t, "after the held rounds", r.steps[after], map[string]int64{
					"tokens_live": 0, "refs_held": 0, "sockets_marked": 0,
					"guard_close": n, "guard_close_waits": n, "sends_specialized": c.OK,
				})
				if sunk.conns != n || sunk.bad != 0 || sunk.good != c.Bytes {
					t.Errorf("sink: %+v; want %d connections, %d bytes in order", sunk, n, c.Bytes)
				}
			})

			// The negative control: close_guard=0 with the hold. The
			// close returns while the send sleeps and the token, which
			// pins the file, goes on sending after the close: bytes of a
			// socket the application closed reach the sink.
			t.Run("control", func(t *testing.T) {
				const n, after = closeSpread, 4
				p := g.prefix("close_guard=0%20send_hold_us=" + strconv.Itoa(sendHoldUS))
				s := g.race(n)
				s.After, s.InSend = after, true
				step := p.add(s)
				done := p.add(qemu.CountersStep{})
				r, sunk := g.boot(t, slubDebug, p, timeout, tcpPattern)

				c := tcpClose(t, r.steps[step])
				if c.Rounds != n || c.EBADF != 0 || c.Unfailed != n || c.OKAfterClose != n*after ||
					c.CloseFirst != n || c.InSend != n {
					t.Errorf("without the guard: %+v; want %d rounds whose close returns first and whose %d sends after it succeed", c, n, after)
				}
				counters(t, "without the guard", r.steps[done], map[string]int64{
					"guard_close": 0, "guard_close_waits": 0, "tokens_live": 0, "refs_held": 0, "sockets_marked": 0,
				})
				if sunk.good != c.Bytes || sunk.bad != 0 {
					t.Errorf("sink: %+v; want %d bytes in order, those after the close among them", sunk, c.Bytes)
				}
			})
		})
	}
}
