package qemu

import (
	"fmt"
	"strconv"
	"strings"
)

// The guest agent's console protocol (images/agent/PROTOCOL.md): one line
// per message, "@@specbed KIND key=value ...", decimal numbers, string
// values with bytes <= 0x20, >= 0x7f and '%' escaped as %XX. The msg field
// of an error line is last, unescaped, and runs to the end of the line.
const agentPrefix = "@@specbed "

// Message kinds.
const (
	msgReady  = "ready"
	msgResult = "result"
	msgError  = "error"
	msgListen = "listen"
	msgDone   = "done"
)

// agentMessage is one protocol line.
type agentMessage struct {
	kind   string
	fields map[string]string
}

// parseAgentLine finds a protocol message in a console line. The prefix
// may follow other text: kernel messages can share the agent's line.
func parseAgentLine(line string) (agentMessage, bool) {
	i := strings.Index(line, agentPrefix)
	if i < 0 {
		return agentMessage{}, false
	}
	rest := strings.TrimSpace(line[i+len(agentPrefix):])
	kind, rest, _ := strings.Cut(rest, " ")
	msg := agentMessage{kind: kind, fields: map[string]string{}}
	for rest != "" {
		var word string
		if strings.HasPrefix(rest, "msg=") {
			word, rest = rest, ""
		} else {
			word, rest, _ = strings.Cut(rest, " ")
		}
		key, value, ok := strings.Cut(word, "=")
		if ok && key != "" {
			if key != "msg" {
				value = unescape(value)
			}
			msg.fields[key] = value
		}
		rest = strings.TrimLeft(rest, " ")
	}
	return msg, true
}

// unescape decodes %XX escapes; a malformed escape stays as it is.
func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Result is what the agent reported in one boot, with the conditions the
// numbers depend on.
type Result struct {
	Platform string `json:"platform"`
	Mode     Mode   `json:"mode"`
	// IcountShift: each guest instruction advanced virtual time by
	// 2^IcountShift ns.
	IcountShift int `json:"icount_shift"`
	// Agent and Arch are from the agent's ready line.
	Agent string `json:"agent"`
	Arch  string `json:"arch"`
	// ReadySeconds is the host wall time from QEMU's start to the agent's
	// ready line, in seconds.
	ReadySeconds float64 `json:"ready_seconds"`
	// Status is the agent's done status: 0 when every step succeeded.
	Status int          `json:"status"`
	Steps  []StepResult `json:"steps"`
}

// StepResult is the result line of one plan step. Exactly one of UDP and
// Insmod is set for those kinds; Fields holds every field as sent.
type StepResult struct {
	// Step is the step's index in the plan, from 0.
	Step   int               `json:"step"`
	Kind   string            `json:"kind"`
	UDP    *UDPResult        `json:"udp,omitempty"`
	Insmod *InsmodResult     `json:"insmod,omitempty"`
	Fields map[string]string `json:"fields"`
}

// UDPResult is a timed loop of UDP sends.
type UDPResult struct {
	Dev string `json:"dev"`
	// Size is the UDP payload of each send, in bytes.
	Size int `json:"size"`
	// Count is the number of timed sends (after warm-up).
	Count int `json:"count"`
	// NS is the guest's virtual time for the whole timed loop, in ns.
	NS int64 `json:"ns"`
	// Errors is the number of timed sends that failed; Errno the error of
	// the first failure (0 when none).
	Errors int `json:"errors"`
	Errno  int `json:"errno"`
	// NsPerSend is NS / Count: virtual ns per send.
	NsPerSend float64 `json:"ns_per_send"`
	// InstructionsPerSend is NS / Count / 2^shift: guest instructions per
	// send. Only a counting mode (CountMode) sets it: elsewhere virtual
	// time includes waits.
	InstructionsPerSend float64 `json:"instructions_per_send,omitempty"`
}

// InsmodResult is a module load.
type InsmodResult struct {
	Path string `json:"path"`
	// Errno is 0 on success, else the positive errno of finit_module
	// (e.g. 129, EKEYREJECTED, for a module without a valid signature).
	Errno int `json:"errno"`
}

// StepError is an error line of the agent.
type StepError struct {
	Step int    `json:"step"`
	Msg  string `json:"msg"`
}

// stepResult converts a result message, computing the per-send figures
// for the mode and shift of the run.
func stepResult(m agentMessage, mode Mode, shift int) (StepResult, error) {
	r := StepResult{Kind: m.fields["kind"], Fields: m.fields}
	var p fieldParser
	r.Step = p.int("step", m.fields)
	switch r.Kind {
	case "udp":
		u := &UDPResult{
			Dev:    m.fields["dev"],
			Size:   p.int("size", m.fields),
			Count:  p.int("count", m.fields),
			NS:     p.int64("ns", m.fields),
			Errors: p.int("errors", m.fields),
			Errno:  p.int("errno", m.fields),
		}
		if p.err == nil && u.Count <= 0 {
			p.err = fmt.Errorf("count=%d is not positive", u.Count)
		}
		if p.err == nil {
			u.NsPerSend = float64(u.NS) / float64(u.Count)
			if mode.Counts {
				u.InstructionsPerSend = u.NsPerSend / float64(int64(1)<<shift)
			}
		}
		r.UDP = u
	case "insmod":
		r.Insmod = &InsmodResult{Path: m.fields["path"], Errno: p.int("errno", m.fields)}
	}
	if p.err != nil {
		return StepResult{}, fmt.Errorf("agent result line %v: %w", m.fields, p.err)
	}
	return r, nil
}

// fieldParser reads decimal fields, keeping the first error.
type fieldParser struct{ err error }

func (p *fieldParser) int64(key string, fields map[string]string) int64 {
	v, ok := fields[key]
	if !ok {
		if p.err == nil {
			p.err = fmt.Errorf("no %s field", key)
		}
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("field %s: %w", key, err)
	}
	return n
}

func (p *fieldParser) int(key string, fields map[string]string) int {
	return int(p.int64(key, fields))
}

// UDPStep is the agent's udp step: Count timed sendto() calls of Size
// payload bytes (after Warmup untimed ones) from Src on Dev to Dst:Port.
type UDPStep struct {
	Dev, Src, Dst string
	Port          int
	// Size is the payload per datagram, in bytes.
	Size          int
	Count, Warmup int
}

func (s UDPStep) String() string {
	return fmt.Sprintf("udp,dev=%s,src=%s,dst=%s,port=%d,size=%d,count=%d,warmup=%d",
		s.Dev, s.Src, s.Dst, s.Port, s.Size, s.Count, s.Warmup)
}

// DummySendPlan is the send-cost measurement: for each payload size (in
// bytes), count timed UDP sends through dummy0, which drops every packet,
// so the figure is the kernel's send path alone, with no device and no
// inbound traffic.
func DummySendPlan(sizes []int, count, warmup int) []string {
	var plan []string
	for _, size := range sizes {
		plan = append(plan, UDPStep{
			Dev: "dummy0", Src: "10.0.0.1", Dst: "10.0.0.2", Port: 9,
			Size: size, Count: count, Warmup: warmup,
		}.String())
	}
	return plan
}
