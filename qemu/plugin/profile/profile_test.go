package profile

import (
	"reflect"
	"testing"

	"specbed/images/guesttest"
	"specbed/qemu"
	"specbed/qemu/plugin/attrib"
)

// TestDummySendTotals profiles the kernel's own sendto() (the agent's udp
// step on dummy0, no module) on every platform: the plugin's count of
// each timed loop must match the guest's icount figure within 1%, and the
// kernel's send must cross the socket, UDP, IP, memory and device layers.
func TestDummySendTotals(t *testing.T) {
	if testing.Short() {
		t.Skip("boots every platform under the TCG plugin; skipped only in short mode")
	}
	guesttest.ForEach(t, guesttest.Builder(t), func(t *testing.T, g *guesttest.Guest) {
		b, p, k := g.B, g.P, g.K
		initrd, err := b.AgentInitramfs(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		prof, err := Execute(t.Context(), Run{
			Platform: p, Kernel: k, Initrd: initrd,
			Plan: qemu.DummySendPlan([]int{64, 1024}, 1000, 100), Timeout: bootTimeout,
		}, b.Cache)
		if err != nil {
			t.Fatal(err)
		}
		if len(prof.Windows) != 2 {
			t.Fatalf("%d timed loops, want 2", len(prof.Windows))
		}
		for _, w := range prof.Windows {
			l := layerCounts(p, &w)
			l.Path = qemu.PathSendto
			checkLayers(t, l)
			// The largest functions, and every function of note that no
			// rule names (a rule may be missing).
			for i, f := range w.Functions {
				perSend := float64(f.Instructions) / float64(w.Sends)
				if i < 12 || (f.Layer == attrib.LayerOther && perSend >= 5) {
					t.Logf("  %10.1f  %-8s %s", perSend, f.Layer, f.Function)
				}
			}
			if w.ByLayer[attrib.LayerResidual] != 0 {
				t.Errorf("the kernel's sendto ran %d residual instructions", w.ByLayer[attrib.LayerResidual])
			}
		}
	})
}

// TestProfileDeterministic profiles the same plan twice on every
// platform: in count mode every window's counts, function by function,
// must be the same (the plugin observes and does not perturb).
func TestProfileDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("boots every platform twice under the TCG plugin; skipped only in short mode")
	}
	guesttest.ForEach(t, guesttest.Builder(t), func(t *testing.T, g *guesttest.Guest) {
		b, p, k := g.B, g.P, g.K
		initrd, err := b.AgentInitramfs(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		run := Run{Platform: p, Kernel: k, Initrd: initrd, Plan: qemu.DummySendPlan([]int{64}, 200, 20), Timeout: bootTimeout}
		var got [2]*Profile
		for i := range got {
			if got[i], err = Execute(t.Context(), run, b.Cache); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(got[0].Windows, got[1].Windows) {
			t.Errorf("two runs differ:\n%+v\n%+v", got[0].Windows[0].ByLayer, got[1].Windows[0].ByLayer)
		}
		if got[0].Total.Instructions != got[1].Total.Instructions {
			t.Errorf("whole runs: %d and %d instructions", got[0].Total.Instructions, got[1].Total.Instructions)
		}
	})
}
