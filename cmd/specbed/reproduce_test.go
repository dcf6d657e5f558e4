package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-multierror"

	"specbed/images"
	"specbed/qemu"
	"specbed/results"
)

// TestBootAllReportsEveryFailure: with an empty cache no platform can
// boot, and the error must name all three, not just the first.
func TestBootAllReportsEveryFailure(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	results, kernels, err := bootAll(context.Background(), b, qemu.All(), nil, &errOut)
	var merr *multierror.Error
	if !errors.As(err, &merr) || len(merr.Errors) != len(qemu.All()) {
		t.Fatalf("error %v, want one per platform", err)
	}
	for i, p := range qemu.All() {
		if results[i] != nil || kernels[i] != nil {
			t.Errorf("%s: result %v, kernel %v after a failure", p.Name, results[i], kernels[i])
		}
	}
	for _, e := range merr.Errors {
		if !errors.Is(e, images.ErrNotBuilt) {
			t.Errorf("error %v, want ErrNotBuilt", e)
		}
	}
}

// TestReproduceDeterministic runs 'specbed reproduce --quick' twice on the
// i486 (one platform keeps it short; the others measure the same way) on
// the warm cache: count mode makes every instruction count and code size
// identical, so compare must report no difference in them (the network-
// mode figures, host wall time and guest clocks that follow it, may move).
func TestReproduceDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: boots the i486 guest twenty-two times (two to five minutes)")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	p, err := qemu.Lookup("i486")
	if err != nil {
		t.Fatal(err)
	}
	var bundles []*results.Bundle
	for run := range 2 {
		var out, errOut bytes.Buffer
		dir, err := runReproduce(t.Context(), b, []*qemu.Platform{p},
			reproduceOptions{outDir: filepath.Join(t.TempDir(), "bundle"), quick: true, command: []string{"test"}}, &out, &errOut)
		if err != nil {
			t.Fatalf("run %d: %v\n%s%s", run, err, out.String(), errOut.String())
		}
		bundle, err := results.Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		bundles = append(bundles, bundle)
	}
	// Host-timed figures (network mode) move with the host; they are
	// compared, but only the count-mode ones must not move at all.
	c := results.Compare(bundles[0], bundles[1], results.Thresholds{results.KindCount: 0, results.KindTime: math.Inf(1)})
	var table bytes.Buffer
	c.Print(&table)
	t.Logf("%s", table.String())
	counted := 0
	for _, f := range bundles[0].Figures {
		if f.Kind == results.KindCount {
			counted += len(f.Ours())
		}
	}
	if counted == 0 || c.Failed() || len(c.Notes) != 0 {
		t.Errorf("two quick runs differ in count-mode figures (or have none):\n%s", table.String())
	}
	for _, d := range c.Differences {
		if bundles[0].Figure(d.Figure).Kind == results.KindCount {
			t.Errorf("count-mode figure %s differs at %s: %v then %v", d.Figure, d.Key, d.A, d.B)
		}
	}
	for _, id := range []string{results.FigSendPaths, results.FigSize, results.FigOverhead, results.FigUDPNICGain, results.FigTCPNICGain,
		results.FigTCPCount, results.FigTCPCountGain, results.FigUDPNICRecv, results.FigUDPNICRecvGain, results.FigUDPNICRecvLoss} {
		if f := bundles[0].Figure(id); f == nil || len(f.Ours()) == 0 {
			t.Errorf("the quick bundle has no figure %s", id)
		}
	}
	// UDP_STREAM's receiver beside its sender: both sides of both paths,
	// and the loss the sink saw (its datagrams told apart by round).
	if f, loss := bundles[0].Figure(results.FigUDPNICRecv), bundles[0].Figure(results.FigUDPNICRecvLoss); f != nil && loss != nil {
		for _, path := range []string{results.PathSendto, results.PathCustomized} {
			for _, side := range []string{results.SideSender, results.SideReceiver} {
				if v := f.Value("i486", "udp", "1024", path, side); v == nil || *v <= 0 {
					t.Errorf("figure %s at %s %s: %v, want a throughput", results.FigUDPNICRecv, path, side, v)
				}
			}
			if v := loss.Value("i486", "udp", "1024", path); v == nil || *v < 0 || *v > 100 {
				t.Errorf("figure %s at %s: %v, want a percentage", results.FigUDPNICRecvLoss, path, v)
			} else {
				t.Logf("%s: %.2f%% of the datagrams lost", path, *v)
			}
		}
	}
	// The TCP sizes come from the loopback flow's residual.
	if f := bundles[0].Figure(results.FigSize); f != nil && f.Value("i486", "tcp", results.CodeSpecialized) == nil {
		t.Errorf("figure %s has no TCP residual row", results.FigSize)
	}
	// Both measurement boots of the paths: the residual through the
	// ioctl and through customized_send.
	for _, path := range []string{results.PathSpecial, results.PathCustomized} {
		if f := bundles[0].Figure(results.FigSendPaths); f != nil && f.Value("i486", "udp", "1024", path) == nil {
			t.Errorf("figure %s has no %s row", results.FigSendPaths, path)
		}
	}
}
