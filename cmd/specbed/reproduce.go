package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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
	"specbed/vnet"
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
  - instructions per send through the send paths (kernel sendto(), send(), the core
    module's generic path and the specialized residual through /dev/specnet, both
    through the customized_send system call), with the core's counters checked
    around the sends (images/specnet/paths);
  - the same paths under the instruction-counting TCG plugin, per layer (qemu/plugin);
  - TCP over loopback to a receiver in the same guest: instructions per send of two MSS
    through send(), the generic path and the residual (SEND, customized_send), the
    residual built from the guest's own context (images/specnet/tcpsend);
  - the compiled size of the kernel's UDP and TCP send paths, the generic paths and
    the residuals;

then in network mode, as many guests at once as the host has CPUs:

  - the specialization overhead by phase (a fetch from a resident server, cold and
    cached);
  - on the x86 platforms, a UDP stream and a TCP stream (two-MSS records, MSS 1448,
    every byte checked at the sink) over the data NIC with netperf's confidence rule
    (UDP +-5%, TCP +-2.5% at 99%; a mean that misses it is reported with a WARNING).

Each phase's host wall time is printed as it ends and summed at the end.

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
	addLibraryFlags(cmd, &opts.library)
	return cmd
}

type reproduceOptions struct {
	outDir  string
	quick   bool
	command []string
	// library is the scenario library pass (reproduce_scenarios.go).
	library libraryOptions
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
	// tcp are the count-mode TCP flow's costs over loopback (nil if it
	// failed).
	tcp []results.PathCost
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
	phases := newPhaseLog(stderr)
	// Kernel builds take both cores each: one after another, then the
	// boots, which are light, all at once.
	if err := buildKernels(ctx, b, platforms, stderr, stderr); err != nil {
		return "", err
	}
	phases.done("kernels")
	if opts.library.only {
		return dir, runLibraryPass(ctx, b, run, dir, platforms, opts, stdout, stderr, phases)
	}
	sizes := repro.Sizes(opts.quick)
	plan := qemu.DummySendPlan(sizes, defaultSendCount, defaultSendWarmup)
	boots, kernels, bootErr := bootAll(ctx, b, platforms, plan, stderr)
	errs := multierror.Append(nil, bootErr)
	rows, done := sendCosts(boots, kernels)
	if err := writeResults(stdout, false, done); err != nil {
		return "", err
	}
	phases.done("udp step (count mode)")

	// The server's compile recipes take a kbuild per kernel: they are
	// prepared while the count-mode boots run, whose figures count
	// instructions and so do not feel the load.
	overheadRemote := startRemote(ctx, b, kernels, true)
	defer overheadRemote.close()
	streamRemote := startRemote(ctx, b, kernels, false)
	defer streamRemote.close()
	outcomes, measureErr := measureAll(ctx, b, platforms, sizes, stderr)
	errs = multierror.Append(errs, measureErr)
	phases.done("paths, TCP loopback, sizes, layers (count mode)")
	udpConf, tcpConf := repro.UDPConfidence(opts.quick), repro.TCPConfidence(opts.quick)
	net, netErr := measureNetwork(ctx, overheadRemote, streamRemote, outcomes, sizes, udpConf, tcpConf, stderr)
	errs = multierror.Append(errs, netErr)
	phases.done("overhead, UDP and TCP streams (network mode)")
	profileFigs, profileMissing, profileErr := measureProfiles(ctx, outcomes, opts.quick, stderr)
	errs = multierror.Append(errs, profileErr)
	phases.done("figure 1 profile (network mode)")
	warnConfidence(stderr, net.udp, udpConf)
	warnConfidence(stderr, net.udpRecv, udpConf)
	warnConfidence(stderr, net.tcp, tcpConf)
	run.End = time.Now()
	bundle, err := assembleBundle(ctx, run, outcomes, rows, net, udpConf, tcpConf)
	if err != nil {
		return "", multierror.Append(errs, err)
	}
	bundle.Figures = append(bundle.Figures, profileFigs...)
	bundle.Missing = append(bundle.Missing, profileMissing...)
	// The pass writes its page whether it runs or not.
	bundle.ScenarioLibrary = libraryPage
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
	// After the figures: the library's load would move the network-mode ones.
	errs = multierror.Append(errs, runLibraryPass(ctx, b, run, dir, platforms, opts, stdout, stderr, phases))
	phases.summary()
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

// measureAll runs the paths and size measurements and the per-layer
// counts of every platform at once (each platform's two side by side:
// count mode counts instructions, so the load does not move them).
// outcomes[i] is nil for a platform that failed.
func measureAll(ctx context.Context, b *images.Builder, platforms []*qemu.Platform, sizes []int, errOut io.Writer) ([]*platformOutcome, error) {
	progress := newStepProgress(ctx, errOut)
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		errs     *multierror.Error
		outcomes = make([]*platformOutcome, len(platforms))
	)
	fail := func(step *platformStep, status string, err error) {
		step.finish(status)
		mu.Lock()
		defer mu.Unlock()
		printExcerpt(errOut, err)
		errs = multierror.Append(errs, err)
	}
	for i, p := range platforms {
		step := progress.add(p.Name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			step.set("building the core module")
			env, err := repro.NewPlatform(ctx, b, p)
			if err != nil {
				fail(step, "failed", err)
				return
			}
			// The plugin's boots, beside the paths measurement (after
			// the core module's build, which both use).
			layerStep := progress.add(p.Name + " layers")
			layers := make(chan []results.LayerCost, 1)
			go func() {
				defer close(layers)
				layerStep.set("per-layer counts (TCG plugin)")
				lc, err := profile.Measure(ctx, b, p, sizes)
				if err != nil {
					// Without them the platform's other figures stand.
					fail(layerStep, "per-layer counts failed", fmt.Errorf("%s: per-layer counts: %w", p.Name, err))
					return
				}
				layerStep.finish("done")
				layers <- layerCosts(lc)
			}()
			// The TCP flow over loopback, beside them too: its
			// residual's size joins figure 4(b).
			tcpStep := progress.add(p.Name + " tcp")
			tcpEnv := *env
			tcpEnv.Step = tcpStep.set
			tcp := make(chan *repro.TCPLoop, 1)
			go func() {
				defer close(tcp)
				l, err := tcpEnv.MeasureTCPLoop(ctx)
				if err != nil {
					fail(tcpStep, "TCP over loopback failed", err)
					return
				}
				tcpStep.finish("done")
				tcp <- l
			}()
			env.Step = step.set
			o, err := measurePlatform(ctx, env, sizes, step, tcp)
			lc := <-layers
			if err != nil {
				fail(step, "failed", err)
				return
			}
			o.layers = lc
			step.finish("done")
			mu.Lock()
			defer mu.Unlock()
			outcomes[i] = o
		}()
	}
	wg.Wait()
	progress.wait()
	return outcomes, errs.ErrorOrNil()
}

// measurePlatform measures the UDP paths and code sizes, and takes the
// TCP flow's costs and sizes from tcp (closed empty if it failed).
func measurePlatform(ctx context.Context, env *repro.Platform, sizes []int, step *platformStep,
	tcp <-chan *repro.TCPLoop) (*platformOutcome, error) {
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
	o := &platformOutcome{p: env.P, env: env, costs: m.Costs(env.P.Name, env.P.IcountShift), sizes: cs}
	if loop := <-tcp; loop != nil {
		tcpSizes, err := env.MeasureTCPSizes(ctx, loop)
		if err != nil {
			return nil, err
		}
		cs.Rows = append(cs.Rows, tcpSizes...)
		o.tcp = loop.PathCosts(env.P.Name, env.P.IcountShift)
	}
	return o, nil
}

// preparedRemote is the overhead boots' specialization server, prepared
// in the background.
type preparedRemote struct {
	done   chan struct{}
	remote *repro.Remote
	err    error
	cache  string
}

// startRemote starts preparing a server for the kernels (nil entries are
// platforms that failed): with a fresh module cache of its own (figure
// 4(c): each platform's first request is cold), or with the specbed
// cache's (the streams, which time the sends, not the fetch).
func startRemote(ctx context.Context, b *images.Builder, kernels []*images.Kernel, fresh bool) *preparedRemote {
	r := &preparedRemote{done: make(chan struct{})}
	var ks []*images.Kernel
	for _, k := range kernels {
		if k != nil {
			ks = append(ks, k)
		}
	}
	go func() {
		defer close(r.done)
		if len(ks) == 0 {
			r.err = fmt.Errorf("overhead: no kernel booted")
			return
		}
		var dir string
		if fresh {
			r.cache, r.err = os.MkdirTemp("", "specbed-overhead-")
			dir = r.cache
		}
		if r.err == nil {
			r.remote, r.err = repro.NewRemote(ctx, b.Repo, ks, dir)
		}
	}()
	return r
}

// wait returns the prepared server.
func (r *preparedRemote) wait() (*repro.Remote, error) {
	<-r.done
	return r.remote, r.err
}

func (r *preparedRemote) close() {
	<-r.done
	if r.cache != "" {
		os.RemoveAll(r.cache)
	}
}

// networkResults are the network-mode figures' measurements.
type networkResults struct {
	overhead []results.PhaseTime
	udp, tcp []results.StreamRate
	// udpRecv are the UDP streams' receiver sides.
	udpRecv []results.StreamRate
}

// networkJob is one independent network-mode measurement of a platform:
// a boot or two on a topology of their own.
type networkJob struct {
	name string
	o    *platformOutcome
	run  func(ctx context.Context, e *repro.Platform, out *networkResults) (status string, err error)
}

// measureNetwork runs the network-mode measurements of every measured
// platform: figure 4(c)'s overhead boot on each, and on those with a data
// NIC the UDP and the TCP streams. Each job boots on a topology of its
// own, so they run side by side, as many at once as the host has CPUs:
// each guest's figures are on its own clock (instruction-paced while it
// sends), and the server's phases are host time, which a loaded host
// stretches (figure 4(c)'s caption says so). Results keep the jobs'
// order whatever order they end in.
func measureNetwork(ctx context.Context, overheadRemote, streamRemote *preparedRemote, outcomes []*platformOutcome, sizes []int,
	udpConf, tcpConf repro.Confidence, errOut io.Writer) (networkResults, error) {
	var jobs []networkJob
	// The x86 guests' streams first: they send for longest.
	for _, o := range outcomes {
		if o == nil || o.p.Link != qemu.LinkEthernet {
			continue
		}
		jobs = append(jobs, networkJob{name: o.p.Name + " tcp", o: o, run: func(ctx context.Context, e *repro.Platform, out *networkResults) (string, error) {
			r, err := streamRemote.wait()
			if err != nil {
				return "", err
			}
			run, err := e.MeasureTCPStream(ctx, r, tcpConf)
			if err != nil {
				return "", err
			}
			out.tcp = run.Rates(e.P.Name)
			return fmt.Sprintf("done: %d bytes in order at the checker, the residual made %d of the token's %d sends",
				run.Checked, run.Specialized, run.Token), nil
		}})
		// A job per size: each is a boot of its own.
		for _, size := range sizes {
			jobs = append(jobs, networkJob{name: fmt.Sprintf("%s udp %d B", o.p.Name, size), o: o, run: func(ctx context.Context, e *repro.Platform, out *networkResults) (string, error) {
				r, err := streamRemote.wait()
				if err != nil {
					return "", err
				}
				over, err := overheadRemote.wait()
				if err != nil {
					return "", err
				}
				run, err := e.MeasureStream(ctx, r, over, []int{size}, udpConf)
				if err != nil {
					return "", err
				}
				out.udp, out.udpRecv, out.overhead = run.Rates(e.P.Name), run.ReceiverRates(e.P.Name), run.Overhead
				worst, after := run.RoundTails()
				return fmt.Sprintf("done: the sink counted %d of the %d datagrams sent (data link drops %d, sink receive buffer "+
					"drops %d; at most %d lost in one round; %d arrived after their round's result line)",
					run.Delivered, run.Sent, run.LinkDrops, run.SinkDrops, worst, after), nil
			}})
		}
	}
	// The x86 guests' UDP stream boot at SizeFlow measures the overhead
	// too: the others get a boot for it.
	for _, o := range outcomes {
		if o == nil || o.p.Link == qemu.LinkEthernet {
			continue
		}
		jobs = append(jobs, networkJob{name: o.p.Name + " overhead", o: o, run: func(ctx context.Context, e *repro.Platform, out *networkResults) (string, error) {
			r, err := overheadRemote.wait()
			if err != nil {
				return "", err
			}
			ph, err := e.MeasureOverhead(ctx, r)
			out.overhead = ph
			return "done", err
		}})
	}
	progress := newStepProgress(ctx, errOut)
	defer progress.wait()
	var (
		mu   sync.Mutex
		errs *multierror.Error
		wg   sync.WaitGroup
		outs = make([]networkResults, len(jobs))
		next = make(chan int)
	)
	for range min(runtime.NumCPU(), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				job := jobs[i]
				step := progress.add(job.name)
				// A copy: jobs of one platform run at once, each with
				// its own progress line.
				e := *job.o.env
				e.Step = step.set
				start := time.Now()
				status, err := job.run(ctx, &e, &outs[i])
				status += fmt.Sprintf(" (%.0f s)", time.Since(start).Seconds())
				if err != nil {
					step.finish("failed" + status)
					printExcerpt(errOut, err)
					mu.Lock()
					errs = multierror.Append(errs, err)
					mu.Unlock()
					continue
				}
				step.finish(status)
			}
		}()
	}
	for _, i := range dispatchOrder(jobs) {
		next <- i
	}
	close(next)
	wg.Wait()
	var all networkResults
	for _, o := range outs {
		all.overhead = append(all.overhead, o.overhead...)
		all.udp = append(all.udp, o.udp...)
		all.udpRecv = append(all.udpRecv, o.udpRecv...)
		all.tcp = append(all.tcp, o.tcp...)
	}
	return all, errs.ErrorOrNil()
}

// dispatchOrder is the order the jobs start in: the guests with the
// lowest icount shift first, whose virtual time costs the most host time
// (the p3's e1000 probe spins in delay loops for seconds of it), so that
// the shortest jobs fill in at the end; otherwise the jobs' own order.
func dispatchOrder(jobs []networkJob) []int {
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(jobs[a].o.p.IcountShift, jobs[b].o.p.IcountShift)
	})
	return order
}

// warnConfidence says, loudly, which means did not meet netperf's rule.
func warnConfidence(w io.Writer, rates []results.StreamRate, conf repro.Confidence) {
	for _, r := range rates {
		if !r.Met {
			fmt.Fprintf(w, "WARNING: %s %s %d B %s, %s: the %g%% confidence interval of the mean is %.1f%% wide after %d "+
				"iterations; netperf's rule asks at most %g%% (the mean is reported, the rule is not met)\n",
				r.Platform, r.Protocol, r.SizeBytes, r.Path, r.Side(), 100*conf.Level, 100*r.IntervalWidth, r.Iterations, 100*conf.Width)
		}
	}
}

// unmet lists the rates that missed the rule, for a caption.
func unmet(rates []results.StreamRate) string {
	var out []string
	for _, r := range rates {
		if !r.Met {
			side := ""
			if r.Receiver {
				side = " receiver"
			}
			out = append(out, fmt.Sprintf("%s %d B %s%s (%.1f%% after %d)", r.Platform, r.SizeBytes, r.Path, side,
				100*r.IntervalWidth, r.Iterations))
		}
	}
	if len(out) == 0 {
		return " Every mean met the rule."
	}
	return " NOT MET by: " + strings.Join(out, ", ") + "."
}

// streamCaption says how figure 5's UDP stream over a NIC is measured.
func streamCaption(conf repro.Confidence) string {
	return fmt.Sprintf("netperf's UDP_STREAM, sender side: per size, a network-mode boot on vnet's default topology "+
		"collects the flow's context, fetches its residual from the specialization server over the specialization link, "+
		"loads it and sends the flow through the kernel's sendto() and the residual (the customized_send system call) "+
		"in turn, from the guest's data NIC "+
		"(i486: NE2000, p3: e1000) over the 1 Gbit/s data link to the sink, each round %d timed sends after %d "+
		"warm-up sends; throughput is payload bits per second of the guest's clock, which runs at 2^shift ns per "+
		"instruction while the guest sends. Rounds go on, %d to %d, until the %g%% confidence interval of the mean "+
		"is at most %g%% wide (netperf -I %g,%g); figure %s gives each interval, figure %s the receiver beside the "+
		"sender. The SA-1110's only link is a slow SLIP line: its UDP figure is sender-side onto dummy0 (figure %s).",
		repro.StreamCount, repro.StreamWarmup, conf.Min, conf.Max, 100*conf.Level, 100*conf.Width,
		100*conf.Level, 100*conf.Width, results.FigUDPNICInterval, results.FigUDPNICRecv, results.FigUDPRate)
}

// receiverCaption says how figure 5's UDP stream is measured on both
// sides and what each side's clock is.
func receiverCaption(conf repro.Confidence) string {
	return fmt.Sprintf("netperf's UDP_STREAM, sender and receiver reported apart, network mode: the boots of figure %s "+
		"(x86 guests' data NIC, 1 Gbit/s data link to the sink), each round of %d timed sends after %d warm-up sends "+
		"with a payload of its own (the agent's seed), so that the sink tells the rounds apart. Sender: payload bits "+
		"per second of the guest's clock over the timed sends; that clock runs 2^shift ns per instruction while the "+
		"guest sends (icount), not host time. Receiver: per round, the payload of the datagrams the sink counted after "+
		"the round's first one, over the host time from that first arrival to its last (the receive window; warm-up "+
		"datagrams included), so it follows how fast QEMU runs the guest on this host, which a loaded host slows. A "+
		"round is closed once the guest's links have delivered or dropped every frame and the sink has received "+
		"nothing for %d ms; datagrams still queued when the round's result line reached the host count for their "+
		"round. Each side's mean goes through netperf's rule (%d to %d rounds, %g%% interval at most %g%% wide) on its "+
		"own; figure %s gives the receiver's intervals, %s the datagrams lost. The SA-1110's only link is a slow SLIP "+
		"line: its UDP figure is sender-side onto dummy0 (figure %s), with no receiver.",
		results.FigUDPNIC, repro.StreamCount, repro.StreamWarmup, repro.SinkQuiet.Milliseconds(), conf.Min, conf.Max,
		100*conf.Level, 100*conf.Width, results.FigUDPNICRecvInterval, results.FigUDPNICRecvLoss, results.FigUDPRate)
}

// tcpStreamCaption says how figure 5(d,e)'s TCP stream is measured.
func tcpStreamCaption(conf repro.Confidence) string {
	return fmt.Sprintf("netperf's TCP_STREAM, sender side: a network-mode boot on vnet's default topology connects "+
		"from the guest's data NIC (i486: NE2000, p3: e1000) over the 1 Gbit/s data link to a stream checker on the sink "+
		"host (receive window fixed at %d KB), collects the connection's context (MSS %d bytes, SO_SNDBUF %d KB, "+
		"records of %d bytes = 2 MSS, after %d KB of warm-up), fetches the residual of tcp.decl for it from the "+
		"specialization server, loads it (its context digest checked) and sends through the kernel's "+
		"send() on the connection, the core module's generic path and the residual (customized_send) in turn, each "+
		"round %d timed sends after %d warm-up sends; the checker gets every byte in order and the residual makes at "+
		"least 99%% of the token's sends. Throughput is payload bits per second of the guest's clock (instruction-paced "+
		"while it sends, host time while it waits for ACKs). Rounds go on, %d to %d (what the x86 command line holds), "+
		"until the %g%% confidence interval of the mean is at most %g%% wide (netperf -I %g,%g, the paper's +-2.5%%); "+
		"figure %s gives each interval. The SA-1110 is missing: its only link, a 230400 bit/s SLIP line, bounds a "+
		"stream long before the sender's CPU does (every path would measure the line), and the x86 guests' rounds "+
		"would take minutes of host time per path over it.",
		vnet.StreamCheckRcvBuf>>10, repro.TCPMSS, repro.TCPSndBuf>>10, repro.TCPADU, repro.TCPWarmup>>10,
		repro.TCPStreamCount, repro.TCPStreamWarmup, conf.Min, conf.Max, 100*conf.Level, 100*conf.Width,
		100*conf.Level, 100*conf.Width, results.FigTCPNICInterval)
}

// overheadCaption says where figure 4(c)'s phases come from.
const overheadCaption = "One network-mode boot per platform on vnet's default topology (the 10 Mbit/s, 2 ms specialization " +
	"link; the SA-1110's 230400 bit/s SLIP line through a router) asks the resident server (fresh module cache) for the " +
	"module of a 1 KB UDP flow twice: cold (specialize, compile, sign) and cached. collect context (SPECNET_CUSTOMIZE), " +
	"download (response header to the module's last byte) and load (finit_module) are the guest's clock (virtual ns, " +
	"which follow host time only while the guest idles: a response the NIC hands over in one burst shows a short " +
	"download); upload (receiving the request), analysis, specialization, " +
	"compile and sign are the server's (host wall time, on a host that runs other platforms' network-mode guests at the " +
	"same time). The cached fetch reuses the cold fetch's context and load: one module. On the x86 guests these steps " +
	"open the UDP stream boot at 1 KB of figure " + results.FigUDPNIC + ", which then sends through the module."

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
	net networkResults, udpConf, tcpConf repro.Confidence) (*results.Bundle, error) {
	b := &results.Bundle{Run: run}
	var (
		costs  []results.PathCost
		tcp    []results.PathCost
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
		tcp = append(tcp, o.tcp...)
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
	if len(net.udp) > 0 {
		nic, err := results.UDPNICFigures(net.udp, udpConf.Width, streamCaption(udpConf)+unmet(net.udp))
		if err != nil {
			return nil, err
		}
		b.Figures = append(b.Figures, nic...)
	} else {
		b.Missing = append(b.Missing, results.Missing{PaperFigure: "5(a,b,c) over a NIC", Why: "no platform with a data NIC was measured (or its stream boots failed: see the run's errors)"})
	}
	if len(net.tcp) > 0 {
		nic, err := results.TCPNICFigures(net.tcp, tcpConf.Width, tcpStreamCaption(tcpConf)+unmet(net.tcp))
		if err != nil {
			return nil, err
		}
		b.Figures = append(b.Figures, nic...)
	} else {
		b.Missing = append(b.Missing, results.Missing{PaperFigure: "5(d,e)", Why: "no platform with a data NIC was measured (or its TCP stream boots failed: see the run's errors)"})
	}
	if len(tcp) > 0 {
		count, err := results.TCPCountFigures(tcp, repro.TCPLoopFlow())
		if err != nil {
			return nil, err
		}
		b.Figures = append(b.Figures, count...)
	} else {
		b.Missing = append(b.Missing, results.Missing{PaperFigure: "5(d,e) in count mode", Why: "the TCP flow over loopback failed on every platform (see the run's errors)"})
	}
	b.Missing = append(b.Missing, results.Missing{PaperFigure: "5(d,e) over a NIC, SA-1110",
		Why: "its only link is a 230400 bit/s SLIP line, which bounds a TCP stream long before the sender's CPU (every path would measure the line, about 0.2 Mbit/s); TCP over it works (images/specnet/tcpsend), but the x86 guests' rounds would take minutes of host time per path. Figure " +
			results.FigTCPCountGain + " (count mode over loopback) stands in for it"})
	if len(net.overhead) > 0 {
		b.Figures = append(b.Figures, results.OverheadFigure(net.overhead, overheadCaption), results.OverheadBytesFigure(net.overhead))
	} else {
		b.Missing = append(b.Missing, results.Missing{PaperFigure: "4(c)", Why: "the overhead boots failed (see the run's errors)"})
	}
	if len(net.udpRecv) > 0 {
		recv, err := results.UDPReceiverFigures(net.udp, net.udpRecv, udpConf.Width, receiverCaption(udpConf)+unmet(net.udpRecv))
		if err != nil {
			return nil, err
		}
		b.Figures = append(b.Figures, recv...)
	} else {
		b.Missing = append(b.Missing, results.Missing{PaperFigure: "5(a,b,c) over a NIC, receiver side", Why: "no platform with a data NIC was measured (or its stream boots failed: see the run's errors)"})
	}
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

// phaseLog times reproduce's phases (host wall time) and prints each as
// it ends, and all of them at the end: where a run's time goes.
type phaseLog struct {
	w     io.Writer
	start time.Time
	last  time.Time
	lines []string
}

func newPhaseLog(w io.Writer) *phaseLog {
	now := time.Now()
	return &phaseLog{w: w, start: now, last: now}
}

// done ends the phase that began when the previous one ended.
func (l *phaseLog) done(name string) {
	now := time.Now()
	line := fmt.Sprintf("%-50s %6.1f s", name, now.Sub(l.last).Seconds())
	l.last = now
	l.lines = append(l.lines, line)
	fmt.Fprintf(l.w, "phase: %s\n", line)
}

func (l *phaseLog) summary() {
	fmt.Fprintln(l.w, "phases (host wall time):")
	for _, line := range l.lines {
		fmt.Fprintf(l.w, "  %s\n", line)
	}
	fmt.Fprintf(l.w, "  %-50s %6.1f s\n", "total", time.Since(l.start).Seconds())
}
