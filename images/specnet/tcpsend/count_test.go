package tcpsend_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/guesttest"
	"specbed/images/specnet/routeguard"
	"specbed/qemu"
	"specbed/results"
	"specbed/specializer"
)

// The count-mode flow: TCP over loopback to the agent's own receiver
// (tcpsink), so that no packet of the flow comes from the host and the
// instruction counts are the same in every boot. Loopback's MTU is set
// to Ethernet's so that the MSS (1448 with timestamps) and the ADU (two
// MSS) are the network flow's.
const (
	loopPort    = 5001
	loopMTU     = 1500      // bytes
	loopWarmup  = 256 << 10 // bytes
	loopRcvbuf  = 64 << 10  // bytes: the receiver's SO_RCVBUF
	countSends  = 400       // timed sends per path
	countWarmup = 40        // untimed sends before them
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

// loopPlan opens the loopback flow and collects its context. A boot that
// loads a residual does so after these steps: in count mode the flow's
// history, and with it the context, is then the same in both boots.
func loopPlan() (plan, int) {
	var pl plan
	pl.add(qemu.InsmodStep{Path: coreModule})
	pl.add(qemu.NetStep{Dev: "lo", Addr: "127.0.0.1", Prefix: 8})
	pl.add(routeguard.MTUStep{Dev: "lo", MTU: loopMTU})
	pl = append(pl, fmt.Sprintf("tcpsink,port=%d,rcvbuf=%d", loopPort, loopRcvbuf))
	customize := pl.add(qemu.CustomizeStep{Dst: "127.0.0.1", Port: loopPort, SrcPort: 40000, ADU: adu,
		Proto: "tcp", Flags: sendFlags, Warmup: loopWarmup / adu * adu, SndBuf: sndBuf})
	return pl, customize
}

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
	ctxPlan, customize := loopPlan()
	steps := countBoot(t, m.b, p, k, []images.File{core}, ctxPlan)
	guestCtx := steps[customize].Customize.Context
	res := buildResidual(t, m.b, m.u, k, p, m.generic, guestCtx)

	pl, customize := loopPlan()
	pl.add(qemu.InsmodStep{Path: residualModule})
	load := pl.add(qemu.LoadStep{Slot: 0, Name: res.Name, Policy: "fallback"})
	paths := []qemu.SendPath{qemu.PathSend, qemu.PathGeneric, qemu.PathSpecial, qemu.PathCustomized}
	sends := map[qemu.SendPath]int{}
	var before, after int
	for _, path := range paths {
		if path == qemu.PathSpecial {
			before = pl.add(qemu.CountersStep{})
		}
		sends[path] = pl.add(qemu.SendStep{Path: path, Slot: 0, Size: adu, Count: countSends,
			Warmup: countWarmup, Flags: sendFlags})
	}
	after = pl.add(qemu.CountersStep{})
	// The end of the stream: the token lets go of the socket, the close
	// sends FIN, and the receiver reports what it read once it read it.
	pl.add(qemu.ReleaseStep{Slot: 0})
	pl.add(qemu.CloseStep{})
	received := len(pl)
	pl = append(pl, "tcpsinkwait")
	steps = countBoot(t, m.b, p, k, []images.File{core, {Path: residualModule, Data: res.Ko}}, pl)
	if l := steps[load].Load; l.Errno != 0 || l.Token <= 0 {
		t.Fatalf("%s: token %d errno %d; contexts differ in%s", pl[load], l.Token, l.Errno,
			contextDiff(guestCtx, steps[customize].Customize.Context))
	}
	sent := int64(loopWarmup/adu*adu + len(paths)*(countSends+countWarmup)*adu)
	if got := steps[received].Fields["bytes"]; got != strconv.FormatInt(sent, 10) {
		t.Errorf("the receiver read %s bytes, the flow sent %d", got, sent)
	}
	delta := func(name string) int64 { return steps[after].Counters[name] - steps[before].Counters[name] }
	tokenSends := int64(2 * (countSends + countWarmup))
	if spec := delta("sends_specialized"); spec*100 < tokenSends*99 {
		t.Errorf("the residual made %d of %d token sends (%d fallbacks, %d guarded)", spec, tokenSends,
			delta("fallbacks"), delta("sends_guarded"))
	}
	unit := float64(countSends) * float64(int64(1)<<p.IcountShift)
	var lines []tcpBenchLine
	for _, path := range paths {
		s := steps[sends[path]].Send
		if s.Errors != 0 {
			t.Errorf("%s: %d sends failed, first errno %d", path, s.Errors, s.Errno)
		}
		lines = append(lines, tcpBenchLine{
			Platform: p.Name, Kernel: k.Key[:16], Mode: qemu.CountMode.Name, IcountShift: p.IcountShift,
			Size: adu, Path: path, InstructionsPerSend: float64(s.NS) / unit, Count: countSends, Warmup: countWarmup,
		})
	}
	fmt.Printf("# %s: TCP sends of %d bytes over loopback in count mode (icount shift %d): guest instructions "+
		"per send, the receive side (loopback's receive, the ACK, the reader) inside the timed window\n",
		p.Name, adu, p.IcountShift)
	for i := range lines {
		l := &lines[i]
		l.VsSend = l.InstructionsPerSend / lines[0].InstructionsPerSend
		fmt.Printf("BenchmarkTCPPaths/%s/%s-%dB/count-mode\t%d\t%.0f insns/send\t%.3f vs-send\n",
			l.Platform, l.Path, l.Size, l.Count, l.InstructionsPerSend, l.VsSend)
	}
	return lines
}
