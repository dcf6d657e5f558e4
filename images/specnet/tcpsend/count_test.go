package tcpsend_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/guesttest"
	"specbed/images/specnet/tcpsend"
	"specbed/qemu"
	"specbed/results"
	"specbed/specializer"
	"specbed/specializer/compile"
)

// tcpBenchLine is one line of out/bench/tcp_paths.json.
type tcpBenchLine struct {
	Platform string `json:"platform"`
	// Kernel is the first 16 hex digits of the kernel's key.
	Kernel string `json:"kernel"`
	Mode   string `json:"mode"`
	// IcountShift: each guest instruction advanced virtual time by
	// 2^IcountShift ns.
	IcountShift int           `json:"icount_shift"`
	Size        int           `json:"size_bytes"`
	Path        qemu.SendPath `json:"path"`
	// InstructionsPerSend is guest instructions per send (virtual ns /
	// Count / 2^IcountShift), the loopback receive the send triggers and
	// the timed loop's own few included.
	InstructionsPerSend float64 `json:"instructions_per_send"`
	// VsSend is InstructionsPerSend over the kernel's send()'s.
	VsSend float64 `json:"vs_send"`
	Count  int     `json:"count"`
	Warmup int     `json:"warmup"`
}

// loopPlan is tcpsend.LoopContextPlan as a plan the tests extend.
func loopPlan() (plan, int) {
	pl, customize := tcpsend.LoopContextPlan()
	return plan(pl), customize
}

// loopMTU is loopback's MTU in the flow (bytes).
const loopMTU = tcpsend.LoopMTU

func countBoot(t testing.TB, b *images.Builder, p *qemu.Platform, k *images.Kernel, files []images.File, pl plan) []qemu.StepResult {
	t.Helper()
	initrd, err := b.Initramfs(t.Context(), p, files)
	if err != nil {
		t.Fatal(err)
	}
	var console qemu.ConsoleCopy
	in, err := qemu.Start(t.Context(), qemu.Config{
		Platform: p, Mode: qemu.CountMode,
		Boot: qemu.Boot{Kernel: k.Image, Initrd: initrd}, Plan: pl,
		RunRoot: t.TempDir(), Timeout: 10 * time.Minute, Echo: &console,
		// The p3's e1000 probe stayed silent past 30 s on a loaded host.
		SilenceTimeout: 3 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Wait()
	if err != nil {
		t.Fatalf("%v\nplan: %q\nconsole:\n%s", err, pl, console.String())
	}
	if len(res.Steps) != len(pl) {
		t.Fatalf("%d step results for %d steps\nconsole:\n%s", len(res.Steps), len(pl), console.String())
	}
	return res.Steps
}

// TestTCPPathsCount measures instructions per TCP send of two MSS on every
// platform in count mode, over loopback: the kernel's send(), the
// generic path (SEND_GENERIC), the residual (SEND) and the residual
// through customized_send; it checks that the residual did the sends and
// every send's bytes reached the receiver, prints a benchmark line per
// platform and path and writes out/bench/tcp_paths.json.
func TestTCPPathsCount(t *testing.T) {
	if testing.Short() {
		t.Skip("boots every platform twice; skipped only in short mode")
	}
	var report []tcpBenchLine
	forPlatforms(t, func(t *testing.T, name string, m *tcpMeasure) {
		report = append(report, m.measure(t, name)...)
	})
	writeTCPBench(t, report)
}

// BenchmarkTCPPaths is TestTCPPathsCount for make bench: the same boots
// and checks, the costs as metrics. Count mode is deterministic, so one
// run per platform is the figure whatever b.N is.
func BenchmarkTCPPaths(b *testing.B) {
	m := newTCPMeasure(b)
	var report []tcpBenchLine
	for _, name := range qemu.Names() {
		var lines []tcpBenchLine
		b.Run(name, func(b *testing.B) {
			if lines == nil {
				lines = m.measure(b, name)
			}
			for _, l := range lines {
				b.ReportMetric(l.InstructionsPerSend, fmt.Sprintf("insns/%s-%dB", l.Path, l.Size))
			}
		})
		report = append(report, lines...)
	}
	writeTCPBench(b, report)
}

// tcpMeasure holds what every platform's measurement shares.
type tcpMeasure struct {
	b       *images.Builder
	u       *specializer.Unit
	generic string
}

func newTCPMeasure(t testing.TB) *tcpMeasure {
	b := guesttest.Builder(t)
	generic := filepath.Join(b.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "tcp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	return &tcpMeasure{b: b, u: u, generic: generic}
}

// forPlatforms runs f in a subtest per platform.
func forPlatforms(t *testing.T, f func(t *testing.T, name string, m *tcpMeasure)) {
	m := newTCPMeasure(t)
	for _, name := range qemu.Names() {
		t.Run(name, func(t *testing.T) { f(t, name, m) })
	}
}

func writeTCPBench(t testing.TB, report []tcpBenchLine) {
	t.Helper()
	b := guesttest.Builder(t)
	if _, err := results.WriteBench(b.Repo, "tcp_paths.json", report); err != nil {
		t.Fatal(err)
	}
}

// measure boots the named platform twice (context, then measurement),
// checks the sends and returns a bench line per path. It prints each
// line in the benchmark format (name, sends timed, instructions per send)
// whether or not the test runs verbose.
func (m *tcpMeasure) measure(t testing.TB, name string) []tcpBenchLine {
	p, err := qemu.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.b.CachedKernel(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	core := coreFile(t, m.b, k)
	ctxPlan, customize := tcpsend.LoopContextPlan()
	steps := countBoot(t, m.b, p, k, []images.File{core}, ctxPlan)
	guestCtx := steps[customize].Customize.Context
	res, err := tcpsend.BuildResidual(t.Context(), compile.New(k, p, m.generic, filepath.Join(m.b.Cache, "specializer")),
		m.u, guestCtx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: residual %s (%d bytes of module)", p.Name, res.Name, len(res.Ko))

	meas := tcpsend.NewLoopMeasurement(res.Name)
	steps = countBoot(t, m.b, p, k, []images.File{core, {Path: tcpsend.ResidualModule, Data: res.Ko}}, meas.Plan)
	costs, err := meas.Check(steps, p.IcountShift)
	if err != nil {
		t.Fatalf("%s: %v\ncontexts differ in:%s", p.Name, err, contextDiff(guestCtx, meas.Context(steps)))
	}
	var lines []tcpBenchLine
	for _, c := range costs {
		lines = append(lines, tcpBenchLine{
			Platform: p.Name, Kernel: k.Key[:16], Mode: qemu.CountMode.Name, IcountShift: p.IcountShift,
			Size: tcpsend.ADU, Path: c.Path, InstructionsPerSend: c.InstructionsPerSend,
			Count: tcpsend.LoopSends, Warmup: tcpsend.LoopSendWarmup,
		})
	}
	fmt.Printf("# %s: TCP sends of %d bytes over loopback in count mode (icount shift %d): guest instructions "+
		"per send, the receive side (loopback's receive, the ACK, the reader) inside the timed window\n",
		p.Name, tcpsend.ADU, p.IcountShift)
	for i := range lines {
		l := &lines[i]
		l.VsSend = l.InstructionsPerSend / lines[0].InstructionsPerSend
		fmt.Printf("BenchmarkTCPPaths/%s/%s-%dB/count-mode\t%d\t%.0f insns/send\t%.3f vs-send\n",
			l.Platform, l.Path, l.Size, l.Count, l.InstructionsPerSend, l.VsSend)
	}
	return lines
}
