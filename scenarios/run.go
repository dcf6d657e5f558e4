package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"specbed/images"
	"specbed/images/specnet/core"
	"specbed/images/specnet/paths"
	"specbed/qemu"
	"specbed/results"
	"specbed/specializer/server"
)

// bootTimeout bounds one guest run (host wall time): a boot, module
// loads and a few thousand sends take seconds under TCG, more on a
// loaded host.
const bootTimeout = 5 * time.Minute

// networkSilence is how long a network-mode guest may print nothing
// (host time).
const networkSilence = 3 * time.Minute

// Status is a scenario run's verdict on one platform.
type Status string

const (
	// Passed: every expectation held (a negative control: one failed).
	Passed Status = "pass"
	// Failed: an expectation did not hold (a negative control: all held).
	Failed Status = "fail"
	// Errored: the scenario could not run (a boot failure, a crash).
	Errored Status = "error"
	// NotRunnable: the scenario is valid but asks for something the
	// runner cannot do yet (the message says what and why).
	NotRunnable Status = "not-runnable"
)

// Outcome is one scenario on one platform.
type Outcome struct {
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	Platform string `json:"platform"`
	Status   Status `json:"status"`
	// ExpectFailure is the negative control's reason ("" otherwise).
	ExpectFailure string `json:"expect_failure,omitempty"`
	// Message says why the status is what it is.
	Message string        `json:"message"`
	Flows   []*FlowResult `json:"flows,omitempty"`
	Checks  []CheckResult `json:"checks,omitempty"`
	// Seconds is the host wall time of the run.
	Seconds float64 `json:"seconds"`
	// platform is the guest's parameters for the bundle (nil when the
	// run did not get as far as a kernel).
	platform *results.Platform
}

// Runner runs scenarios on the guests. Each scenario leaves a results
// bundle in <OutDir>/<scenario>/ (bundle.json, the cost-per-send figure,
// report.html) and per platform <OutDir>/<scenario>/<platform>/
// (outcome.json with the checks, the consoles).
type Runner struct {
	Builder *images.Builder
	// OutDir receives the bundles.
	OutDir string
	// Platforms, when set, limits every scenario to these platforms.
	Platforms []string
	// Log receives one line per boot; nil discards.
	Log io.Writer
	// Parallel is how many scenarios run at once (at least 1).
	Parallel int
	// Meta describes the run in each scenario's bundle (results.NewRun).
	Meta results.Run
	// Started and Finished, when set, are called as a job starts and
	// with its outcomes (all its platforms) when it ends: progress.
	Started  func(Job)
	Finished func(Job, []Outcome)

	logMu sync.Mutex
}

// A Job is one scenario file to run.
type Job struct {
	File     string
	Scenario *Scenario
	// Platforms, when set, narrows the scenario's platforms for this run
	// (make test runs slow scenarios on one).
	Platforms []string
}

// Run runs every job, Parallel at a time (scenarios are independent:
// each boots its own guests), and returns the outcomes in job order,
// platform by platform.
func (r *Runner) Run(ctx context.Context, jobs []Job) []Outcome {
	results := make([][]Outcome, len(jobs))
	sem := make(chan struct{}, max(r.Parallel, 1))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if r.Started != nil {
				r.Started(j)
			}
			results[i] = r.runScenario(ctx, j)
			if r.Finished != nil {
				r.Finished(j, results[i])
			}
		}()
	}
	wg.Wait()
	var out []Outcome
	for _, o := range results {
		out = append(out, o...)
	}
	return out
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log == nil {
		return
	}
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.Log, format+"\n", args...)
}

// platforms are the scenario's platforms that the runner's and the
// job's limits keep.
func (r *Runner) platforms(j Job) []string {
	var out []string
	for _, p := range j.Scenario.Platforms {
		if (len(r.Platforms) == 0 || slices.Contains(r.Platforms, p)) && (len(j.Platforms) == 0 || slices.Contains(j.Platforms, p)) {
			out = append(out, p)
		}
	}
	return out
}

func (r *Runner) runScenario(ctx context.Context, j Job) []Outcome {
	var out []Outcome
	for _, name := range r.platforms(j) {
		start := time.Now()
		o := Outcome{Scenario: j.Scenario.Name, File: j.File, Platform: name, ExpectFailure: j.Scenario.ExpectFailure}
		dir := filepath.Join(r.bundleDir(j.Scenario), name)
		flows, platform, err := r.runPlatform(ctx, j.Scenario, name, dir)
		o.Flows, o.platform = flows, platform
		// A run that broke off has no outcome to check: its flows stay
		// in the bundle for the record.
		for _, f := range flows {
			if err == nil {
				o.Checks = append(o.Checks, evaluate(j.Scenario, f)...)
			}
		}
		o.verdict(err)
		o.Seconds = time.Since(start).Seconds()
		if err := writeBundle(dir, &o); err != nil {
			o.Status, o.Message = Errored, err.Error()
		}
		r.logf("%s on %s: %s (%.0f s)", o.Scenario, o.Platform, o.Status, o.Seconds)
		out = append(out, o)
	}
	if err := writeScenarioBundle(r.bundleDir(j.Scenario), r.Meta, j.Scenario, out); err != nil {
		for i := range out {
			out[i].Status, out[i].Message = Errored, err.Error()
		}
	}
	return out
}

// verdict sets the status and message from the run's error and checks.
func (o *Outcome) verdict(err error) {
	var nr *NotRunnableError
	switch {
	case errors.As(err, &nr):
		o.Status, o.Message = NotRunnable, err.Error()
		return
	case err != nil:
		o.Status, o.Message = Errored, err.Error()
		return
	}
	var failed []string
	for _, c := range o.Checks {
		if !c.Pass {
			failed = append(failed, c.String())
		}
	}
	switch {
	case o.ExpectFailure == "" && len(failed) == 0:
		o.Status, o.Message = Passed, fmt.Sprintf("%d checks held", len(o.Checks))
	case o.ExpectFailure == "":
		o.Status, o.Message = Failed, strings.Join(failed, "\n")
	case len(failed) > 0:
		o.Status = Passed
		o.Message = fmt.Sprintf("failed as expected (%s): %s", o.ExpectFailure, strings.Join(failed, "\n"))
	default:
		o.Status = Failed
		o.Message = fmt.Sprintf("negative control held every expectation; it must fail because %s", o.ExpectFailure)
	}
}

func writeBundle(dir string, o *Outcome) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("scenario bundle: %w", err)
	}
	data, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return fmt.Errorf("scenario bundle: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "outcome.json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("scenario bundle: %w", err)
	}
	return nil
}

// platformRun is what the boots of one scenario on one platform share.
type platformRun struct {
	r        *Runner
	s        *Scenario
	p        *qemu.Platform
	k        *images.Kernel
	corePath string
	dir      string
	// srv is the specialization server the guest fetches from (remote
	// mode; nil otherwise).
	srv *server.Server
}

// runPlatform runs every flow of s on the named platform: in count mode
// a context boot when the flow is specialized locally, then one
// measurement boot per size. Kernels come from the cache only: a
// scenario never starts a kernel build.
func (r *Runner) runPlatform(ctx context.Context, s *Scenario, name, dir string) ([]*FlowResult, *results.Platform, error) {
	if err := runnable(s); err != nil {
		return nil, nil, err
	}
	p, err := qemu.Lookup(name)
	if err != nil {
		return nil, nil, err
	}
	k, err := r.Builder.CachedKernel(ctx, p)
	if err != nil {
		return nil, nil, fmt.Errorf("%s kernel (build it with `specbed images build`): %w", name, err)
	}
	version, err := results.QEMUVersion(ctx, p.Binary)
	if err != nil {
		return nil, nil, err
	}
	mode := qemu.CountMode
	if s.Clock == ClockNetwork {
		mode = qemu.NetworkMode
	}
	platform := &results.Platform{
		Name: p.Name, Machine: p.Machine, CPU: p.CPU, MemoryMiB: p.MemoryMiB,
		ClockMode: mode.Name, IcountShift: p.IcountShift, QEMU: p.Binary, QEMUVersion: version,
		KernelRelease: k.Release, KernelKey: k.Key, KernelConfigSHA256: k.ConfigHash,
	}
	corePath, err := core.Build(ctx, r.Builder, k)
	if err != nil {
		return nil, platform, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, platform, fmt.Errorf("scenario bundle: %w", err)
	}
	pr := &platformRun{r: r, s: s, p: p, k: k, corePath: corePath, dir: dir}
	down := serverUnavailable(s)
	if s.Specialization.Mode == ModeRemote && !down {
		if pr.srv, err = pr.newServer(ctx); err != nil {
			return nil, platform, err
		}
	}
	residuals := map[int]*flowResiduals{}
	// A fetched residual needs no context boot: the measurement boot
	// collects the context it sends to the server.
	if s.Specialization.Mode == ModeLocal {
		if residuals, err = pr.specializeLocally(ctx); err != nil {
			return nil, platform, err
		}
	}
	var flows []*FlowResult
	for _, size := range s.Workload.SizesBytes {
		f, err := pr.flow(ctx, size, residuals[size])
		if f != nil {
			flows = append(flows, f)
		}
		if err != nil {
			return flows, platform, fmt.Errorf("%d-byte flow: %w", size, err)
		}
	}
	return flows, platform, nil
}

// newServer starts a specialization server for the platform's kernel
// with a cache of its own (removed when ctx ends), so that its modules
// are built from the contexts of this run.
func (pr *platformRun) newServer(ctx context.Context) (*server.Server, error) {
	cache, err := os.MkdirTemp("", "specbed-scenario-server-")
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { os.RemoveAll(cache) })
	srv, err := server.New(server.Config{Kernels: []*images.Kernel{pr.k}, Decls: server.DefaultDecls(pr.r.Builder.Repo), CacheDir: cache})
	if err != nil {
		return nil, err
	}
	if err := srv.Prepare(ctx); err != nil {
		return nil, fmt.Errorf("specialization server: %w", err)
	}
	return srv, nil
}

// specializeLocally collects each size's context in one boot and
// specializes them on the host (no network: "local" in the paper's
// sense, the compiler running beside the guest).
//
// A scenario that respecializes after a route change also gets each
// flow's residual for the new route: the context boot moves the route
// and collects the contexts again.
func (pr *platformRun) specializeLocally(ctx context.Context) (map[int]*flowResiduals, error) {
	sizes := pr.s.Workload.SizesBytes
	plan := []string{qemu.InsmodStep{Path: coreGuestPath}.String()}
	customizeAll := func() {
		for _, size := range sizes {
			open := pr.open(size)
			plan = append(plan, open[len(open)-1].String())
		}
	}
	for _, st := range pr.open(sizes[0]) {
		plan = append(plan, st.String()) // the links, the first flow
	}
	plan = plan[:len(plan)-1]
	customizeAll()
	routes := 1
	if respecializes(pr.s) {
		plan = append(plan, movedRoute.String())
		customizeAll()
		routes = 2
	}
	b, err := pr.boot(ctx, "context", nil, &flowPlan{steps: roleless(plan)})
	if err != nil {
		return nil, fmt.Errorf("context boot: %w", err)
	}
	res := b.res
	// The compile driver's recipes are a build by-product, not a result.
	recipes, err := os.MkdirTemp("", "specbed-scenario-recipes-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(recipes)
	spec, err := paths.NewSpecializer(pr.r.Builder.Repo, pr.k, pr.p, recipes)
	if err != nil {
		return nil, err
	}
	build := spec.Residual
	if isTCP(pr.s) {
		ts, err := newTCPSpecializer(pr, recipes)
		if err != nil {
			return nil, err
		}
		build = ts.residual
	}
	var contexts [][]byte
	for _, st := range res.Steps {
		if st.Customize != nil {
			contexts = append(contexts, st.Customize.Context)
		}
	}
	if len(contexts) != routes*len(sizes) {
		return nil, fmt.Errorf("context boot: %d contexts for %d sizes on %d routes", len(contexts), len(sizes), routes)
	}
	out := map[int]*flowResiduals{}
	for i, size := range sizes {
		rs := &flowResiduals{}
		if rs.first, err = build(ctx, contexts[i]); err != nil {
			return nil, fmt.Errorf("%d-byte flow: %w", size, err)
		}
		if routes == 2 {
			if rs.second, err = build(ctx, contexts[len(sizes)+i]); err != nil {
				return nil, fmt.Errorf("%d-byte flow on the new route: %w", size, err)
			}
		}
		out[size] = rs
	}
	return out, nil
}

// flowResiduals are a flow's residuals: first for its route at the
// start, second (respecialize) for the route after route-change.
type flowResiduals struct{ first, second *paths.Residual }

// names are the residuals' module names ("" for none).
func (rs *flowResiduals) names() residualNames {
	var n residualNames
	if rs != nil && rs.first != nil {
		n.first = rs.first.Name
	}
	if rs != nil && rs.second != nil {
		n.second = rs.second.Name
	}
	return n
}

// open brings up the guest's interfaces and opens the flow of one size:
// on dummy0 with the count clock, to the sink with the network clock.
func (pr *platformRun) open(size int) []fmt.Stringer {
	adu := pr.s.Workload.ADU(size)
	switch {
	case isTCP(pr.s):
		return tcpOpen(pr.p, adu)
	case overRouters(pr.s):
		return routerOpen(adu)
	case pr.s.Clock == ClockNetwork:
		return netOpen(pr.p, adu)
	case routes(pr.s):
		return routedSteps(adu)
	}
	return contextSteps(adu)
}

// flow runs one size's measurement boot and reads it.
func (pr *platformRun) flow(ctx context.Context, size int, residuals *flowResiduals) (*FlowResult, error) {
	names := residuals.names()
	open := pr.open(size)
	if pr.s.Specialization.Mode == ModeRemote {
		open = fetchOpen(pr.p, pr.k, pr.s.Workload.ADU(size))
		names.fetched = true
	}
	plan := flowSteps(pr.s, size, names, open)
	if serverUnavailable(pr.s) {
		plan = unavailablePlan(pr.s, size, open[:len(open)-1]) // no module to load
	}
	b, err := pr.boot(ctx, fmt.Sprint(size), residuals, plan)
	var crash *qemu.CrashError
	if oopses(pr.s) && errors.As(err, &crash) {
		// The oops the scenario provoked: the monitor killed the guest;
		// the checks read its console (kernel-log-clean fails).
		return &FlowResult{SizeBytes: size, KernelLogProblems: kernelLogProblems(b.console),
			Crash: err.Error(), CrashReport: crash.Report}, nil
	}
	var agentErr *qemu.AgentError
	if err != nil && !(errors.As(err, &agentErr) && b.res != nil) {
		return nil, err
	}
	if plan.ctlFrom > 0 && err != nil && !onlyFetchFailed(agentErr, plan) {
		return nil, err
	}
	f, readErr := readFlow(pr.s, size, plan, b.res, b.console)
	f.Delivered = b.delivered
	f.ArrivalsAtEvent, f.ArrivalsAtEnd = b.atEvent, b.atEnd
	f.DeliveredBytes = b.deliveredBytes
	f.WorkloadHostNS = b.workloadHost.Nanoseconds()
	if isTCP(pr.s) {
		f.WindowWarmupBytes = tcpWarmupBytes(pr.p, pr.s.Workload.ADU(size))
		f.StreamFirstBad = &b.streamFirstBad
	}
	if readErr != nil {
		// The plan stopped at a failing step: the agent's error says why.
		return f, errors.Join(readErr, err)
	}
	return f, nil
}

// bootResult is what one boot left.
type bootResult struct {
	res     *qemu.Result
	console string
	// delivered is the datagrams the sink got from the guest (network
	// clock only).
	delivered *int64
	// atEvent and atEnd are where the flow's datagrams had arrived when
	// each timeline event happened and at the end (arrive-at checks).
	atEvent map[int]Arrivals
	atEnd   Arrivals
	// deliveredBytes is the payload the sink got from the flow (bytes):
	// UDP datagrams' payload, or a TCP stream's bytes in order;
	// streamFirstBad the stream's first bad byte (-1: none).
	deliveredBytes *int64
	streamFirstBad int64
	// workloadHost is the host time of the workload's send steps (plans
	// over the control channel only).
	workloadHost time.Duration
}

// boot runs plan with the core (and the residuals rs) in the initramfs, in the
// scenario's clock mode (network: on the scenario's topology with a
// sink), keeping the console in the bundle as console-<tag>.log.
func (pr *platformRun) boot(ctx context.Context, tag string, rs *flowResiduals, fp *flowPlan) (out bootResult, err error) {
	plan := fp.Steps()
	files := []images.File{{Path: coreGuestPath, Source: pr.corePath}}
	if rs != nil && rs.first != nil {
		files = append(files, images.File{Path: residualGuestPath, Data: rs.first.Module.Ko})
	}
	if rs != nil && rs.second != nil {
		files = append(files, images.File{Path: secondResidualGuestPath, Data: rs.second.Module.Ko})
	}
	if oopses(pr.s) {
		ko, err := pr.r.Builder.Module(ctx, pr.k, filepath.Join(pr.r.Builder.Repo, "images", "modules", "oops"))
		if err != nil {
			return out, fmt.Errorf("oops module: %w", err)
		}
		files = append(files, images.File{Path: oopsGuestPath, Source: ko})
	}
	initrd, err := pr.r.Builder.Initramfs(ctx, pr.p, files)
	if err != nil {
		return out, err
	}
	runRoot := filepath.Join(pr.dir, "run")
	if err := os.MkdirAll(runRoot, 0o755); err != nil {
		return out, fmt.Errorf("scenario bundle: %w", err)
	}
	var console qemu.ConsoleCopy
	boot := qemu.Boot{Kernel: pr.k.Image, Initrd: initrd}
	if routes(pr.s) {
		boot.Params = []string{twoDummies}
	}
	cfg := qemu.Config{
		Platform:  pr.p,
		Mode:      qemu.CountMode,
		Boot:      boot,
		Plan:      plan,
		SystemMap: pr.k.SystemMap,
		RunRoot:   runRoot,
		Timeout:   bootTimeout,
		Echo:      &console,
	}
	var net *guestNetwork
	if pr.s.Clock == ClockNetwork {
		cfg.Mode = qemu.NetworkMode
		// The p3's e1000 probe stays silent past the default 30 s on a
		// loaded host.
		cfg.SilenceTimeout = networkSilence
		var ends []*os.File
		if net, ends, err = startNetwork(ctx, pr.s, pr.p, &cfg, pr.srv); err != nil {
			return out, err
		}
		defer func() {
			if cerr := net.close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
		defer func() {
			for _, f := range ends {
				f.Close() // QEMU holds its own copies
			}
		}()
	}
	in, err := qemu.Start(ctx, cfg)
	if err != nil {
		return out, fmt.Errorf("%s boot %s: %w", pr.p.Name, tag, err)
	}
	pr.r.logf("%s on %s: boot %s (%s clock, %d steps)", pr.s.Name, pr.p.Name, tag, cfg.Mode.Name, len(plan))
	if fp.ctlFrom > 0 {
		act := func(event int) error { return net.hostAct(ctx, pr.s, event) }
		drain := func() {
			if net.stream != nil {
				net.stream.Wait(fp.streamBytes, tcpDrain(pr.p, fp.streamBytes))
			}
		}
		if out.workloadHost, err = controlSession(ctx, in, &console, fp, act, drain); err != nil {
			in.Close()
			in.Wait()
			return out, fmt.Errorf("%s boot %s: %w", pr.p.Name, tag, err)
		}
	}
	out.res, err = in.Wait()
	out.console = console.String()
	if net != nil {
		d := net.delivered()
		out.delivered = &d
		if countsArrivals(pr.s) {
			out.atEvent, out.atEnd = net.atEvent, net.arrivals()
		}
		out.deliveredBytes = net.deliveredBytes()
		if net.stream != nil {
			out.streamFirstBad = net.stream.FirstBad()
		}
	}
	if werr := os.WriteFile(filepath.Join(pr.dir, "console-"+tag+".log"), []byte(out.console), 0o644); werr != nil && err == nil {
		err = fmt.Errorf("scenario bundle: %w", werr)
	}
	if err != nil {
		return out, fmt.Errorf("%s boot %s: %w", pr.p.Name, tag, err)
	}
	return out, nil
}
