package profile

import (
	"testing"

	"specbed/images/guesttest"
	"specbed/images/specnet/paths"
	"specbed/qemu"
	"specbed/qemu/plugin/attrib"
)

// maxDeviation is how far the plugin's per-send count of a timed loop may
// stray from the guest's own (icount) figure: 1%.
const maxDeviation = 0.01

// TestPathsLayers profiles the paths measurement on every platform: for
// each send path the per-layer counts of the timed loop must add up to
// the guest's own instructions per send within 1%, every layer the path
// must cross must have instructions, and the paths checks must pass.
func TestPathsLayers(t *testing.T) {
	if testing.Short() {
		t.Skip("boots every platform under the TCG plugin; skipped only in short mode")
	}
	guesttest.ForEach(t, guesttest.Builder(t), func(t *testing.T, g *guesttest.Guest) {
		p := g.P
		runs, err := MeasurePaths(t.Context(), g.B, p, paths.Sizes()[:1])
		if err != nil {
			t.Fatal(err)
		}
		measured := map[qemu.SendPath]bool{}
		for _, r := range runs {
			for _, l := range r.Layers {
				checkLayers(t, l)
				measured[l.Path] = true
			}
		}
		for _, path := range append(qemu.SendPaths(), qemu.CustomizedSendPaths()...) {
			if !measured[path] {
				t.Errorf("path %s not measured", path)
			}
		}
	})
}

func checkLayers(t *testing.T, l LayerCounts) {
	t.Helper()
	t.Logf("%s %4d B %-7s plugin %8.1f guest %8.1f (%.3f%%) %v", l.Platform, l.SizeBytes, l.Path,
		l.Total, l.GuestPerSend, 100*l.Deviation(), l.ByLayer)
	if l.Deviation() > maxDeviation {
		t.Errorf("%s %s: layers add up to %.1f instructions per send, the guest counted %.1f", l.Platform, l.Path, l.Total, l.GuestPerSend)
	}
	want := []string{attrib.LayerSocket, attrib.LayerMemory, attrib.LayerDevice}
	switch l.Path {
	case qemu.PathSendto, qemu.PathSend, qemu.PathGeneric, qemu.PathCustomizedGeneric:
		want = append(want, attrib.LayerUDP, attrib.LayerIP)
	case qemu.PathSpecial, qemu.PathCustomized:
		want = append(want, attrib.LayerResidual)
	}
	for _, layer := range want {
		if l.ByLayer[layer] <= 0 {
			t.Errorf("%s %s: no instructions in layer %s: %v", l.Platform, l.Path, layer, l.ByLayer)
		}
	}
}
