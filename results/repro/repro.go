// Package repro makes the measurements of a reproduction bundle on one
// platform: instructions per send through the send paths (the
// images/specnet/paths measurement, count mode, dummy0), the compiled
// sizes of the kernel's send path, the generic path and the specialized
// residual (figure 4(b)), and in network mode the specialization overhead
// (figure 4(c)) and the UDP and TCP streams over the data NIC (figure 5).
// The CLI's reproduce command runs it per platform and turns the results
// into figures (package results).
package repro

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"specbed/images"
	"specbed/images/specnet/core"
	"specbed/images/specnet/paths"
	"specbed/qemu"
	"specbed/results"
)

// protocolUDP names the UDP measurements' protocol (protocolTCP the TCP
// stream's) in figure rows and server requests.
const protocolUDP = "udp"

// bootTimeout bounds one guest run (host wall time): a boot, module loads
// and 4400 sends take seconds under TCG, more on a loaded host.
const bootTimeout = 5 * time.Minute

// bootSilence bounds a boot's silence (host wall time): the p3's e1000
// probe reads the TSC in delay loops and stays quiet for over 30 s
// (qemu's default) on a loaded host.
const bootSilence = 3 * time.Minute

// SizeFlow is the payload (bytes) of the flow whose residual figure 4(b)
// sizes and whose overhead figure 4(c) times: 1 KB, the size most of the
// paper's claims use. Every run measures it.
const SizeFlow = 1024

// Sizes are the payloads measured (bytes): figure 5's range from 64 bytes
// to the largest unfragmented datagram (1472 on a 1500-byte MTU), or in a
// quick run SizeFlow alone.
func Sizes(quick bool) []int {
	if quick {
		return []int{SizeFlow}
	}
	return []int{64, 256, 512, SizeFlow, 1472}
}

// Platform is what one platform's measurements share.
type Platform struct {
	B *images.Builder
	P *qemu.Platform
	K *images.Kernel
	// Core is the core module's .ko, built for K.
	Core string
	// RunRoot holds the guests' run directories ("" for qemu's default).
	RunRoot string
	// Step, if set, is told what starts next (for a progress display).
	Step func(what string)
}

// NewPlatform takes p's cached kernel and builds the core module for it.
func NewPlatform(ctx context.Context, b *images.Builder, p *qemu.Platform) (*Platform, error) {
	k, err := b.CachedKernel(ctx, p)
	if err != nil {
		return nil, err
	}
	corePath, err := core.Build(ctx, b, k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	return &Platform{B: b, P: p, K: k, Core: corePath}, nil
}

// specializerCache is where the host-side specializer keeps its compile
// recipes: the server's folder in the specbed cache.
func (e *Platform) specializerCache() string { return filepath.Join(e.B.Cache, "specializer") }

func (e *Platform) step(what string) {
	if e.Step != nil {
		e.Step(what)
	}
}

// boot runs plan in count mode with the core module and residual r (nil:
// none) in the initramfs.
func (e *Platform) boot(ctx context.Context, r *paths.Residual, plan []string) (*qemu.Result, error) {
	return e.bootFiles(ctx, paths.Files(e.Core, r), plan)
}

// bootFiles runs plan in count mode with files in the initramfs.
func (e *Platform) bootFiles(ctx context.Context, files []images.File, plan []string) (*qemu.Result, error) {
	initrd, err := e.B.Initramfs(ctx, e.P, files)
	if err != nil {
		return nil, err
	}
	in, err := qemu.Start(ctx, qemu.Config{
		Platform:       e.P,
		Mode:           qemu.CountMode,
		Boot:           qemu.Boot{Kernel: e.K.Image, Initrd: initrd},
		SystemMap:      e.K.SystemMap,
		Plan:           plan,
		RunRoot:        e.RunRoot,
		Timeout:        bootTimeout,
		SilenceTimeout: bootSilence,
	})
	if err != nil {
		return nil, err
	}
	return in.Wait()
}

// Paths is the outcome of the paths measurement on one platform.
type Paths struct {
	Measurements []*paths.Measurement
	// Residuals are the specialized modules, by payload size (bytes).
	Residuals map[int]*paths.Residual
}

// Costs returns the measurements as the figures' rows.
func (r *Paths) Costs(platform string, shift int) []results.PathCost {
	var out []results.PathCost
	for _, m := range r.Measurements {
		for _, c := range m.Costs {
			out = append(out, results.PathCost{Platform: platform, Protocol: protocolUDP, SizeBytes: m.Size,
				Path: string(c.Path), InstructionsPerSend: c.InstructionsPerSend, IcountShift: shift})
		}
	}
	return out
}

// MeasurePaths runs the paths measurement: one boot collects the context
// of each size's flow, the host specializes and compiles each, and two
// boots per size time the paths and check the core's counters: the
// kernel's and /dev/specnet's (paths.Check), then the customized_send
// system call's (paths.CheckSyscall), the paper's interface.
func (e *Platform) MeasurePaths(ctx context.Context, sizes []int) (*Paths, error) {
	spec, err := paths.NewSpecializer(e.B.Repo, e.K, e.P, e.specializerCache())
	if err != nil {
		return nil, err
	}
	e.step("collecting contexts")
	res, err := e.boot(ctx, nil, paths.ContextPlan(sizes))
	if err != nil {
		return nil, fmt.Errorf("%s: context boot: %w", e.P.Name, err)
	}
	contexts, err := paths.Contexts(res, sizes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.P.Name, err)
	}
	out := &Paths{Residuals: map[int]*paths.Residual{}}
	for _, size := range sizes {
		e.step(fmt.Sprintf("specializing the %d-byte flow", size))
		r, err := spec.Residual(ctx, contexts[size])
		if err != nil {
			return nil, fmt.Errorf("%s: %d-byte flow: %w", e.P.Name, size, err)
		}
		e.step(fmt.Sprintf("timing the paths at %d bytes", size))
		res, err := e.boot(ctx, r, paths.Plan(size, r))
		if err != nil {
			return nil, fmt.Errorf("%s: %d-byte flow: %w", e.P.Name, size, err)
		}
		m, err := paths.Check(res, size, contexts[size])
		if err != nil {
			return nil, fmt.Errorf("%s: %d-byte flow (residual %s): %w", e.P.Name, size, r.Name, err)
		}
		e.step(fmt.Sprintf("timing the customized_send paths at %d bytes", size))
		res, err = e.boot(ctx, r, paths.SyscallPlan(size, r))
		if err != nil {
			return nil, fmt.Errorf("%s: %d-byte flow, customized_send: %w", e.P.Name, size, err)
		}
		sys, err := paths.CheckSyscall(res, size, contexts[size])
		if err != nil {
			return nil, fmt.Errorf("%s: %d-byte flow, customized_send (residual %s): %w", e.P.Name, size, r.Name, err)
		}
		m.Add(sys)
		out.Measurements = append(out.Measurements, m)
		out.Residuals[size] = r
	}
	return out, nil
}
