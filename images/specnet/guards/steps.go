// Package guards tests the guards of the specnet core module
// (images/specnet/core) in booted guests, starting with the close guard
// from a second task: the agent's closerace, fork and proc steps
// (images/agent/PROTOCOL.md) and what their results mean.
package guards

import (
	"fmt"
	"strconv"
	"strings"

	"specbed/qemu"
)

// CloseRaceStep makes Rounds rounds of: a UDP socket bound to SrcPort, a
// LOAD of the registered residual Name for Dst:Port (every round has the
// flow's context, so one residual serves them all), a second task that
// shares the agent's descriptor table closing the socket after round
// mod Spread good sends while the agent sends Size-byte datagrams through
// the token, RELEASE. The core and the residual must be loaded and the
// interface up, and no customize step may hold SrcPort.
type CloseRaceStep struct {
	Dst     string
	Port    int
	SrcPort int
	Name    string
	Rounds  int
	// Size is the payload of each send, in bytes.
	Size int
	// Spread is the number of close points (0: the agent's 16); After the
	// sends tried once the close returned (0: the agent's 4), which only
	// a disabled guard lets through.
	Spread, After int
	// GapMS is the sleep between two sends and between two looks of the
	// closer, in milliseconds; 0 yields instead (no pacing).
	GapMS int
	// InSend makes the closer also wait until the agent is inside a SEND
	// (looking with a yield), for a core loaded with send_hold_us, whose
	// SENDs sleep inside their token's guard: the close then lands in a
	// running send.
	InSend bool
}

func (s CloseRaceStep) String() string {
	b := fmt.Sprintf("closerace,dst=%s,port=%d,sport=%d,name=%s,rounds=%d,size=%d",
		s.Dst, s.Port, s.SrcPort, s.Name, s.Rounds, s.Size)
	if s.Spread != 0 {
		b += fmt.Sprintf(",spread=%d", s.Spread)
	}
	if s.After != 0 {
		b += fmt.Sprintf(",after=%d", s.After)
	}
	if s.GapMS != 0 {
		b += fmt.Sprintf(",gap_ms=%d", s.GapMS)
	}
	if s.InSend {
		b += ",in_send=1"
	}
	return b
}

// CloseRaceResult is the totals of a closerace step over its rounds.
type CloseRaceResult struct {
	Rounds int64
	// OK counts the sends that succeeded; OKAfterClose those of them that
	// started after the close had returned (the guard allows none).
	OK, OKAfterClose int64
	// EBADF counts the rounds whose first failed send failed with EBADF;
	// Unfailed those whose sends never failed (the agent stopped them
	// After sends past the close).
	EBADF, Unfailed int64
	// Other counts rounds whose first failure had another errno;
	// OtherErrno is the first such errno.
	Other, OtherErrno int64
	// CloseErrors and ReleaseErrors count failed close(2) calls and
	// RELEASEs (the dead token must still be released).
	CloseErrors, ReleaseErrors int64
	// InSend counts the sends the close started during as user space
	// sees it (between the agent's looks just before and after the SEND
	// ioctl, so its entry and exit count too; the core's
	// guard_close_waits says whether the send was running under the
	// guard); InSendOK those of them that succeeded; CloseFirst those
	// that returned after the close had returned.
	InSend, InSendOK, CloseFirst int64
}

// CloseRace reads the result of a closerace step.
func CloseRace(r qemu.StepResult) (CloseRaceResult, error) {
	var c CloseRaceResult
	err := readRace(r, "closerace", c.fields())
	return c, err
}

// raceField is a result field and where it goes.
type raceField struct {
	name string
	v    *int64
}

// fields are the fields closerace and tcpclose both report.
func (c *CloseRaceResult) fields() []raceField {
	return []raceField{
		{"rounds", &c.Rounds}, {"ok", &c.OK}, {"ok_after_close", &c.OKAfterClose},
		{"ebadf", &c.EBADF}, {"unfailed", &c.Unfailed}, {"other", &c.Other},
		{"other_errno", &c.OtherErrno}, {"close_errors", &c.CloseErrors},
		{"release_errors", &c.ReleaseErrors}, {"in_send", &c.InSend},
		{"in_send_ok", &c.InSendOK}, {"close_first", &c.CloseFirst},
	}
}

// readRace reads fields of a kind step (closerace, tcpclose: the
// agent's race_report).
func readRace(r qemu.StepResult, kind string, fields []raceField) error {
	if r.Kind != kind {
		return fmt.Errorf("step %d is a %s step, not %s", r.Step, r.Kind, kind)
	}
	for _, f := range fields {
		v, err := strconv.ParseInt(r.Fields[f.name], 10, 64)
		if err != nil {
			return fmt.Errorf("%s step %d: %s: %w", kind, r.Step, f.name, err)
		}
		*f.v = v
	}
	return nil
}

// ForkStep forks a child that closes its copy of the flow socket's
// descriptor when Close is set, then exits (closing every copy it has).
type ForkStep struct{ Close bool }

func (s ForkStep) String() string {
	if s.Close {
		return "fork,close=1"
	}
	return "fork"
}

// ForkErrno is the child's close(2) errno of a fork step (0 without close).
func ForkErrno(r qemu.StepResult) (int, error) {
	if r.Kind != "fork" {
		return 0, fmt.Errorf("step %d is a %s step, not fork", r.Step, r.Kind)
	}
	return strconv.Atoi(r.Fields["errno"])
}

// ProcStep reads the first line of Path that starts with Prefix.
type ProcStep struct{ Path, Prefix string }

func (s ProcStep) String() string {
	return fmt.Sprintf("proc,path=%s,prefix=%s", s.Path, s.Prefix)
}

// The /proc lines the leak checks read.
var (
	// SockstatUDP is "UDP: inuse <sockets> mem <pages>".
	SockstatUDP = ProcStep{Path: "/proc/net/sockstat", Prefix: "UDP:"}
	// MemFree is "MemFree: <n> kB".
	MemFree = ProcStep{Path: "/proc/meminfo", Prefix: "MemFree:"}
)

// ProcValue is the number that follows the word key in the line of a
// proc step: ProcValue(r, "inuse") of SockstatUDP, ProcValue(r,
// "MemFree:") of MemFree (kB).
func ProcValue(r qemu.StepResult, key string) (int64, error) {
	if r.Kind != "proc" {
		return 0, fmt.Errorf("step %d is a %s step, not proc", r.Step, r.Kind)
	}
	words := strings.Fields(r.Fields["line"])
	for i := 0; i+1 < len(words); i++ {
		if words[i] == key {
			v, err := strconv.ParseInt(words[i+1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("proc step %d: %q: %w", r.Step, r.Fields["line"], err)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("proc step %d: no %q in %q", r.Step, key, r.Fields["line"])
}
