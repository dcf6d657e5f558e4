package repro

import (
	"context"
	"fmt"
	"path/filepath"

	"specbed/images"
	"specbed/images/specnet/core"
	"specbed/images/specnet/tcpsend"
	"specbed/results"
	"specbed/specializer"
	"specbed/specializer/compile"
)

// TCPLoop is a platform's TCP flow over loopback in count mode
// (images/specnet/tcpsend): instructions per send of tcpsend.ADU bytes
// through send(), the generic path, SEND and customized_send, and the
// residual the host built from the guest's own context for it.
type TCPLoop struct {
	Costs    []tcpsend.LoopCost
	Residual *compile.Module
}

// MeasureTCPLoop runs the tcpsend loopback measurement: a boot collects
// the flow's context, the host specializes tcp.decl for it and compiles
// the residual for the platform's kernel, and a second boot times the
// paths and checks the residual made the token's sends and the receiver
// read every byte.
func (e *Platform) MeasureTCPLoop(ctx context.Context) (*TCPLoop, error) {
	generic := core.GenericDir(e.B)
	u, err := specializer.Load(filepath.Join(generic, "tcp.decl"))
	if err != nil {
		return nil, fmt.Errorf("%s: TCP over loopback: %w", e.P.Name, err)
	}
	e.step("TCP over loopback: collecting the flow's context")
	plan, customize := tcpsend.LoopContextPlan()
	res, err := e.bootFiles(ctx, e.coreFiles(), plan)
	if err != nil {
		return nil, fmt.Errorf("%s: TCP over loopback, context boot: %w", e.P.Name, err)
	}
	if len(res.Steps) != len(plan) || res.Steps[customize].Customize == nil {
		return nil, fmt.Errorf("%s: TCP over loopback, context boot: %d step results for %d steps, no context",
			e.P.Name, len(res.Steps), len(plan))
	}
	guestCtx := res.Steps[customize].Customize.Context
	e.step("TCP over loopback: specializing tcp.decl for the flow")
	mod, err := tcpsend.BuildResidual(ctx, compile.New(e.K, e.P, generic, e.specializerCache()), u, guestCtx)
	if err != nil {
		return nil, fmt.Errorf("%s: TCP over loopback: %w", e.P.Name, err)
	}
	e.step(fmt.Sprintf("TCP over loopback: timing %d-byte sends through send(), generic, SEND, customized_send", tcpsend.ADU))
	m := tcpsend.NewLoopMeasurement(mod.Name)
	files := append(e.coreFiles(), images.File{Path: tcpsend.ResidualModule, Data: mod.Ko})
	if res, err = e.bootFiles(ctx, files, m.Plan); err != nil {
		return nil, fmt.Errorf("%s: TCP over loopback, measurement boot: %w", e.P.Name, err)
	}
	costs, err := m.Check(res.Steps, e.P.IcountShift)
	if err != nil {
		return nil, fmt.Errorf("%s: TCP over loopback (residual %s): %w", e.P.Name, mod.Name, err)
	}
	return &TCPLoop{Costs: costs, Residual: mod}, nil
}

// PathCosts returns the flow's costs as figure rows (size: the ADU).
func (l *TCPLoop) PathCosts(platform string, shift int) []results.PathCost {
	var out []results.PathCost
	for _, c := range l.Costs {
		out = append(out, results.PathCost{Platform: platform, Protocol: protocolTCP, SizeBytes: tcpsend.ADU,
			Path: string(c.Path), InstructionsPerSend: c.InstructionsPerSend, IcountShift: shift})
	}
	return out
}

// TCPLoopFlow is the loopback flow as the figures describe it.
func TCPLoopFlow() results.TCPLoopFlow {
	return results.TCPLoopFlow{ADU: tcpsend.ADU, MSS: tcpsend.MSS, Sends: tcpsend.LoopSends, Warmup: tcpsend.LoopSendWarmup}
}
