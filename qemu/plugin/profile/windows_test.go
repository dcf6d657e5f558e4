package profile

import (
	"reflect"
	"slices"
	"testing"

	"specbed/images/specnet/paths"
	"specbed/qemu"
	"specbed/qemu/plugin"
	"specbed/qemu/plugin/attrib"
)

func TestWithSections(t *testing.T) {
	plan := []string{"insmod,path=/lib/modules/a.ko", "net,dev=dummy0", "insmod,path=/lib/modules/other.ko", "insmod,path=/lib/modules/b.ko,params=x%3D1"}
	got := WithSections(plan, map[string]string{"/lib/modules/a.ko": "a", "/lib/modules/b.ko": "b"})
	want := []string{"insmod,path=/lib/modules/a.ko", "sections,name=a", "net,dev=dummy0", "insmod,path=/lib/modules/other.ko",
		"insmod,path=/lib/modules/b.ko,params=x%3D1", "sections,name=b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestWindows pairs trigger snapshots with timed steps: a time_sends
// entry, two clock reads, and the counts between the reads.
func TestWindows(t *testing.T) {
	const loop, clock = 0x100, 0x200
	snap := func(seq int, trigger uint64, total uint64, kernel uint64) *plugin.Snapshot {
		return &plugin.Snapshot{Seq: seq, Trigger: trigger, Total: total,
			Ranges: map[int]uint64{0: kernel}, Addrs: map[uint64]uint64{0x150: total - kernel}}
	}
	snaps := []*plugin.Snapshot{
		snap(0, clock, 10, 5), // a clock read outside any loop
		snap(1, loop, 20, 10),
		snap(2, clock, 120, 90),   // t0
		snap(3, clock, 1120, 990), // t1: 900 kernel + 100 agent instructions
		{Seq: 4, Exit: true, Total: 2000, Ranges: map[int]uint64{0: 1500}, Addrs: map[uint64]uint64{0x150: 500}},
	}
	kernel, err := attrib.NewTable(&attrib.Func{Name: "udp_sendmsg", Object: attrib.ObjectKernel, Start: 0xc0000000, End: 0xc0000100})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := attrib.NewTable(&attrib.Func{Name: "time_sends", Object: attrib.ObjectAgent, Start: 0x100, End: 0x200})
	if err != nil {
		t.Fatal(err)
	}
	a := &attributor{kernel: kernel, others: agent, rules: attrib.DefaultRules()}
	res := &qemu.Result{Steps: []qemu.StepResult{
		{Step: 0, Kind: "insmod"},
		{Step: 1, Kind: "send", Send: &qemu.SendResult{Path: qemu.PathSendto, Size: 64, Count: 10, InstructionsPerSend: 100}},
	}}
	ws, err := windows(res, snaps, loop, clock, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 {
		t.Fatalf("%d windows, want 1", len(ws))
	}
	w := ws[0]
	if w.Step != 1 || w.Instructions != 1000 || w.PerSend() != 100 || w.GuestPerSend != 100 {
		t.Errorf("window %+v", w)
	}
	if want := map[string]uint64{attrib.LayerUDP: 900, attrib.LayerOther: 100}; !reflect.DeepEqual(w.ByLayer, want) {
		t.Errorf("layers %v, want %v", w.ByLayer, want)
	}
	// A timed step without its loop in the snapshots is an error.
	res.Steps = append(res.Steps, res.Steps[1])
	if _, err := windows(res, snaps, loop, clock, a); err == nil {
		t.Error("two timed steps, one loop: no error")
	}
}

// TestTimedWindows picks a measurement boot's timed loops out of its
// windows: the single sends around them (customized_send before the core
// is loaded, the wrong-length sends, one on an empty slot) are skipped,
// and a loop that is not the expected path or not the figure the paths
// checks read is an error.
func TestTimedWindows(t *testing.T) {
	single := func(step int) Window {
		return Window{Step: step, Kind: "send", Path: qemu.PathCustomized, Sends: 1, GuestPerSend: 9000}
	}
	loop := func(step int, path qemu.SendPath, perSend float64) Window {
		return Window{Step: step, Kind: "send", Path: path, Sends: paths.Count, GuestPerSend: perSend}
	}
	want := qemu.CustomizedSendPaths()
	m := &paths.Measurement{}
	for i, path := range want {
		m.Costs = append(m.Costs, paths.PathCost{Path: path, InstructionsPerSend: float64(3000 - 100*i)})
	}
	good := []Window{single(0)}
	for i, path := range want {
		good = append(good, loop(10+i, path, float64(3000-100*i)))
	}
	good = append(good, single(20), single(21), single(30))
	for _, tc := range []struct {
		name string
		edit func([]Window) []Window
		ok   bool
	}{
		{"single sends around the loops", func(ws []Window) []Window { return ws }, true},
		{"a loop missing", func(ws []Window) []Window { return append(ws[:1:1], ws[2:]...) }, false},
		{"loops swapped", func(ws []Window) []Window { ws[1].Path, ws[2].Path = ws[2].Path, ws[1].Path; return ws }, false},
		{"another figure than the checks read", func(ws []Window) []Window { ws[2].GuestPerSend++; return ws }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := tc.edit(slices.Clone(good))
			got, err := timedWindows(ws, m, want)
			if !tc.ok {
				if err == nil {
					t.Errorf("no error for %v", ws)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d timed loops, want %d", len(got), len(want))
			}
			for i, w := range got {
				if w.Path != want[i] || w.Step != 10+i {
					t.Errorf("timed loop %d: %+v", i, *w)
				}
			}
		})
	}
}
