// Package tcpsend measures the core module's specialized TCP send
// (images/specnet/core, kmod/tcp_token.c) on a guest in count mode: a
// TCP flow over loopback to the agent's own receiver (tcpsink), so that
// no packet of the flow comes from the host and the instruction counts
// are the same in every boot. Its tests (TestTCPPathsCount) and
// results/repro (figure 5's TCP part in count mode, figure 4(b)'s TCP
// sizes) share this plan and its checks.
//
// A measurement takes two boots. The first loads the core module, opens
// the flow and collects its context (LoopContextPlan); the host
// specializes tcp.decl for it and compiles the residual (BuildResidual);
// the second boot opens the same flow, loads the residual after
// CUSTOMIZE (the flow's history, and with it the context, is then the
// same in both boots), times send(), the generic path, SEND and
// customized_send one after the other on the connection, and checks that
// the receiver read every byte (LoopMeasurement).
package tcpsend

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"specbed/images/specnet/core"
	"specbed/images/specnet/routeguard"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
)

// The flow: loopback's MTU is set to Ethernet's so that the MSS (1448
// with timestamps) and the ADU (two MSS) are those of the network flow.
const (
	// MSS is the connection's MSS (bytes): a 1500-byte MTU less the IP
	// and TCP headers and the timestamp option, the paper's 1448.
	MSS = 1448
	// ADU is the application's bytes per send: two MSS, the paper's
	// "multiple of the MSS".
	ADU = 2 * MSS
	// SendFlags are the flow's MSG_* flags: records (MSG_EOR, which
	// tcp.decl's write-queue guard needs) and MSG_NOSIGNAL, so that a
	// reset peer fails a send instead of killing the agent.
	SendFlags = 0x80 | 0x4000
	// SndBuf is the flow's SO_SNDBUF (bytes; the kernel doubles it):
	// fixed, so that the context is the same in every boot.
	SndBuf = 64 << 10

	loopPort = 5001
	loopSrc  = 40000
	// LoopMTU is loopback's MTU in the flow (bytes).
	LoopMTU    = 1500
	loopRcvbuf = 64 << 10
	// LoopWarmup is what CUSTOMIZE sends before it reads the context
	// (bytes, whole ADUs).
	LoopWarmup = (256 << 10) / ADU * ADU
	// LoopSends are the timed sends per path, after LoopSendWarmup
	// untimed ones.
	LoopSends      = 400
	LoopSendWarmup = 40
)

// ResidualModule is the residual's path in the measurement boot's
// initramfs (the core module's is core.GuestPath).
const ResidualModule = "/lib/modules/residual.ko"

// LoopPaths are the paths timed, in the plan's order: the kernel's send()
// on the connection, the core module's generic path (SEND_GENERIC), the
// residual through /dev/specnet (SEND) and through customized_send.
var LoopPaths = []qemu.SendPath{qemu.PathSend, qemu.PathGeneric, qemu.PathSpecial, qemu.PathCustomized}

// LoopContextPlan loads the core module, opens the loopback flow and
// collects its context; customize is the CUSTOMIZE step's index.
func LoopContextPlan() (plan []string, customize int) {
	plan = []string{
		qemu.InsmodStep{Path: core.GuestPath}.String(),
		qemu.NetStep{Dev: "lo", Addr: "127.0.0.1", Prefix: 8}.String(),
		routeguard.MTUStep{Dev: "lo", MTU: LoopMTU}.String(),
		fmt.Sprintf("tcpsink,port=%d,rcvbuf=%d", loopPort, loopRcvbuf),
		qemu.CustomizeStep{Dst: "127.0.0.1", Port: loopPort, SrcPort: loopSrc, ADU: ADU, Proto: "tcp",
			Flags: SendFlags, Warmup: LoopWarmup, SndBuf: SndBuf}.String(),
	}
	return plan, len(plan) - 1
}

// BuildResidual specializes tcp.decl (u) for a guest's context and builds
// the module with d; the connection's MSS must be MSS. The module carries
// the context's digest, so LOAD fails with ESTALE on another context.
// d should keep its recipes in the cache's specializer folder, as the
// server does: a fresh folder per build reached the residual's line
// table and build ID, so the module's bytes, and with them the
// count-mode figures, moved from run to run.
func BuildResidual(ctx context.Context, d *compile.Driver, u *specializer.Unit, guestCtx []byte) (*compile.Module, error) {
	c, err := ctxschema.Load(guestCtx)
	if err != nil {
		return nil, fmt.Errorf("tcpsend: guest context rejected: %w\n%s", err, guestCtx)
	}
	if mss := c.Values["tp->mss_cache"].Bits; mss != MSS {
		return nil, fmt.Errorf("tcpsend: the connection's MSS is %d bytes, want %d", mss, MSS)
	}
	out, err := u.Specialize(c)
	if err != nil {
		return nil, fmt.Errorf("tcpsend: specialize: %w", err)
	}
	digest, err := compile.ContextDigest(guestCtx)
	if err != nil {
		return nil, fmt.Errorf("tcpsend: %w", err)
	}
	m, err := d.Build(ctx, compile.Residual{C: out.C, Entry: out.Entry, Digest: digest})
	if err != nil {
		return nil, fmt.Errorf("tcpsend: compile: %w", err)
	}
	return m, nil
}

// LoopMeasurement is the measurement boot's plan and where its results
// are.
type LoopMeasurement struct {
	Plan []string
	// customize, load, before, after and received index the CUSTOMIZE,
	// LOAD, the counters around the token's sends and the receiver's
	// report; sends each path's timed loop.
	customize, load, before, after, received int
	sends                                    map[qemu.SendPath]int
}

// NewLoopMeasurement plans the measurement boot for the residual module
// named residual (at ResidualModule in the initramfs).
func NewLoopMeasurement(residual string) *LoopMeasurement {
	pl, customize := LoopContextPlan()
	m := &LoopMeasurement{customize: customize, sends: map[qemu.SendPath]int{}}
	add := func(s fmt.Stringer) int {
		pl = append(pl, s.String())
		return len(pl) - 1
	}
	add(qemu.InsmodStep{Path: ResidualModule})
	m.load = add(qemu.LoadStep{Slot: 0, Name: residual, Policy: "fallback"})
	for _, path := range LoopPaths {
		if path == qemu.PathSpecial {
			m.before = add(qemu.CountersStep{})
		}
		m.sends[path] = add(qemu.SendStep{Path: path, Slot: 0, Size: ADU, Count: LoopSends,
			Warmup: LoopSendWarmup, Flags: SendFlags})
	}
	m.after = add(qemu.CountersStep{})
	// The end of the stream: the token lets go of the socket, the close
	// sends FIN, and the receiver reports what it read once it read it.
	add(qemu.ReleaseStep{Slot: 0})
	add(qemu.CloseStep{})
	m.received = len(pl)
	m.Plan = append(pl, "tcpsinkwait")
	return m
}

// Context is the flow's context as the measurement boot collected it.
func (m *LoopMeasurement) Context(steps []qemu.StepResult) []byte {
	if m.customize >= len(steps) || steps[m.customize].Customize == nil {
		return nil
	}
	return steps[m.customize].Customize.Context
}

// LoopCost is one path's cost in a measurement boot.
type LoopCost struct {
	Path qemu.SendPath
	// InstructionsPerSend is guest instructions per send (virtual ns /
	// LoopSends / 2^icount shift), the loopback receive the send
	// triggers and the timed loop's own few included.
	InstructionsPerSend float64
}

// Check reads the measurement boot's steps (shift: the platform's icount
// shift) and returns each path's cost, in LoopPaths' order. It fails if
// the residual did not load, a send failed, the residual made fewer than
// 99% of the token's sends, or the receiver did not read every byte the
// flow sent.
func (m *LoopMeasurement) Check(steps []qemu.StepResult, shift int) ([]LoopCost, error) {
	if len(steps) != len(m.Plan) {
		return nil, fmt.Errorf("tcpsend: %d step results for %d steps", len(steps), len(m.Plan))
	}
	if l := steps[m.load].Load; l == nil || l.Errno != 0 || l.Token <= 0 {
		return nil, fmt.Errorf("tcpsend: %s failed: %+v (ESTALE: the context differs from the context boot's)",
			m.Plan[m.load], l)
	}
	var errs []error
	sent := int64(LoopWarmup + len(LoopPaths)*(LoopSends+LoopSendWarmup)*ADU)
	if got := steps[m.received].Fields["bytes"]; got != strconv.FormatInt(sent, 10) {
		errs = append(errs, fmt.Errorf("the receiver read %s bytes, the flow sent %d", got, sent))
	}
	delta := func(name string) int64 { return steps[m.after].Counters[name] - steps[m.before].Counters[name] }
	tokenSends := int64(2 * (LoopSends + LoopSendWarmup))
	if spec := delta("sends_specialized"); spec*100 < tokenSends*99 {
		errs = append(errs, fmt.Errorf("the residual made %d of %d token sends (%d fallbacks, %d guarded)",
			spec, tokenSends, delta("fallbacks"), delta("sends_guarded")))
	}
	unit := float64(LoopSends) * float64(int64(1)<<shift)
	var costs []LoopCost
	for _, path := range LoopPaths {
		s := steps[m.sends[path]].Send
		if s == nil {
			errs = append(errs, fmt.Errorf("%s: no send result", path))
			continue
		}
		if s.Errors != 0 {
			errs = append(errs, fmt.Errorf("%s: %d sends failed, first errno %d", path, s.Errors, s.Errno))
		}
		costs = append(costs, LoopCost{Path: path, InstructionsPerSend: float64(s.NS) / unit})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("tcpsend: %w", err)
	}
	return costs, nil
}
