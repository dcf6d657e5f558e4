package qemu

import (
	"fmt"
	"regexp"
	"strings"
)

// crashMarkers begin a kernel crash report, matched at the start of a
// console line without its printk timestamp. A WARNING is not among
// them: the kernel carries on after one.
var crashMarkers = []string{
	"Kernel panic - not syncing",
	"BUG: ",
	"kernel BUG at ",
	"Unable to handle kernel ",
	"Unhandled fault: ",
	"Internal error: ",
	"general protection fault",
	"Oops: ",
	"invalid opcode: ",
	"divide error: ",
	"double fault: ",
	"stack segment: ",
}

// reportEnd closes a crash report ("---[ end trace ... ]---", "---[ end
// Kernel panic - not syncing: ... ]---"); after panicEnd the kernel prints
// nothing more.
const (
	reportEnd = "---[ end "
	panicEnd  = "---[ end Kernel panic"
)

// maxReportLines bounds a crash report; the console log has everything.
const maxReportLines = 200

var printkTimestamp = regexp.MustCompile(`^\[\s*\d+\.\d+\]\s?`)

// event is what a console line meant to the run.
type event int

const (
	evNone     event = iota
	evReady          // the agent is up
	evListen         // a ctl step waits for control-channel input
	evDone           // the agent finished its plan
	evCrash          // a crash report began
	evPanicEnd       // a panic report ended: the guest is dead
)

// crashReport accumulates the lines of a kernel crash: of the first
// report, and of any report that follows (an oops in init is followed by
// a panic).
type crashReport struct {
	title      string
	fault      Fault
	faultFound bool
	lines      []string
	// open is true while a report is printing.
	open bool
}

// consoleMonitor classifies console lines and collects the agent's
// messages. One goroutine owns it.
type consoleMonitor struct {
	mode    Mode
	shift   int
	symbols *Symbolizer // nil: no annotation of raw addresses

	tail []string // the last excerptLines lines

	ready       bool
	agent, arch string
	done        bool
	status      int
	steps       []StepResult
	data        stepData // data lines of steps whose result is still to come
	agentErrors []StepError
	protocolErr error // the first malformed agent line
	crash       *crashReport
}

func newConsoleMonitor(mode Mode, shift int, symbols *Symbolizer) *consoleMonitor {
	return &consoleMonitor{mode: mode, shift: shift, symbols: symbols, data: stepData{}}
}

// feed classifies one console line (without its line end).
func (m *consoleMonitor) feed(line string) event {
	line = strings.TrimRight(line, "\r")
	m.tail = append(m.tail, line)
	if len(m.tail) > excerptLines {
		m.tail = m.tail[len(m.tail)-excerptLines:]
	}
	if msg, ok := parseAgentLine(line); ok {
		return m.agentMessage(msg)
	}
	text := printkTimestamp.ReplaceAllString(line, "")
	ev := evNone
	if isCrashStart(text) {
		if m.crash == nil {
			m.crash = &crashReport{title: text}
			ev = evCrash
		}
		m.crash.open = true
	}
	if m.crash == nil || !m.crash.open {
		return ev
	}
	m.crashLine(text)
	if strings.HasPrefix(text, reportEnd) {
		m.crash.open = false
	}
	if strings.HasPrefix(text, panicEnd) {
		return evPanicEnd
	}
	return ev
}

func isCrashStart(text string) bool {
	for _, marker := range crashMarkers {
		if strings.HasPrefix(text, marker) {
			return true
		}
	}
	return false
}

// crashLine adds a line to the crash report and takes the first
// register dump's faulting instruction.
func (m *consoleMonitor) crashLine(text string) {
	if len(m.crash.lines) < maxReportLines {
		m.crash.lines = append(m.crash.lines, m.symbols.Annotate(text))
	}
	if !m.crash.faultFound {
		m.crash.fault, m.crash.faultFound = m.symbols.faultOf(text)
	}
}

func (m *consoleMonitor) agentMessage(msg agentMessage) event {
	switch msg.kind {
	case msgReady:
		m.ready = true
		m.agent, m.arch = msg.fields["agent"], msg.fields["arch"]
		return evReady
	case msgResult:
		r, err := stepResult(msg, m.mode, m.shift)
		if err != nil {
			m.protocolFailure(err)
			return evNone
		}
		if err := m.data.attach(&r); err != nil {
			m.protocolFailure(err)
			return evNone
		}
		m.steps = append(m.steps, r)
	case msgData:
		if err := m.data.add(msg); err != nil {
			m.protocolFailure(err)
		}
	case msgError:
		var p fieldParser
		step := p.int("step", msg.fields)
		if p.err != nil {
			// An error outside any step (e.g. a bad plan) has none.
			step = -1
		}
		m.agentErrors = append(m.agentErrors, StepError{Step: step, Msg: msg.fields["msg"]})
	case msgListen:
		return evListen
	case msgDone:
		var p fieldParser
		m.status = p.int("status", msg.fields)
		if p.err != nil {
			m.protocolFailure(fmt.Errorf("agent done line %v: %w", msg.fields, p.err))
			m.status = 1
		}
		m.done = true
		return evDone
	default:
		m.protocolFailure(fmt.Errorf("unknown agent message %q", msg.kind))
	}
	return evNone
}

func (m *consoleMonitor) protocolFailure(err error) {
	if m.protocolErr == nil {
		m.protocolErr = err
	}
}

// lastLine is the last non-empty console line.
func (m *consoleMonitor) lastLine() string {
	for i := len(m.tail) - 1; i >= 0; i-- {
		if strings.TrimSpace(m.tail[i]) != "" {
			return m.tail[i]
		}
	}
	return ""
}

// output is the evidence for an error.
func (m *consoleMonitor) output(logPath string) Output {
	return Output{LogPath: logPath, Tail: append([]string(nil), m.tail...)}
}

// crashError builds the error of the crash seen.
func (m *consoleMonitor) crashError(platform, logPath string) *CrashError {
	return &CrashError{
		Platform: platform,
		Title:    m.crash.title,
		Fault:    m.crash.fault,
		Report:   m.crash.lines,
		Output:   m.output(logPath),
	}
}
