package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"
)

// placed is an error's position and a word its message must hold.
type placed struct {
	line, column int
	word         string
}

// TestFourErrors is the check: a typo'd key, a wrong type, an
// unknown event and a time out of range, reported together with their
// lines and columns and the allowed values.
func TestFourErrors(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "four-errors.yaml"))
	want := []placed{
		{10, 3, `unknown key "warmpu", did you mean "warmup"?`},
		{13, 17, "wrong type: want a string (allowed: reinforce, respecialize, fallback, refuse)"},
		{15, 12, `"socket-explode" is not allowed`},
		{21, 20, "past the workload's 100 sends (allowed: 0..100)"},
	}
	checkErrors(t, err, want)
}

func checkErrors(t *testing.T, err error, want []placed) {
	t.Helper()
	var merr *multierror.Error
	if !errors.As(err, &merr) {
		t.Fatalf("error %v, want a *multierror.Error", err)
	}
	if len(merr.Errors) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(merr.Errors), len(want), err)
	}
	for i, w := range want {
		var e *Error
		if !errors.As(merr.Errors[i], &e) {
			t.Fatalf("error %d is %T, want *Error", i, merr.Errors[i])
		}
		if e.Line != w.line || e.Column != w.column || !strings.Contains(e.Msg, w.word) {
			t.Errorf("error %d = %v, want line %d column %d with %q", i, e, w.line, w.column, w.word)
		}
	}
}

// TestErrors covers each kind of error on its own.
func TestErrors(t *testing.T) {
	const base = "name: x\nworkload:\n  protocol: udp\n  path: kernel\n  sizes_bytes: [64]\n  count: 100\n"
	tests := []struct {
		name, yaml string
		want       []placed
	}{
		{"syntax", "name: [x\n", []placed{{0, 0, ""}}},
		{"missing workload", "name: x\n", []placed{{1, 5, `missing required key "workload"`}}},
		{"size out of range", strings.Replace(base, "[64]", "[64, 70000]", 1), []placed{{5, 21, "out of range (allowed: 0..65507)"}}},
		{"duplicate key", base + "name: y\n", []placed{{7, 1, `mapping key "name" already defined at [1:1]`}}},
		{"bad duration", base + "timeline:\n  - event: link-down\n    link: spec\n    at: soon\n", []placed{
			{8, 12, "link-down acts on a vnet link: it needs clock: network"},
			{10, 9, `"soon" is not a duration`},
		}},
		{"event key of another event", base + "timeline:\n  - event: setsockopt\n    after_packets: 1\n    level: 0\n    option: 2\n    value: 1\n    link: spec\n", []placed{
			{13, 11, "setsockopt does not take link"},
		}},
		{"time past duration", strings.Replace(base, "count: 100", "duration: 2s", 1) + "clock: network\ntimeline:\n  - event: link-down\n    link: spec\n    at: 3s\n", []placed{
			{11, 9, "3s is past the workload's duration 2s"},
		}},
		{"guest event at a time", base + "timeline:\n  - event: socket-close\n    at: 1s\n", []placed{
			{8, 5, "socket-close acts in the guest between sends: give after_packets"},
			{9, 9, "a time needs the workload's duration"},
		}},
		{"expectation without bound", base + "expect:\n  - check: delivered\n", []placed{{8, 5, "delivered needs a bound"}}},
		{"expectation on a missing event", base + "expect:\n  - check: errno\n    event: 3\n    errno: EBUSY\n", []placed{{9, 12, "3 is not an event of the timeline"}}},
		{"specialized without residual", strings.Replace(base, "kernel", "specialized", 1) + "specialization:\n  mode: none\n", []placed{{8, 9, "needs a residual"}}},
		{"arrive-at on the count clock", base + "timeline:\n  - event: socket-close\n    after_packets: 1\nexpect:\n  - check: arrive-at\n    event: 0\n    where: router1\n    equals: 1\n", []placed{
			{11, 5, "arrive-at counts datagrams on vnet: it needs clock: network"},
			{13, 12, "router1: the flow goes through two routers only when a route-change moves it on the network clock"},
		}},
		{"arrive-at without bound", base + "clock: network\nexpect:\n  - check: arrive-at\n    event: 0\n    where: sink\n", []placed{
			{9, 5, "arrive-at needs a bound"},
			{10, 12, "0 is not an event of the timeline"},
		}},
		{"routers without a data NIC", base + "clock: network\nplatforms: [sa1100]\ntimeline:\n  - event: route-change\n    after_packets: 1\n", []placed{
			{8, 12, "sa1100 has no data NIC"},
		}},
		{"list for a mapping", "name: x\nworkload: [1]\n", []placed{{2, 11, "want a mapping with keys protocol, path"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml))
			if tc.want[0].line == 0 {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			checkErrors(t, err, tc.want)
		})
	}
}

// TestLibraryValidates: every scenario file in the library is valid.
func TestLibraryValidates(t *testing.T) {
	files := libraryFiles(t)
	if len(files) == 0 {
		t.Fatal("no scenario files")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// libraryFiles are the scenario files of the library folders.
func libraryFiles(t *testing.T) []string {
	t.Helper()
	files, err := Library(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("README.md"); err != nil {
		t.Errorf("the authoring guide: %v", err)
	}
	return files
}
