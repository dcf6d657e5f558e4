package plugin

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
)

// Snapshot is the plugin's counts at one moment. Counts are guest
// instructions executed since boot, cumulative.
type Snapshot struct {
	// Seq numbers the snapshots of a run from 0.
	Seq int
	// Trigger is the guest address whose execution took the snapshot;
	// Exit is true for the last one, written when QEMU ended.
	Trigger uint64
	Exit    bool
	// Total is every instruction executed.
	Total uint64
	// Ranges are the counts by range index; Addrs the counts of
	// instructions outside every range, by address. Both hold every
	// counter that ever counted, not only those that changed.
	Ranges map[int]uint64
	Addrs  map[uint64]uint64
}

// Sub returns the counts of s minus those of earlier (the window between
// the two snapshots); counters without instructions in it are dropped.
func (s *Snapshot) Sub(earlier *Snapshot) *Snapshot {
	d := &Snapshot{Seq: s.Seq, Trigger: s.Trigger, Exit: s.Exit, Total: s.Total - earlier.Total,
		Ranges: map[int]uint64{}, Addrs: map[uint64]uint64{}}
	for i, n := range s.Ranges {
		if n -= earlier.Ranges[i]; n != 0 {
			d.Ranges[i] = n
		}
	}
	for a, n := range s.Addrs {
		if n -= earlier.Addrs[a]; n != 0 {
			d.Addrs[a] = n
		}
	}
	return d
}

// ReadDump reads a plugin output file: its snapshots in order, each with
// the full counts (the file lists only changes).
func ReadDump(r io.Reader) ([]*Snapshot, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	next := func() ([]string, bool) {
		if !sc.Scan() {
			return nil, false
		}
		line++
		return strings.Fields(sc.Text()), true
	}
	if f, ok := next(); !ok || len(f) != 2 || f[0] != "specbed-insncount" || f[1] != "1" {
		return nil, fmt.Errorf("qemu plugin output: not a specbed-insncount 1 file")
	}
	var snaps []*Snapshot
	cur := &Snapshot{Ranges: map[int]uint64{}, Addrs: map[uint64]uint64{}}
	var open *Snapshot
	bad := func(format string, args ...any) error {
		return fmt.Errorf("qemu plugin output: line %d: %s", line, fmt.Sprintf(format, args...))
	}
	for {
		f, ok := next()
		if !ok {
			break
		}
		switch {
		case len(f) == 4 && f[0] == "snap" && open == nil:
			seq, err1 := strconv.Atoi(f[1])
			total, err2 := strconv.ParseUint(f[3], 10, 64)
			if err1 != nil || err2 != nil || seq != len(snaps) {
				return nil, bad("bad snap line %q", sc.Text())
			}
			open = &Snapshot{Seq: seq, Total: total, Exit: f[2] == "exit"}
			if !open.Exit {
				t, err := strconv.ParseUint(f[2], 16, 64)
				if err != nil {
					return nil, bad("bad trigger %q", f[2])
				}
				open.Trigger = t
			}
		case len(f) == 3 && (f[0] == "r" || f[0] == "p") && open != nil:
			n, err := strconv.ParseUint(f[2], 10, 64)
			if err != nil {
				return nil, bad("bad count %q", f[2])
			}
			if f[0] == "r" {
				i, err := strconv.Atoi(f[1])
				if err != nil || i < 0 {
					return nil, bad("bad range index %q", f[1])
				}
				cur.Ranges[i] = n
			} else {
				a, err := strconv.ParseUint(f[1], 16, 64)
				if err != nil {
					return nil, bad("bad address %q", f[1])
				}
				cur.Addrs[a] = n
			}
		case len(f) == 1 && f[0] == "end" && open != nil:
			open.Ranges, open.Addrs = maps.Clone(cur.Ranges), maps.Clone(cur.Addrs)
			snaps = append(snaps, open)
			open = nil
		default:
			return nil, bad("unexpected %q", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("qemu plugin output: %w", err)
	}
	if open != nil {
		return nil, fmt.Errorf("qemu plugin output: snapshot %d has no end (QEMU killed while writing?)", open.Seq)
	}
	return snaps, nil
}
