package qemu

import (
	"fmt"
	"strings"
	"time"
)

// excerptLines is how many of the last console lines an error carries.
const excerptLines = 40

// Output is the console evidence an error carries.
type Output struct {
	// LogPath is the full console log; the run directory holding it is
	// kept when the run fails.
	LogPath string
	// Tail is the last console lines (up to 40), without line ends.
	Tail []string
}

// Excerpt is the tail as one indented block, for printing under the
// one-line error.
func (o Output) Excerpt() string {
	var b strings.Builder
	for _, l := range o.Tail {
		b.WriteString("  | ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// BootError: the guest never reached the agent's "@@specbed ready" line.
// Err, when set, is why (a *CrashError or a *HangError); errors.As sees
// through a BootError to it.
type BootError struct {
	Platform string
	// Reason says what happened instead, in a few words.
	Reason string
	Err    error
	Output
}

func (e *BootError) Error() string {
	return fmt.Sprintf("%s guest did not boot (no '@@specbed ready'): %s; console log: %s",
		e.Platform, e.Reason, e.LogPath)
}

func (e *BootError) Unwrap() error { return e.Err }

// CrashError: the kernel oopsed or panicked, or the guest stopped before
// the agent finished.
type CrashError struct {
	Platform string
	// Title is the crash's first line without its timestamp, e.g.
	// "BUG: kernel NULL pointer dereference, address: 00000000".
	Title string
	// Fault is the faulting instruction, when the register dump named it.
	Fault Fault
	// Report is the crash's console lines, raw kernel addresses
	// annotated with their function ("{func+0xoff/0xsize}").
	Report []string
	Output
}

func (e *CrashError) Error() string {
	return fmt.Sprintf("%s guest %s; console log: %s", e.Platform, e.summary(), e.LogPath)
}

// summary says where and how the guest crashed.
func (e *CrashError) summary() string {
	where := ""
	switch {
	case e.Fault.Function != "":
		where = fmt.Sprintf(" in %s+0x%x", e.Fault.Function, e.Fault.Offset)
	case e.Fault.Address != 0:
		where = fmt.Sprintf(" at 0x%x (no symbol)", e.Fault.Address)
	}
	return fmt.Sprintf("crashed%s: %s", where, e.Title)
}

// HangError: the guest was killed at a timeout.
type HangError struct {
	Platform string
	// Silent is true for the no-output timeout, false for the overall one.
	Silent  bool
	Timeout time.Duration
	// LastLine is the last console line before the timeout.
	LastLine string
	Output
}

func (e *HangError) Error() string {
	return fmt.Sprintf("%s guest %s; console log: %s", e.Platform, e.summary(), e.LogPath)
}

// summary says which timeout killed the guest, and after what.
func (e *HangError) summary() string {
	what := fmt.Sprintf("did not finish within %v", e.Timeout)
	if e.Silent {
		what = fmt.Sprintf("printed nothing for %v", e.Timeout)
	}
	return fmt.Sprintf("hung: it %s and was killed (last console line: %q)", what, e.LastLine)
}

// AgentError: the guest ran, but the agent reported failing steps
// ("@@specbed error" lines or "done status=1"). It is a test failure,
// not a platform failure.
type AgentError struct {
	Platform string
	Status   int
	Errors   []StepError
	Output
}

func (e *AgentError) Error() string {
	var msgs []string
	for _, s := range e.Errors {
		msgs = append(msgs, fmt.Sprintf("step %d: %s", s.Step, s.Msg))
	}
	if len(msgs) == 0 {
		msgs = append(msgs, "no error line")
	}
	return fmt.Sprintf("%s agent reported failure (status %d): %s; console log: %s",
		e.Platform, e.Status, strings.Join(msgs, "; "), e.LogPath)
}
