package plugin

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadDump(t *testing.T) {
	text := "specbed-insncount 1\n" +
		"snap 0 8049000 100\nr 0 60\np c8800010 40\nend\n" +
		"snap 1 8049100 250\nr 0 160\nr 2 50\nend\n" +
		"snap 2 exit 300\np c8800010 90\nend\n"
	snaps, err := ReadDump(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 3 {
		t.Fatalf("%d snapshots, want 3", len(snaps))
	}
	// A snapshot lists changes; each read snapshot holds every counter.
	if got, want := snaps[1].Addrs, map[uint64]uint64{0xc8800010: 40}; !reflect.DeepEqual(got, want) {
		t.Errorf("snapshot 1 addresses %v, want %v", got, want)
	}
	if !snaps[2].Exit || snaps[1].Trigger != 0x8049100 {
		t.Errorf("triggers: %+v %+v", snaps[1], snaps[2])
	}
	d := snaps[2].Sub(snaps[0])
	want := &Snapshot{Seq: 2, Exit: true, Total: 200, Ranges: map[int]uint64{0: 100, 2: 50}, Addrs: map[uint64]uint64{0xc8800010: 50}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("difference %+v, want %+v", d, want)
	}
}

func TestReadDumpRejects(t *testing.T) {
	for name, text := range map[string]string{
		"no header":        "snap 0 exit 1\nend\n",
		"unfinished":       "specbed-insncount 1\nsnap 0 exit 1\nr 0 1\n",
		"count outside":    "specbed-insncount 1\nr 0 1\n",
		"sequence gap":     "specbed-insncount 1\nsnap 1 exit 1\nend\n",
		"bad address":      "specbed-insncount 1\nsnap 0 exit 1\np zz 1\nend\n",
		"nested snapshots": "specbed-insncount 1\nsnap 0 exit 1\nsnap 1 exit 1\nend\n",
	} {
		if _, err := ReadDump(strings.NewReader(text)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestArgs(t *testing.T) {
	p := &Plugin{Path: "/c/insncount.so"}
	got, err := p.Args(Options{Out: "/o/counts.txt", Ranges: "/o/ranges.txt", Triggers: []uint64{0x8049000, 0x10abc}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-plugin", "/c/insncount.so,out=/o/counts.txt,ranges=/o/ranges.txt,trigger=8049000,trigger=10abc"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, o := range []Options{{}, {Out: "/a,b"}, {Out: "/o", Triggers: make([]uint64, MaxTriggers+1)}} {
		if _, err := p.Args(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestWriteRanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ranges.txt")
	if err := WriteRanges(path, []Range{{0xc0000000, 0xc0000010}, {0xc0000010, 0xc0000020}}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), "c0000000 c0000010\nc0000010 c0000020\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, rs := range [][]Range{{{2, 2}}, {{0, 4}, {2, 6}}} {
		if err := WriteRanges(path, rs); err == nil {
			t.Errorf("%v: no error", rs)
		}
	}
}
