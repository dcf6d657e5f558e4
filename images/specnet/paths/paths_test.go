package paths

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/guesttest"
	"specbed/images/specnet/core"
	"specbed/qemu"
	"specbed/results"
)

// bootTimeout bounds one guest run (host wall time): a boot, module
// loads and 4400 sends take a few seconds under TCG.
const bootTimeout = 5 * time.Minute

// benchLine is one line of out/bench/paths.json: the cost of one path at
// one payload size on one platform.
type benchLine struct {
	Platform string `json:"platform"`
	// Kernel is the first 16 hex digits of the kernel's key.
	Kernel string `json:"kernel"`
	Mode   string `json:"mode"`
	// IcountShift: each guest instruction advanced virtual time by
	// 2^IcountShift ns.
	IcountShift int           `json:"icount_shift"`
	Size        int           `json:"size_bytes"`
	Path        qemu.SendPath `json:"path"`
	// InstructionsPerSend is guest instructions per send, the timed
	// loop's own few included (virtual ns / Count / 2^IcountShift).
	InstructionsPerSend float64 `json:"instructions_per_send"`
	// VsSendto is InstructionsPerSend over the unconnected sendto()'s at
	// the same size.
	VsSendto float64 `json:"vs_sendto"`
	// Count timed sends followed Warmup untimed ones.
	Count  int `json:"count"`
	Warmup int `json:"warmup"`
}

// platformEnv is what the boots of one platform share.
type platformEnv struct {
	*guesttest.Guest
	corePath string
}

func newPlatformEnv(t testing.TB, b *images.Builder, name string) *platformEnv {
	t.Helper()
	g := guesttest.Lookup(t, b, name)
	corePath, err := core.Build(t.Context(), b, g.K)
	if err != nil {
		t.Fatal(err)
	}
	return &platformEnv{Guest: g, corePath: corePath}
}

// boot runs plan in count mode with the core and residual r (nil: none)
// in the initramfs.
func (e *platformEnv) boot(t testing.TB, r *Residual, plan []string) *qemu.Result {
	t.Helper()
	return e.Boot(t, qemu.Config{
		Mode:    qemu.CountMode,
		Boot:    qemu.Boot{Kernel: e.K.Image, Initrd: e.Initrd(t, Files(e.corePath, r))},
		Plan:    plan,
		Timeout: bootTimeout,
	}).Result
}

// TestPaths measures the send paths at every size on every platform
// (count mode, dummy0), checks the core's counters around the sends, and
// writes out/bench/paths.json.
func TestPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("boots every platform five times; skipped only in short mode")
	}
	b := guesttest.Builder(t)
	var report []benchLine
	for _, name := range qemu.Names() {
		t.Run(name, func(t *testing.T) {
			report = append(report, measurePlatform(t, b, name)...)
		})
	}
	writeBench(t, b.Repo, report)
}

// BenchmarkPaths is TestPaths for make bench: the same boots and checks,
// the costs as metrics (instructions per send), and out/bench/paths.json.
// Count mode is deterministic, so one run per platform is the figure
// whatever b.N is.
func BenchmarkPaths(b *testing.B) {
	builder := guesttest.Builder(b)
	lines := map[string][]benchLine{}
	for _, name := range qemu.Names() {
		b.Run(name, func(b *testing.B) {
			if lines[name] == nil {
				lines[name] = measurePlatform(b, builder, name)
			}
			for _, l := range lines[name] {
				b.ReportMetric(l.InstructionsPerSend, fmt.Sprintf("insns/%s-%dB", l.Path, l.Size))
			}
		})
	}
	var report []benchLine
	for _, name := range qemu.Names() {
		report = append(report, lines[name]...)
	}
	writeBench(b, builder.Repo, report)
}

// measurePlatform runs the context boot and two measurement boots per size
// on the named platform and checks each; it returns the bench lines.
func measurePlatform(t testing.TB, b *images.Builder, name string) []benchLine {
	e := newPlatformEnv(t, b, name)
	spec, err := NewSpecializer(b.Repo, e.K, e.P, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	contexts, err := Contexts(e.boot(t, nil, ContextPlan(Sizes())), Sizes())
	if err != nil {
		t.Fatal(err)
	}
	var lines []benchLine
	for _, size := range Sizes() {
		r, err := spec.Residual(t.Context(), contexts[size])
		if err != nil {
			t.Fatalf("%d-byte flow: %v", size, err)
		}
		m, err := Check(e.boot(t, r, Plan(size, r)), size, contexts[size])
		if err != nil {
			t.Errorf("%d-byte flow (residual %s, %s): %v", size, r.Name, r.Entry, err)
		}
		sm, err := CheckSyscall(e.boot(t, r, SyscallPlan(size, r)), size, contexts[size])
		if err != nil {
			t.Errorf("%d-byte flow, customized_send boot (residual %s, %s): %v", size, r.Name, r.Entry, err)
		}
		m.Add(sm)
		lines = append(lines, benchLines(e, m)...)
		for _, c := range m.Costs {
			t.Logf("%s %4d B %-7s %8.1f instructions per send (%.2f of sendto)",
				name, size, c.Path, c.InstructionsPerSend, c.InstructionsPerSend/m.Cost(qemu.PathSendto))
		}
	}
	return lines
}

func benchLines(e *platformEnv, m *Measurement) []benchLine {
	var out []benchLine
	sendto := m.Cost(qemu.PathSendto)
	for _, c := range m.Costs {
		l := benchLine{
			Platform: e.P.Name, Kernel: e.K.Key[:16], Mode: qemu.CountMode.Name, IcountShift: e.P.IcountShift,
			Size: m.Size, Path: c.Path, InstructionsPerSend: c.InstructionsPerSend, Count: Count, Warmup: Warmup,
		}
		if sendto > 0 {
			l.VsSendto = c.InstructionsPerSend / sendto
		}
		out = append(out, l)
	}
	return out
}

func writeBench(t testing.TB, repo string, report []benchLine) {
	t.Helper()
	if len(report) == 0 {
		return
	}
	if _, err := results.WriteBench(repo, "paths.json", report); err != nil {
		t.Fatal(err)
	}
}

// TestPlanFitsCommandLine keeps every plan, with a residual name as long
// as a module name can be, within each platform's kernel command line
// (COMMAND_LINE_SIZE less its NUL: 2047 bytes on x86, 1023 on ARM).
func TestPlanFitsCommandLine(t *testing.T) {
	r := &Residual{Name: "specnet_r_" + strings.Repeat("f", 45)} // 55 bytes: MODULE_NAME_LEN - 1
	plans := [][]string{ContextPlan(Sizes())}
	for _, size := range Sizes() {
		plans = append(plans, Plan(size, r), SyscallPlan(size, r))
	}
	for _, p := range qemu.All() {
		limit := 2047
		if p.Kernel.Arch == "arm" {
			limit = 1023
		}
		for _, plan := range plans {
			// The initramfs parameter some platforms need, at its longest.
			line, err := p.Cmdline([]string{"initrd=0xffffffff,4294967295", "sbplan=" + joinPlan(plan)})
			if err != nil {
				t.Fatal(err)
			}
			if len(line) > limit {
				t.Errorf("%s: command line of %d bytes, the kernel takes %d: %s", p.Name, len(line), limit, line)
			}
		}
	}
}

func joinPlan(plan []string) string {
	var b bytes.Buffer
	for i, s := range plan {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(s)
	}
	return b.String()
}

// TestCheck runs Check on result lines as a measurement boot prints them:
// a run that passes, and edits of it that each break one promise.
func TestCheck(t *testing.T) {
	r := &Residual{Name: "specnet_r_ab"}
	ctx := []byte(`{"schema":"specbed.context/v1","values":{}}`)
	good := func(b measurementBoot) []qemu.StepResult {
		paths := b.timed
		counters := func(spec, fall, refused, tokens, refs, regs int64) qemu.StepResult {
			generic := int64(0)
			if spec > 0 { // after the timed sends: the generic paths' and each fallback
				generic = timedSends(paths, "sends_generic") + fall
			}
			return qemu.StepResult{Kind: "counters", Counters: map[string]int64{
				"tokens_live": tokens, "residuals_registered": regs, "sends_specialized": spec,
				"sends_generic": generic, "fallbacks": fall, "refused": refused, "refs_held": refs}}
		}
		failed := func(errno int) qemu.StepResult {
			return qemu.StepResult{Kind: "send", Send: &qemu.SendResult{Path: qemu.PathCustomized, Count: 1, Errors: 1, Errno: errno}}
		}
		var steps []qemu.StepResult
		if b.unowned {
			steps = append(steps, failed(errnoENOSYS))
		}
		steps = append(steps, []qemu.StepResult{
			{Kind: "insmod", Insmod: &qemu.InsmodResult{}}, {Kind: "insmod", Insmod: &qemu.InsmodResult{}},
			{Kind: "net", Net: &qemu.NetResult{}},
			{Kind: "customize", Customize: &qemu.CustomizeResult{Context: slices.Clone(ctx)}},
			{Kind: "load", Load: &qemu.LoadResult{Token: 1}}, {Kind: "load", Load: &qemu.LoadResult{Slot: 1, Token: 2}},
			counters(0, 0, 0, 2, 8, 1),
		}...)
		for i, path := range paths {
			steps = append(steps, qemu.StepResult{Kind: "send", Send: &qemu.SendResult{Path: path, Count: Count,
				InstructionsPerSend: float64(4000 - 500*i)}})
		}
		steps = append(steps,
			counters(timedSends(paths, "sends_specialized"), 0, 0, 2, 8, 1),
			qemu.StepResult{Kind: "rmmod", Rmmod: &qemu.RmmodResult{Errno: errnoEAGAIN}},
			qemu.StepResult{Kind: "send", Send: &qemu.SendResult{Path: b.wrong, Count: 1}},
			qemu.StepResult{Kind: "send", Send: &qemu.SendResult{Path: b.wrong, Count: 1, Errors: 1, Errno: errnoEINVAL}},
			counters(timedSends(paths, "sends_specialized"), 1, 1, 2, 8, 1),
			qemu.StepResult{Kind: "release", Release: &qemu.ReleaseResult{}},
			qemu.StepResult{Kind: "release", Release: &qemu.ReleaseResult{}},
			counters(timedSends(paths, "sends_specialized"), 1, 1, 0, 0, 1),
			qemu.StepResult{Kind: "rmmod", Rmmod: &qemu.RmmodResult{}},
			counters(timedSends(paths, "sends_specialized"), 1, 1, 0, 0, 0),
		)
		if b.unowned {
			steps = append(steps, failed(errnoEBADF))
		}
		return steps
	}
	if n := len(good(ioctlBoot())); n != len(Plan(64, r)) {
		t.Fatalf("test results have %d steps, the plan %d", n, len(Plan(64, r)))
	}
	if n := len(good(syscallBoot())); n != len(SyscallPlan(64, r)) {
		t.Fatalf("test results have %d steps, the customized_send plan %d", n, len(SyscallPlan(64, r)))
	}
	m, err := Check(&qemu.Result{Steps: good(ioctlBoot())}, 64, ctx)
	if err != nil {
		t.Fatalf("good run: %v", err)
	}
	if m.SpecializedSends != timedSends(qemu.SendPaths(), "sends_specialized") || m.Cost(qemu.PathSpecial) != 2500 {
		t.Errorf("measurement %+v", m)
	}
	sm, err := CheckSyscall(&qemu.Result{Steps: good(syscallBoot())}, 64, ctx)
	if err != nil {
		t.Fatalf("good customized_send run: %v", err)
	}
	if m.Add(sm); m.SpecializedSends != 2*(Count+Warmup) || m.Cost(qemu.PathCustomized) != 3500 {
		t.Errorf("measurement of both boots %+v", m)
	}
	if _, err := Check(&qemu.Result{Steps: good(syscallBoot())}, 64, ctx); err == nil {
		t.Errorf("Check passed a customized_send run")
	}
	for name, i := range map[string]int{"customized_send without its owner": 0, "customized_send without a token": -1} {
		steps := good(syscallBoot())
		if i < 0 {
			i += len(steps)
		}
		steps[i].Send.Errno = 0
		if _, err := CheckSyscall(&qemu.Result{Steps: steps}, 64, ctx); err == nil {
			t.Errorf("%s succeeded: CheckSyscall passed", name)
		}
	}
	byKind := func(steps []qemu.StepResult, kind string, n int) *qemu.StepResult {
		for i := range steps {
			if steps[i].Kind == kind {
				if n == 0 {
					return &steps[i]
				}
				n--
			}
		}
		t.Fatalf("no %s #%d", kind, n)
		return nil
	}
	for name, edit := range map[string]func(s []qemu.StepResult) []qemu.StepResult{
		"other context": func(s []qemu.StepResult) []qemu.StepResult {
			byKind(s, "customize", 0).Customize.Context = []byte("{}")
			return s
		},
		"silent fallback": func(s []qemu.StepResult) []qemu.StepResult {
			c := byKind(s, "counters", 1).Counters
			c["sends_specialized"], c["fallbacks"] = timedSends(qemu.SendPaths(), "sends_specialized")-100, 100
			return s
		},
		"generic path uncounted": func(s []qemu.StepResult) []qemu.StepResult {
			byKind(s, "counters", 1).Counters["sends_generic"] = 0
			return s
		},
		"load failed": func(s []qemu.StepResult) []qemu.StepResult {
			byKind(s, "load", 1).Load = &qemu.LoadResult{Errno: 28}
			return s
		},
		"unload while held": func(s []qemu.StepResult) []qemu.StepResult {
			byKind(s, "rmmod", 0).Rmmod.Errno = 0
			return s
		},
		"wrong length not refused": func(s []qemu.StepResult) []qemu.StepResult {
			byKind(s, "send", len(qemu.SendPaths())+1).Send.Errors = 0 // after the timed sends and the fallback
			return s
		},
		"reference leak": func(s []qemu.StepResult) []qemu.StepResult {
			byKind(s, "counters", 3).Counters["refs_held"] = 1
			return s
		},
		"missing counter": func(s []qemu.StepResult) []qemu.StepResult {
			delete(byKind(s, "counters", 0).Counters, "refused")
			return s
		},
		"plan stopped": func(s []qemu.StepResult) []qemu.StepResult { return s[:10] },
	} {
		if _, err := Check(&qemu.Result{Steps: edit(good(ioctlBoot()))}, 64, ctx); err == nil {
			t.Errorf("%s: Check passed", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
