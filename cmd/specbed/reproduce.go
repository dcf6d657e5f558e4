package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"specbed/images"
	"specbed/qemu"
	"specbed/qemu/plugin/attrib"
	"specbed/qemu/plugin/profile"
	"specbed/results"
	"specbed/results/repro"
)

func newReproduceCmd() *cobra.Command {
	var (
		opts     reproduceOptions
		platform string
	)
	cmd := &cobra.Command{
		Use:   "reproduce [--quick] [--out DIR] [--platform P]",
		Short: "Regenerate the paper's figures on this machine into a result bundle",
		Long: `reproduce builds (or takes from the cache) the kernel of every platform, then measures,
all platforms at once and in count mode:

  - the kernel's UDP send (the agent's udp step on dummy0);
  - instructions per send through the four send paths (kernel sendto(), send(), the
    core module's generic path, the specialized residual), with the core's counters
    checked around the sends (images/specnet/paths);
  - the same paths under the instruction-counting TCG plugin, per layer (qemu/plugin);
  - the compiled size of the kernel's send path, the generic path and the residual;

then, one platform after another and in network mode:

  - the specialization overhead by phase (a fetch from a resident server, cold and
    cached);
  - on the x86 platforms, a UDP stream over the data NIC with netperf's confidence rule.

It writes a result bundle (results/): bundle.json (schema specbed.bundle/v1, every
parameter), a CSV, PNG and SVG per figure with the paper's numbers beside ours, and
report.html with a row per claim of the paper and the deviations. Default folder:
out/results/<start time>-<commit> in the checkout. Payloads: 64, 256, 512, 1024 and 1472 bytes;
--quick measures 1024 bytes only.

A platform that fails does not stop the others; every failure is reported and the
bundle holds what was measured.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := images.NewBuilder()
			if err != nil {
				return err
			}
			platforms, err := platformsFlag(platform)
			if err != nil {
				return err
			}
			opts.command = os.Args
			_, err = runReproduce(cmd.Context(), b, platforms, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return err
		},
	}
	cmd.Flags().StringVar(&opts.outDir, "out", "", "bundle folder (default: out/results/<start>-<commit> in the checkout)")
	cmd.Flags().BoolVar(&opts.quick, "quick", false, "one payload size (1024 bytes) per figure")
	cmd.Flags().StringVar(&platform, "platform", "", "only this platform (default: all)")
	return cmd
}

type reproduceOptions struct {
	outDir  string
	quick   bool
	command []string
}

// sendCost is one row of the udp_send table (the agent's udp step).
type sendCost struct {
	Platform    string    `json:"platform"`
	Mode        qemu.Mode `json:"mode"`
	IcountShift int       `json:"icount_shift"`
	// SizeBytes is the UDP payload per send; Count the timed sends.
	SizeBytes int `json:"size_bytes"`
	Count     int `json:"count"`
	// InstructionsPerSend: guest instructions per sendto() (count mode).
	InstructionsPerSend float64 `json:"instructions_per_send"`
	// VirtualNsPerSend: guest virtual ns per sendto().
	VirtualNsPerSend float64 `json:"virtual_ns_per_send"`
	KernelRelease    string  `json:"kernel_release"`
	KernelKey        string  `json:"kernel_key"`
	Agent            string  `json:"agent"`
}

// platformOutcome is what one platform's measurements gave.
type platformOutcome struct {
	p     *qemu.Platform
	env   *repro.Platform
	costs []results.PathCost
	sizes *repro.CodeSizes
	// layers are figure 4(a)'s per-layer counts (nil if they failed).
	layers []results.LayerCost
}

// runReproduce measures, writes the bundle and returns its folder.
func runReproduce(ctx context.Context, b *images.Builder, platforms []*qemu.Platform, opts reproduceOptions,
	stdout, stderr io.Writer) (string, error) {
	run, err := results.NewRun(ctx, b.Repo, opts.command)
	if err != nil {
		return "", err
	}
	run.Start, run.Quick = time.Now(), opts.quick
	dir := opts.outDir
	if dir == "" {
		dir = filepath.Join(b.Repo, "out", "results", run.DirName())
	}
	// Kernel builds take both cores each: one after another, then the
	// boots, which are light, all at once.
	if err := buildKernels(ctx, b, platforms, stderr, stderr); err != nil {
		return "", err
	}
	sizes := repro.Sizes(opts.quick)
	plan := qemu.DummySendPlan(sizes, defaultSendCount, defaultSendWarmup)
	boots, kernels, bootErr := bootAll(ctx, b, platforms, plan, stderr)
	errs := multierror.Append(nil, bootErr)
	rows, done := sendCosts(boots, kernels)
	if err := writeResults(stdout, false, done); err != nil {
		return "", err
	}

	outcomes, measureErr := measureAll(ctx, b, platforms, sizes, stderr)
	errs = multierror.Append(errs, measureErr)
	overhead, overheadErr := measureOverhead(ctx, b, outcomes, stderr)
	errs = multierror.Append(errs, overheadErr)
	conf := repro.UDPConfidence(opts.quick)
	streams, streamErr := measureStreams(ctx, outcomes, sizes, conf, stderr)
	errs = multierror.Append(errs, streamErr)
	run.End = time.Now()
	bundle, err := assembleBundle(ctx, run, outcomes, rows, overhead, streams, conf)
	if err != nil {
		return "", multierror.Append(errs, err)
	}
	if err := bundle.Write(dir); err != nil {
		return "", multierror.Append(errs, err)
	}
	if len(rows) > 0 {
		if err := writeSendCosts(dir, rows); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	printClaims(stdout, bundle)
	fmt.Fprintf(stdout, "bundle: %s (open %s)\n", dir, filepath.Join(dir, results.ReportFile))
	return dir, errs.ErrorOrNil()
}

// sendCosts turns the udp step results into the udp_send table.
func sendCosts(boots []*qemu.Result, kernels []*images.Kernel) ([]sendCost, []*qemu.Result) {
	var rows []sendCost
	var done []*qemu.Result
	for i, res := range boots {
		if res == nil {
			continue
		}
		done = append(done, res)
		for _, s := range res.Steps {
			if s.UDP == nil {
				continue
			}
			rows = append(rows, sendCost{
				Platform: res.Platform, Mode: res.Mode, IcountShift: res.IcountShift,
				SizeBytes: s.UDP.Size, Count: s.UDP.Count,
				InstructionsPerSend: s.UDP.InstructionsPerSend, VirtualNsPerSend: s.UDP.NsPerSend,
				KernelRelease: kernels[i].Release, KernelKey: kernels[i].Key, Agent: res.Agent,
			})
		}
	}
	return rows, done
}

// measureAll runs the paths and size measurements of every platform at
// once. outcomes[i] is nil for a platform that failed.
func measureAll(ctx context.Context, b *images.Builder, platforms []*qemu.Platform, sizes []int, errOut io.Writer) ([]*platformOutcome, error) {
	progress := newStepProgress(ctx, errOut)
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		errs     *multierror.Error
		outcomes = make([]*platformOutcome, len(platforms))
	)
	for i, p := range platforms {
		step := progress.add(p.Name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := measurePlatform(ctx, b, p, sizes, step)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				step.finish("failed")
				printExcerpt(errOut, err)
				errs = multierror.Append(errs, err)
				return
			}
			outcomes[i] = o
			// Without the plugin's counts the rest of the platform's
			// figures still stand.
			step.set("per-layer counts (TCG plugin)")
			lc, err := profile.Measure(ctx, b, p, sizes)
			if err != nil {
				step.finish("per-layer counts failed")
				printExcerpt(errOut, err)
				errs = multierror.Append(errs, fmt.Errorf("%s: per-layer counts: %w", p.Name, err))
				return
			}
			o.layers = layerCosts(lc)
			step.finish("done")
		}()
	}
	wg.Wait()
	progress.wait()
	return outcomes, errs.ErrorOrNil()
}

func measurePlatform(ctx context.Context, b *images.Builder, p *qemu.Platform, sizes []int, step *platformStep) (*platformOutcome, error) {
	step.set("building the core module")
	env, err := repro.NewPlatform(ctx, b, p)
	if err != nil {
		return nil, err
	}
	env.Step = step.set
	m, err := env.MeasurePaths(ctx, sizes)
	if err != nil {
		return nil, err
	}
	// Every run measures SizeFlow: a quick run's figure 4(b) is the
	// full run's.
	step.set("measuring code sizes")
	cs, err := env.MeasureSizes(ctx, m.Residuals[repro.SizeFlow])
	if err != nil {
		return nil, err
	}
	step.set(fmt.Sprintf("code sizes measured (the generic path's functions: %d of %d out of line in the core module)",
		cs.GenericFunctions, cs.GenericDeclared))
	tcp, err := env.MeasureTCPSizes(ctx)
	if err != nil {
		return nil, err
	}
	cs.Rows = append(cs.Rows, tcp...)
	return &platformOutcome{p: p, env: env, costs: m.Costs(p.Name, p.IcountShift), sizes: cs}, nil
}

// measureOverhead measures figure 4(c) on every platform measured so far,
// one after another: the phases are host wall time, and platforms
// specializing at once would queue for the same cores.
func measureOverhead(ctx context.Context, b *images.Builder, outcomes []*platformOutcome, errOut io.Writer) ([]results.PhaseTime, error) {
	var kernels []*images.Kernel
	for _, o := range outcomes {
		if o != nil {
			kernels = append(kernels, o.env.K)
		}
	}
	if len(kernels) == 0 {
		return nil, nil
	}
	// A module cache of its own: each platform's first request is cold.
	cache, err := os.MkdirTemp("", "specbed-overhead-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(cache)
	progress := newStepProgress(ctx, errOut)
	defer progress.wait()
	prep := progress.add("server")
	prep.set("preparing the compile recipes of every kernel")
	remote, err := repro.NewRemote(ctx, b.Repo, kernels, cache)
	if err != nil {
		prep.finish("failed")
		return nil, err
	}
	prep.finish("ready")
	var (
		phases []results.PhaseTime
		errs   *multierror.Error
	)
	for _, o := range outcomes {
		if o == nil {
			continue
		}
		step := progress.add(o.p.Name)
		o.env.Step = step.set
		ph, err := o.env.MeasureOverhead(ctx, remote)
		if err != nil {
			step.finish("failed")
			printExcerpt(errOut, err)
			errs = multierror.Append(errs, err)
			continue
		}
		step.finish("done")
		phases = append(phases, ph...)
	}
	return phases, errs.ErrorOrNil()
}

// measureStreams measures the UDP stream over the data NIC on every
// measured platform that has one, one platform after another: network
// mode follows the host, and two guests at once would share its cores.
func measureStreams(ctx context.Context, outcomes []*platformOutcome, sizes []int, conf repro.Confidence,
	errOut io.Writer) ([]results.StreamRate, error) {
	progress := newStepProgress(ctx, errOut)
	defer progress.wait()
	var (
		rates []results.StreamRate
		errs  *multierror.Error
	)
	for _, o := range outcomes {
		if o == nil || o.p.Link != qemu.LinkEthernet {
			continue
		}
		step := progress.add(o.p.Name)
		o.env.Step = step.set
		run, err := o.env.MeasureStream(ctx, sizes, conf)
		if err != nil {
			step.finish("failed")
			printExcerpt(errOut, err)
			errs = multierror.Append(errs, err)
			continue
		}
		step.finish(fmt.Sprintf("done: the sink counted %d of the %d datagrams sent", run.Delivered, run.Sent))
		rates = append(rates, run.Rates(o.p.Name)...)
	}
	return rates, errs.ErrorOrNil()
}

// streamCaption says how figure 5's UDP stream over a NIC is measured.
func streamCaption(conf repro.Confidence) string {
	return fmt.Sprintf("netperf's UDP_STREAM, sender side: per size, a network-mode boot on vnet's default topology "+
		"sends the flow through the kernel's sendto() and the specialized residual (the customized_send system call) "+
		"in turn, from the guest's data NIC "+
		"(i486: NE2000, p3: e1000) over the 1 Gbit/s data link to the sink, each round %d timed sends after %d "+
		"warm-up sends; throughput is payload bits per second of the guest's clock, which runs at 2^shift ns per "+
		"instruction while the guest sends. Rounds go on, %d to %d, until the %g%% confidence interval of the mean "+
		"is at most %g%% wide (netperf -I %g,%g); figure %s gives each interval. The SA-1110's only link is a "+
		"slow SLIP line: its UDP figure is sender-side onto dummy0 (figure %s).",
		repro.StreamCount, repro.StreamWarmup, conf.Min, conf.Max, 100*conf.Level, 100*conf.Width,
		100*conf.Level, 100*conf.Width, results.FigUDPNICInterval, results.FigUDPRate)
}

// overheadCaption says where figure 4(c)'s phases come from.
const overheadCaption = "One network-mode boot per platform on vnet's default topology (the 10 Mbit/s, 2 ms specialization " +
	"link; the SA-1110's 230400 bit/s SLIP line through a router) asks the resident server (fresh module cache) for the " +
	"module of a 1 KB UDP flow twice: cold (specialize, compile, sign) and cached. collect context (SPECNET_CUSTOMIZE), " +
	"download (response header to the module's last byte) and load (finit_module) are the guest's clock (virtual ns, " +
	"which follow host time only while the guest idles: a response the NIC hands over in one burst shows a short " +
	"download); upload (receiving the request), analysis, specialization, " +
	"compile and sign are the server's (host wall time). The cached fetch reuses the cold fetch's context and load: one module."

// layerCosts turns the plugin's per-layer counts into figure rows.
func layerCosts(lc []profile.LayerCounts) []results.LayerCost {
	var out []results.LayerCost
	for _, l := range lc {
		out = append(out, results.LayerCost{Platform: l.Platform, Protocol: l.Protocol, SizeBytes: l.SizeBytes,
			Path: string(l.Path), ByLayer: l.ByLayer, Total: l.Total, GuestPerSend: l.GuestPerSend})
	}
	return out
}

// assembleBundle makes the bundle's figures from what was measured.
func assembleBundle(ctx context.Context, run results.Run, outcomes []*platformOutcome, rows []sendCost,
	overhead []results.PhaseTime, streams []results.StreamRate, conf repro.Confidence) (*results.Bundle, error) {
	b := &results.Bundle{Run: run}
	var (
		costs  []results.PathCost
		sizes  []results.CodeSize
		layers []results.LayerCost
		shifts []string
	)
	for _, o := range outcomes {
		if o == nil {
			continue
		}
		version, err := results.QEMUVersion(ctx, o.p.Binary)
		if err != nil {
			return nil, err
		}
		b.Platforms = append(b.Platforms, results.Platform{
			Name: o.p.Name, Description: o.p.Description, PaperCPU: o.p.PaperCPU, PaperMHz: o.p.PaperMHz,
			Machine: o.p.Machine, CPU: o.p.CPU, Link: string(o.p.Link), MemoryMiB: o.p.MemoryMiB,
			ClockMode: qemu.CountMode.Name, IcountShift: o.p.IcountShift, QEMU: o.p.Binary, QEMUVersion: version,
			KernelRelease: o.env.K.Release, KernelKey: o.env.K.Key, KernelConfigSHA256: o.env.K.ConfigHash,
		})
		costs = append(costs, o.costs...)
		layers = append(layers, o.layers...)
		sizes = append(sizes, o.sizes.Rows...)
		shifts = append(shifts, fmt.Sprintf("%s %d", o.p.Name, o.p.IcountShift))
	}
	if len(b.Platforms) == 0 {
		return nil, fmt.Errorf("reproduce: no platform was measured")
	}
	b.Figures = append(b.Figures, udpSendFigure(rows), results.SendPathsFigure(costs, strings.Join(shifts, ", ")))
	speed, err := results.SpeedFigure(costs)
	if err != nil {
		return nil, err
	}
	gain, err := results.UDPGainFigure(costs)
	if err != nil {
		return nil, err
	}
	sizeFigs, err := results.SizeFigures(sizes)
	if err != nil {
		return nil, err
	}
	b.Figures = append(b.Figures, speed)
	if len(layers) > 0 {
		b.Figures = append(b.Figures, results.LayersFigures(layers, attrib.Layers())...)
	} else {
		b.Missing = append(b.Missing, results.Missing{PaperFigure: "4(a), per layer", Why: "the plugin's per-layer counts failed on every platform (see the run's errors)"})
	}
	b.Figures = append(b.Figures, results.UDPRateFigure(costs), gain)
	b.Figures = append(b.Figures, sizeFigs...)
	if len(streams) > 0 {
		nic, err := results.UDPNICFigures(streams, conf.Width, streamCaption(conf))
		if err != nil {
			return nil, err
		}
		b.Figures = append(b.Figures, nic...)
	} else {
		b.Missing = append(b.Missing, results.Missing{PaperFigure: "5(a,b,c) over a NIC", Why: "no platform with a data NIC was measured (or its stream boots failed: see the run's errors)"})
	}
	if len(overhead) > 0 {
		b.Figures = append(b.Figures, results.OverheadFigure(overhead, overheadCaption), results.OverheadBytesFigure(overhead))
	} else {
		b.Missing = append(b.Missing, results.Missing{PaperFigure: "4(c)", Why: "the overhead boots failed (see the run's errors)"})
	}
	b.Missing = append(b.Missing,
		results.Missing{PaperFigure: "4(b) and 5(d,e), TCP", Why: "the TCP generic path and its specialization (issue 6) are not in reproduce yet"},
		results.Missing{PaperFigure: "1", Why: "the profile under 100 concurrent connections is a stretch goal, not built"},
	)
	return b, nil
}

// udpSendFigure is the agent udp step's table as a figure.
func udpSendFigure(rows []sendCost) results.Figure {
	f := results.Figure{
		ID: "udp-sendto-step", Title: "The kernel's UDP sendto() (agent udp step)",
		Caption: "Guest instructions per sendto() on dummy0, count mode, " + strconv.Itoa(defaultSendCount) +
			" timed sends after " + strconv.Itoa(defaultSendWarmup) + " warm-up sends, one boot per platform without the core module " +
			"(udp_send.csv). Its plan differs from the paths measurement's, so its figures differ from that sendto() column by a few instructions.",
		Unit: "guest instructions per send", Kind: results.KindCount,
		Columns: []string{"platform", "size_bytes"}, Series: "size_bytes",
	}
	for _, r := range rows {
		f.Rows = append(f.Rows, results.Row{Key: []string{r.Platform, strconv.Itoa(r.SizeBytes)}, Value: r.InstructionsPerSend})
	}
	return f
}

// printClaims prints the report's claims table in short.
func printClaims(w io.Writer, b *results.Bundle) {
	rows, err := results.Claims(b)
	if err != nil {
		fmt.Fprintln(w, "claims:", err)
		return
	}
	fmt.Fprintf(w, "%-20s %-28s %-7s %s\n", "claim", "paper", "ratio", "ours")
	for _, r := range rows {
		paperText := r.Paper
		if len(paperText) > 28 {
			paperText = paperText[:25] + "..."
		}
		fmt.Fprintf(w, "%-20s %-28s %-7s %s\n", r.ID, paperText, r.RatioText(), r.Ours)
	}
}

// bootAll boots the platforms' cached kernels at once in count mode with
// plan. results[i] and kernels[i] are nil for a platform that failed;
// the error holds every failure, and their console tails go to errOut.
func bootAll(ctx context.Context, b *images.Builder, platforms []*qemu.Platform, plan []string,
	errOut io.Writer) ([]*qemu.Result, []*images.Kernel, error) {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		errs    *multierror.Error
		results = make([]*qemu.Result, len(platforms))
		kernels = make([]*images.Kernel, len(platforms))
	)
	for i, p := range platforms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, res, err := bootCached(ctx, b, p, plan)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				printExcerpt(errOut, err)
				errs = multierror.Append(errs, err)
				return
			}
			results[i], kernels[i] = res, k
		}()
	}
	wg.Wait()
	return results, kernels, errs.ErrorOrNil()
}

// bootCached boots p's cached kernel in count mode with plan.
func bootCached(ctx context.Context, b *images.Builder, p *qemu.Platform, plan []string) (*images.Kernel, *qemu.Result, error) {
	k, err := b.CachedKernel(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := guestConfig(ctx, b, p, k, nil)
	if err != nil {
		return nil, nil, err
	}
	cfg.Mode = qemu.CountMode
	cfg.Plan = plan
	res, err := runGuest(ctx, cfg)
	return k, res, err
}

// writeSendCosts writes the rows as udp_send.json and udp_send.csv.
func writeSendCosts(dir string, rows []sendCost) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "udp_send.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "udp_send.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"platform", "mode", "icount_shift", "size_bytes", "count",
		"instructions_per_send", "virtual_ns_per_send", "kernel_release", "kernel_key", "agent"})
	for _, r := range rows {
		w.Write([]string{r.Platform, r.Mode.Name, strconv.Itoa(r.IcountShift), strconv.Itoa(r.SizeBytes),
			strconv.Itoa(r.Count), strconv.FormatFloat(r.InstructionsPerSend, 'f', 3, 64),
			strconv.FormatFloat(r.VirtualNsPerSend, 'f', 3, 64), r.KernelRelease, r.KernelKey, r.Agent})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stepProgress shows what each platform's measurement does: a spinner
// per platform on a terminal, plain "platform: step" lines elsewhere.
type stepProgress struct {
	plain io.Writer     // nil on a terminal
	mpb   *mpb.Progress // nil when plain
	mu    sync.Mutex    // serializes plain lines
}

func newStepProgress(ctx context.Context, w io.Writer) *stepProgress {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f) {
		return &stepProgress{plain: w}
	}
	return &stepProgress{mpb: mpb.NewWithContext(ctx, mpb.WithOutput(f), mpb.WithWidth(16))}
}

// platformStep is one platform's line.
type platformStep struct {
	name string
	sp   *stepProgress
	bar  *mpb.Bar
	line *progressLine
}

func (sp *stepProgress) add(name string) *platformStep {
	s := &platformStep{name: name, sp: sp}
	if sp.mpb != nil {
		s.line = &progressLine{text: "waiting"}
		s.bar = sp.mpb.New(0, mpb.SpinnerStyle(),
			mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), decor.Elapsed(decor.ET_STYLE_MMSS, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return s.line.get() })))
	}
	return s
}

// set shows what the platform does now.
func (s *platformStep) set(what string) {
	if s.line != nil {
		fmt.Fprintln(s.line, what)
		return
	}
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	fmt.Fprintf(s.sp.plain, "%s: %s\n", s.name, what)
}

// finish ends the platform's line with a status.
func (s *platformStep) finish(status string) {
	s.set(status)
	if s.bar != nil {
		s.bar.SetTotal(-1, true)
	}
}

func (sp *stepProgress) wait() {
	if sp.mpb != nil {
		sp.mpb.Wait()
	}
}
