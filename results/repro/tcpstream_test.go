package repro

import (
	"strings"
	"testing"

	"specbed/images"
	"specbed/qemu"
)

// x86CmdlineMax is the x86 kernel's COMMAND_LINE_SIZE less its NUL
// (bytes): the plan rides on the command line (sbplan=).
const x86CmdlineMax = 2047

// TestTCPStreamPlanFits: the longest TCP stream plan (TCPConfidence's
// Max iterations) fits the x86 command line with the rest of it.
func TestTCPStreamPlanFits(t *testing.T) {
	for _, name := range []string{"i486", "p3"} {
		p, err := qemu.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		e := &Platform{P: p}
		e.K = &images.Kernel{Key: strings.Repeat("0", 64)}
		plan := e.tcpStreamPlan(TCPConfidence(false))
		var params []string
		for _, nic := range p.NICs {
			params = append(params, nic.Cmdline...)
		}
		cmdline, err := p.Cmdline(append(params, "sbplan="+strings.Join(plan, ";")))
		if err != nil {
			t.Fatal(err)
		}
		if len(cmdline) > x86CmdlineMax {
			t.Errorf("%s: a command line of %d bytes, the kernel keeps %d", name, len(cmdline), x86CmdlineMax)
		}
	}
}

// TestTCPStream runs the TCP stream measurement on the i486 (the p3
// measures the same way; reproduce runs both) with a server of its own:
// every byte reaches the checker in order, the fetched residual makes the
// token's sends, and each path has a throughput.
func TestTCPStream(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the i486 in network mode; skipped only in short mode")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	p, err := qemu.Lookup("i486")
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewPlatform(t.Context(), b, p)
	if err != nil {
		t.Fatal(err)
	}
	e.RunRoot = t.TempDir()
	r, err := NewRemote(t.Context(), b.Repo, []*images.Kernel{e.K}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.MeasureTCPStream(t.Context(), r, TCPConfidence(true))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Results) != len(tcpStreamPaths) {
		t.Fatalf("%d results, want one per path (%v)", len(run.Results), tcpStreamPaths)
	}
	for _, r := range run.Results {
		if r.MbitPerS <= 0 || r.Iterations != 3 {
			t.Errorf("%s: %.2f Mbit/s over %d iterations", r.Path, r.MbitPerS, r.Iterations)
		}
		t.Logf("%s: %.2f Mbit/s, interval %.1f%% (met %t), iterations %.2f", r.Path, r.MbitPerS, 100*r.IntervalWidth, r.Met, r.Samples)
	}
	t.Logf("residual %s (%d bytes): %d of %d token sends; checker %d of %d bytes in order",
		run.Residual, run.ResidualBytes, run.Specialized, run.Token, run.Checked, run.Sent)
}
