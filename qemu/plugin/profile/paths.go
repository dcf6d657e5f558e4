package profile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"specbed/images"
	"specbed/images/specnet/core"
	"specbed/images/specnet/paths"
	"specbed/qemu"
	"specbed/qemu/plugin/attrib"
)

// LayerCounts is the per-layer cost of one send path at one payload size
// on one platform, over the timed loop that images/specnet/paths
// measures (figure 4(a)).
type LayerCounts struct {
	Platform    string        `json:"platform"`
	Path        qemu.SendPath `json:"path"`
	Protocol    string        `json:"protocol"`
	SizeBytes   int           `json:"size_bytes"`
	IcountShift int           `json:"icount_shift"`
	// ByLayer is guest instructions per send by layer (attrib.Layer*
	// keys; absent means 0); Total their sum. GuestPerSend is the guest's
	// own icount figure for the same loop (what TestPaths reports).
	ByLayer      map[string]float64 `json:"instructions_per_send_by_layer"`
	Total        float64            `json:"instructions_per_send"`
	GuestPerSend float64            `json:"guest_instructions_per_send"`
	// Functions is guest instructions per send by function, the largest
	// first.
	Functions []FuncPerSend `json:"functions"`
}

// FuncPerSend is one function's share of a send.
type FuncPerSend struct {
	Function     string  `json:"function"`
	Layer        string  `json:"layer"`
	Instructions float64 `json:"instructions_per_send"`
}

// Deviation is |Total - GuestPerSend| / GuestPerSend.
func (l *LayerCounts) Deviation() float64 {
	d := l.Total - l.GuestPerSend
	if d < 0 {
		d = -d
	}
	return d / l.GuestPerSend
}

// PathsRun is one measurement boot of images/specnet/paths under the
// plugin (a flow has two: the kernel's and /dev/specnet's paths, then the
// customized_send system call's): the outcome of the paths checks and the
// per-layer counts of the paths it timed.
type PathsRun struct {
	Measurement *paths.Measurement
	Profile     *Profile
	Layers      []LayerCounts
}

// Measure runs the paths measurement of images/specnet/paths on p under
// the plugin for the given sizes (bytes) and returns one LayerCounts per
// (path, size). The kernel must be cached already (no kernel build).
func Measure(ctx context.Context, b *images.Builder, p *qemu.Platform, sizes []int) ([]LayerCounts, error) {
	var out []LayerCounts
	runs, err := MeasurePaths(ctx, b, p, sizes)
	for _, r := range runs {
		out = append(out, r.Layers...)
	}
	return out, err
}

// MeasurePaths is Measure with each boot's checks and full profile.
func MeasurePaths(ctx context.Context, b *images.Builder, p *qemu.Platform, sizes []int) ([]*PathsRun, error) {
	k, err := b.CachedKernel(ctx, p)
	if err != nil {
		return nil, err
	}
	corePath, err := core.Build(ctx, b, k)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "specbed-profile-paths-")
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	defer os.RemoveAll(work)
	// The specializer server's recipe folder, as results/repro uses: a
	// recipe recorded in a fresh folder names that folder in the
	// residual's line table, so its build-id and signature, and the
	// guest's instruction counts around the timed loops, would differ
	// from run to run and from the paths measurement's.
	spec, err := paths.NewSpecializer(b.Repo, k, p, filepath.Join(b.Cache, "specializer"))
	if err != nil {
		return nil, err
	}
	// The context boot needs no plugin: only its contexts matter.
	initrd, err := b.Initramfs(ctx, p, paths.Files(corePath, nil))
	if err != nil {
		return nil, err
	}
	res, err := boot(ctx, p, k, initrd, paths.ContextPlan(sizes), work)
	if err != nil {
		return nil, fmt.Errorf("profile: context boot: %w", err)
	}
	contexts, err := paths.Contexts(res, sizes)
	if err != nil {
		return nil, fmt.Errorf("profile: context boot: %w", err)
	}
	coreKo, err := os.ReadFile(corePath)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	coreName, err := paths.ModuleName(coreKo)
	if err != nil {
		return nil, fmt.Errorf("profile: core module: %w", err)
	}
	var runs []*PathsRun
	for _, size := range sizes {
		rs, err := measureSize(ctx, b, p, k, corePath, coreName, spec, size, contexts[size], work)
		runs = append(runs, rs...)
		if err != nil {
			return runs, fmt.Errorf("profile: %s %d-byte flow: %w", p.Name, size, err)
		}
	}
	return runs, nil
}

// guestModules are where paths.Files puts the modules in the initramfs.
var guestModules = struct{ core, residual string }{core.GuestPath, "/lib/modules/residual.ko"}

// pathsBoot is one of the measurement boots of a flow in
// images/specnet/paths: its plan, its checks and the paths it times, in
// plan order.
type pathsBoot struct {
	plan  func(size int, r *paths.Residual) []string
	check func(r *qemu.Result, size int, want []byte) (*paths.Measurement, error)
	paths []qemu.SendPath
}

// pathsBoots are the kernel's and /dev/specnet's paths, then the
// customized_send system call's.
var pathsBoots = []pathsBoot{
	{paths.Plan, paths.Check, qemu.SendPaths()},
	{paths.SyscallPlan, paths.CheckSyscall, qemu.CustomizedSendPaths()},
}

// measureSize specializes the flow of size bytes and profiles its
// measurement boots.
func measureSize(ctx context.Context, b *images.Builder, p *qemu.Platform, k *images.Kernel, corePath, coreName string,
	spec *paths.Specializer, size int, context []byte, work string) ([]*PathsRun, error) {
	r, err := spec.Residual(ctx, context)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, fmt.Sprint(size))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// The module with its line table: the same code and symbols as the
	// one the guest loads, and where each instruction came from.
	residualPath := filepath.Join(dir, "residual.ko")
	if err := os.WriteFile(residualPath, r.Module.Lines, 0o644); err != nil {
		return nil, err
	}
	initrd, err := b.Initramfs(ctx, p, paths.Files(corePath, r))
	if err != nil {
		return nil, err
	}
	var runs []*PathsRun
	for i, pb := range pathsBoots {
		bootDir := filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(bootDir, 0o755); err != nil {
			return runs, err
		}
		plan := WithSections(pb.plan(size, r), map[string]string{guestModules.core: coreName, guestModules.residual: r.Name})
		prof, err := Execute(ctx, Run{
			Platform: p, Kernel: k, Initrd: initrd, Plan: plan,
			Modules: map[string]string{coreName: corePath, r.Name: residualPath},
			Timeout: bootTimeout, Dir: bootDir,
		}, b.Cache)
		if err != nil {
			return runs, err
		}
		m, err := pb.check(WithoutSections(prof.Result), size, context)
		run := &PathsRun{Measurement: m, Profile: prof}
		runs = append(runs, run)
		if err != nil {
			return runs, fmt.Errorf("paths checks: %w", err)
		}
		timed, err := timedWindows(prof.Windows, m, pb.paths)
		if err != nil {
			return runs, err
		}
		for _, w := range timed {
			run.Layers = append(run.Layers, layerCounts(p, w))
		}
	}
	return runs, nil
}

// timedWindows picks the timed loops of a measurement boot out of its
// windows: the loops of paths.Count sends, which must be want in plan
// order, each with the guest figure the paths checks read for its path.
// The plan's single sends (a customized_send before the core is loaded or
// on an empty slot, the wrong-length sends) run through time_sends too,
// before and after the timed loops, but are not measurements.
func timedWindows(ws []Window, m *paths.Measurement, want []qemu.SendPath) ([]*Window, error) {
	var timed []*Window
	for i := range ws {
		if ws[i].Kind == "send" && ws[i].Sends == paths.Count {
			timed = append(timed, &ws[i])
		}
	}
	if len(timed) != len(want) {
		return nil, fmt.Errorf("%d timed loops of %d sends, want %d (%v)", len(timed), paths.Count, len(want), want)
	}
	for i, w := range timed {
		if w.Path != want[i] {
			return nil, fmt.Errorf("timed loop %d (step %d) is the %s path's, want %s", i, w.Step, w.Path, want[i])
		}
		if c := m.Cost(w.Path); w.GuestPerSend != c {
			return nil, fmt.Errorf("timed loop %d (step %d, %s): the guest counted %.1f instructions per send, the paths checks %.1f",
				i, w.Step, w.Path, w.GuestPerSend, c)
		}
	}
	return timed, nil
}

// bootTimeout bounds one boot under the plugin (host wall time): the
// paths boot takes seconds, the plugin's counters add a little.
const bootTimeout = 10 * time.Minute

func layerCounts(p *qemu.Platform, w *Window) LayerCounts {
	n := float64(w.Sends)
	l := LayerCounts{
		Platform: p.Name, Path: w.Path, Protocol: "udp", SizeBytes: w.SizeBytes, IcountShift: p.IcountShift,
		ByLayer: map[string]float64{}, GuestPerSend: w.GuestPerSend,
	}
	for _, layer := range attrib.Layers() {
		if c := w.ByLayer[layer]; c != 0 {
			l.ByLayer[layer] = float64(c) / n
			l.Total += float64(c) / n
		}
	}
	for _, f := range w.Functions {
		l.Functions = append(l.Functions, FuncPerSend{Function: f.Function, Layer: f.Layer, Instructions: float64(f.Instructions) / n})
	}
	return l
}

// boot runs plan without the plugin.
func boot(ctx context.Context, p *qemu.Platform, k *images.Kernel, initrd string, plan []string, work string) (*qemu.Result, error) {
	var console qemu.ConsoleCopy
	in, err := qemu.Start(ctx, qemu.Config{
		Platform: p, Mode: qemu.CountMode,
		Boot: qemu.Boot{Kernel: k.Image, Initrd: initrd},
		Plan: plan, SystemMap: k.SystemMap,
		RunRoot: filepath.Join(work, "run"),
		Timeout: bootTimeout, Echo: &console,
	})
	if err != nil {
		return nil, err
	}
	res, err := in.Wait()
	if err != nil {
		return nil, fmt.Errorf("%w\nconsole:\n%s", err, console.String())
	}
	return res, nil
}
