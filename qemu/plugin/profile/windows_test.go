package profile

import (
	"reflect"
	"testing"

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
