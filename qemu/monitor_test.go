package qemu

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// feedLog runs a console log through a monitor in chunks, as the console
// arrives, and returns the monitor and the events it reported.
func feedLog(t *testing.T, name string, shift int) (*consoleMonitor, []event) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "console", name))
	if err != nil {
		t.Fatal(err)
	}
	mon := newConsoleMonitor(CountMode, shift, nil)
	var events []event
	var lines lineSplitter
	for len(data) > 0 {
		// Odd-sized chunks cut lines anywhere.
		n := min(len(data), 97)
		for _, line := range lines.split(data[:n]) {
			if ev := mon.feed(line); ev != evNone {
				events = append(events, ev)
			}
		}
		data = data[n:]
	}
	if rest := lines.rest(); rest != "" {
		mon.feed(rest)
	}
	return mon, events
}

// The logs in testdata/console are real consoles of the guests, captured
// with specbed's runner.
func TestMonitorCannedLogs(t *testing.T) {
	tests := []struct {
		log    string
		shift  int
		events []event
		done   bool
		status int
		// steps is the number of result lines; errors of error lines.
		steps, errors int
		// For a crash: its title, the faulting function and the first
		// and last lines of the report.
		title, function, first, last string
	}{
		{
			log: "i486-udp.log", shift: 5,
			events: []event{evReady, evDone}, done: true, status: 0, steps: 2,
		},
		{
			// The oops kills the agent's insmod child; the agent reports
			// it and ends the run.
			log: "i486-oops.log", shift: 5,
			events: []event{evReady, evCrash, evDone}, done: true, status: 1, errors: 1,
			title:    "BUG: kernel NULL pointer dereference, address: 00000000",
			function: "specbed_oops_fault",
			first:    "BUG: kernel NULL pointer dereference, address: 00000000",
			last:     "---[ end trace 0000000000000000 ]---",
		},
		{
			log: "p3-udp.log", shift: 1,
			events: []event{evReady, evDone}, done: true, status: 0, steps: 2,
		},
		{
			log: "p3-oops.log", shift: 1,
			events: []event{evReady, evCrash, evDone}, done: true, status: 1, errors: 1,
			title:    "BUG: kernel NULL pointer dereference, address: 00000000",
			function: "specbed_oops_fault",
			first:    "BUG: kernel NULL pointer dereference, address: 00000000",
			last:     "---[ end trace 0000000000000000 ]---",
		},
		{
			log: "sa1100-udp.log", shift: 2,
			events: []event{evReady, evDone}, done: true, status: 0, steps: 2,
		},
		{
			// ARM names the fault first; "Internal error:" follows.
			log: "sa1100-oops.log", shift: 2,
			events: []event{evReady, evCrash, evDone}, done: true, status: 1, errors: 1,
			title:    "Unhandled fault: page domain fault (0x01b) at 0x00000000",
			function: "specbed_oops_fault",
			first:    "Unhandled fault: page domain fault (0x01b) at 0x00000000",
			last:     "---[ end trace 00000000c056b2bc ]---",
		},
		{
			log: "sa1100-no-init.log", shift: 2,
			events: []event{evCrash, evPanicEnd},
			title:  "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
			first:  "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
			last:   "---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---",
		},
		{
			log: "i486-hang.log", shift: 5,
			events: []event{evReady},
		},
		{
			// rdinit= names no program: the kernel panics before the
			// agent runs, and the panic's end marker says it is over.
			log: "i486-no-init.log", shift: 5,
			events: []event{evCrash, evPanicEnd},
			title:  "Kernel panic - not syncing: No working init found.  Try passing init= option to kernel. See Linux Documentation/admin-guide/init.rst for guidance.",
			first:  "Kernel panic - not syncing: No working init found.  Try passing init= option to kernel. See Linux Documentation/admin-guide/init.rst for guidance.",
			last:   "---[ end Kernel panic - not syncing: No working init found.  Try passing init= option to kernel. See Linux Documentation/admin-guide/init.rst for guidance. ]---",
		},
	}
	for _, tt := range tests {
		t.Run(tt.log, func(t *testing.T) {
			mon, events := feedLog(t, tt.log, tt.shift)
			if !reflect.DeepEqual(events, tt.events) {
				t.Errorf("events %v, want %v", events, tt.events)
			}
			if mon.done != tt.done || mon.status != tt.status || len(mon.steps) != tt.steps ||
				len(mon.agentErrors) != tt.errors || mon.protocolErr != nil {
				t.Errorf("done %v status %d, %d results, errors %v, protocol error %v",
					mon.done, mon.status, len(mon.steps), mon.agentErrors, mon.protocolErr)
			}
			if len(mon.tail) == 0 || len(mon.tail) > excerptLines {
				t.Errorf("tail of %d lines", len(mon.tail))
			}
			if tt.title == "" {
				if mon.crash != nil {
					t.Errorf("crash %q in a clean log", mon.crash.title)
				}
				return
			}
			if mon.crash == nil {
				t.Fatal("no crash seen")
			}
			c := mon.crashError("i486", "console.log")
			if c.Title != tt.title || c.Fault.Function != tt.function {
				t.Errorf("crash %q in %q, want %q in %q", c.Title, c.Fault.Function, tt.title, tt.function)
			}
			if c.Report[0] != tt.first || c.Report[len(c.Report)-1] != tt.last {
				t.Errorf("report from %q to %q, want %q to %q", c.Report[0], c.Report[len(c.Report)-1], tt.first, tt.last)
			}
			for _, l := range c.Report {
				if strings.Contains(l, "@@specbed") {
					t.Errorf("agent line %q in the crash report", l)
				}
			}
		})
	}
}

func TestMonitorUDPFigures(t *testing.T) {
	mon, _ := feedLog(t, "i486-udp.log", 5)
	for i, size := range []int{64, 1024} {
		u := mon.steps[i].UDP
		if u == nil || u.Size != size || u.Count != 1000 || u.Errors != 0 {
			t.Fatalf("step %d: %+v", i, u)
		}
		if want := float64(u.NS) / 1000 / 32; u.InstructionsPerSend != want {
			t.Errorf("%d B: %v instructions per send, want %v", size, u.InstructionsPerSend, want)
		}
	}
}

func TestMonitorCrashMarkers(t *testing.T) {
	tests := []struct {
		line  string
		crash bool
	}{
		{"[    1.234567] BUG: kernel NULL pointer dereference, address: 00000000", true},
		{"Unable to handle kernel NULL pointer dereference at virtual address 00000000", true},
		{"Internal error: Oops: 817 [#1] ARM", true},
		{"general protection fault: 0000 [#1] PREEMPT", true},
		{"kernel BUG at net/core/skbuff.c:120!", true},
		{"Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009", true},
		{"WARNING: CPU: 0 PID: 1 at net/core/dev.c:1 f+0x1/0x2", false},
		{"@@specbed error step=0 msg=BUG: in the agent's message", false},
		{"  BUG: indented text is not the kernel's", false},
	}
	for _, tt := range tests {
		mon := newConsoleMonitor(CountMode, 0, nil)
		mon.feed(tt.line)
		if (mon.crash != nil) != tt.crash {
			t.Errorf("%q: crash=%v, want %v", tt.line, mon.crash != nil, tt.crash)
		}
	}
}
