package guards

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"specbed/qemu"
)

// The checks every guard test makes after its event (a close, an MSS
// change): the core's counters, no socket or memory leaked, a clean
// kernel log. They return errors for the caller to report, so that the
// tests of several packages (guards, tcpsend) share them.

// CheckCounters compares the named /proc/specnet counters of a counters
// step with want.
func CheckCounters(s qemu.StepResult, want map[string]int64) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(want)) {
		got, err := s.Counter(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if got != want[name] {
			errs = append(errs, fmt.Errorf("%s = %d, want %d", name, got, want[name]))
		}
	}
	return errors.Join(errs...)
}

// Released are the counters that are back at zero once every token is
// released or dead: no token, no socket or module reference, no
// residual bytes held.
var Released = map[string]int64{"tokens_live": 0, "refs_held": 0, "sockets_marked": 0, "residual_bytes": 0}

// MemFreeToleranceKB is how far MemFree may end below its start after
// an event without counting as a leak (kB). Freed objects do not all go
// back to the page allocator: SLUB keeps up to min_partial (5) partial or
// empty slabs per cache and a per-cpu slab, and the page allocator keeps
// per-cpu lists of free pages; sockets, files, skbs and tokens come from
// a dozen caches. A leak of one socket per round (about 1.5 kB with its
// file, dentry and inode) is 150 kB over 100 rounds and 1.5 MB over 1000.
const MemFreeToleranceKB = 96

// timeWaitKB bounds the memory of one TCP socket in TIME_WAIT (kB): a
// tcp_timewait_sock (under 200 bytes on i386) and its share of the slab.
// A leaked connection (socket, tcp_sock, file, inode: over 2 kB) is more.
const timeWaitKB = 1

// Reading is a protocol's sockstat line (SockstatUDP, SockstatTCP) and
// MemFree at one point of a boot (proc steps).
type Reading struct{ Sockets, MemFree qemu.StepResult }

// Leaks compares two readings. Every socket count of the sockstat line
// must be back, but mem (pages of buffers: what is in flight) and tw
// (TCP connections in TIME_WAIT, 60 s each after the guest closed first:
// no leak); closed sockets of the first reading are known to be gone
// (in use and allocated), such as a flow whose peer stays open. MemFree
// may end MemFreeToleranceKB plus timeWaitKB per socket more in
// TIME_WAIT below its start. It returns a line for the test's log.
func Leaks(before, after Reading, closed int64) (string, error) {
	words := strings.Fields(before.Sockets.Fields["line"])
	if len(words) < 3 {
		return "", fmt.Errorf("proc step %d: no sockstat line: %q", before.Sockets.Step, before.Sockets.Fields["line"])
	}
	var errs []error
	var tw int64
	for i := 1; i+1 < len(words); i += 2 {
		key := words[i]
		a, err := ProcValue(before.Sockets, key)
		if err != nil {
			return "", err
		}
		b, err := ProcValue(after.Sockets, key)
		if err != nil {
			return "", err
		}
		switch key {
		case "mem":
		case "tw":
			tw = b - a
		case "inuse", "alloc":
			a -= closed
			fallthrough
		default:
			if a != b {
				errs = append(errs, fmt.Errorf("%s sockets %s: %d before, %d after (%d closed)", words[0], key, a+closed, b, closed))
			}
		}
	}
	f0, err := ProcValue(before.MemFree, "MemFree:")
	if err != nil {
		return "", err
	}
	f1, err := ProcValue(after.MemFree, "MemFree:")
	if err != nil {
		return "", err
	}
	if tolerance := MemFreeToleranceKB + max(tw, 0)*timeWaitKB; f1 < f0-tolerance {
		errs = append(errs, fmt.Errorf("MemFree %d kB after, %d kB before: more than %d kB gone", f1, f0, tolerance))
	}
	log := fmt.Sprintf("sockets before %q, after %q; MemFree %d kB before, %d kB after (%+d kB; %d more sockets in TIME_WAIT)",
		before.Sockets.Fields["line"], after.Sockets.Fields["line"], f0, f1, f1-f0, tw)
	return log, errors.Join(errs...)
}

// kernelReport matches the first line of a SLUB debug report ("BUG
// kmalloc-64 (Not tainted): Poison overwritten"), which the console
// monitor's crash markers ("BUG: ") do not, and a kernel WARNING.
var kernelReport = regexp.MustCompile(`(?m)^(\[\s*\d+\.\d+\]\s*)?(BUG [\w.-]+ \(|WARNING: )`)

// KernelReport is the first line of a SLUB report or WARNING in a
// guest's console ("" when the log is clean). Boot with slub_debug=FZPU
// (SlubDebug) so that a use after free is reported at all.
func KernelReport(console string) string { return kernelReport.FindString(console) }

// SlubDebug turns on SLUB's sanity checks, red zones, poisoning and
// owner tracking for every cache (kernel parameter): a use after free of
// a socket, file or token is then reported on the console.
const SlubDebug = "slub_debug=FZPU"
