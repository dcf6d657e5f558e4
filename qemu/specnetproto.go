package qemu

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The agent's steps for the specnet core module (/dev/specnet, see
// images/agent/PROTOCOL.md and images/specnet/core/specnet_uapi.h): one
// flow socket per boot, CUSTOMIZE on it, LOAD of a residual into a token
// slot, timed sends through one of four paths, the module's counters,
// RELEASE and module removal; and what the application does to the flow
// socket that the guards of a specialized socket watch: setsockopt,
// getsockopt, close.

// msgData carries bytes a step hands to the host (the context of a
// customize step) in pieces that fit the agent's 1024-byte lines:
// "@@specbed data step=<i> off=<byte offset> text=<escaped bytes>".
const msgData = "data"

// SendPath is one of the ways the agent's send step sends a datagram.
type SendPath string

const (
	// PathSendto is the kernel's sendto() on the unconnected flow socket.
	PathSendto SendPath = "sendto"
	// PathSend is the kernel's send() on a socket connected to the flow's
	// destination (a fresh socket per step, with an ephemeral port).
	PathSend SendPath = "send"
	// PathGeneric is /dev/specnet's generic path (everything dynamic) on
	// the flow socket.
	PathGeneric SendPath = "generic"
	// PathSpecial is /dev/specnet's SEND on a token: the residual.
	PathSpecial SendPath = "special"
	// PathCustomized is the customized_send system call (kernel patch
	// 0006) on a token: the residual, without the ioctl.
	PathCustomized SendPath = "customized"
	// PathCustomizedGeneric is customized_send on a token with the
	// generic-path flag: the generic path on the token's socket and
	// destination, bound afresh per send, through the system call.
	PathCustomizedGeneric SendPath = "customized_generic"
)

// SendPaths lists the kernel's and /dev/specnet's paths in the order
// benchmarks report them; CustomizedSendPaths the customized_send system
// call's, which come after them.
func SendPaths() []SendPath { return []SendPath{PathSendto, PathSend, PathGeneric, PathSpecial} }

// CustomizedSendPaths: see SendPaths.
func CustomizedSendPaths() []SendPath { return []SendPath{PathCustomizedGeneric, PathCustomized} }

// UsesToken tells whether the path sends through the token in a slot.
func (p SendPath) UsesToken() bool {
	return p == PathSpecial || p == PathCustomized || p == PathCustomizedGeneric
}

// CustomizeStep opens the flow: a UDP socket bound to SrcPort (on any
// address) that sends to Dst:Port, and asks /dev/specnet for its
// specialization context, committing to ADU payload bytes per send. The
// interface must be up already (a net step).
type CustomizeStep struct {
	Dst     string
	Port    int
	SrcPort int
	// ADU is the application's fixed datagram payload, in bytes.
	ADU int
	// SoADU, when not 0, is set with setsockopt(SO_ADU) on the socket
	// before CUSTOMIZE (bytes): the kernel's context takes it over ADU.
	SoADU int
	// Out, when set, is a guest file the context is also written to, for
	// a later fetch step's ctx.
	Out string
	// Proto is "udp" (empty: the default) or "tcp": a TCP flow connects
	// to Dst:Port before CUSTOMIZE, and ADU is then bytes per send().
	Proto string
	// Flags are the MSG_* flags every send of the flow uses, as the
	// context records them (tcp.decl guards them: MSG_EOR for records).
	Flags int
	// Warmup is bytes a TCP flow sends through send() before CUSTOMIZE,
	// so that the peer's window has opened (tcp.decl guards its largest).
	Warmup int
	// SndBuf, when not 0, is SO_SNDBUF of a TCP flow (bytes, doubled by
	// the kernel), set before the connect: tcp.decl folds the send buffer
	// in, which the kernel would otherwise grow differently in every run.
	SndBuf int
	// Reuse customizes the open UDP flow socket again instead of opening
	// one: the context of the socket a token is bound to, as it is now.
	Reuse bool
}

func (s CustomizeStep) String() string {
	b := fmt.Sprintf("customize,dst=%s,port=%d,sport=%d,adu=%d", s.Dst, s.Port, s.SrcPort, s.ADU)
	if s.SoADU != 0 {
		b += fmt.Sprintf(",so_adu=%d", s.SoADU)
	}
	if s.Out != "" {
		b += ",out=" + s.Out
	}
	if s.Proto != "" {
		b += ",proto=" + s.Proto
	}
	if s.Flags != 0 {
		b += fmt.Sprintf(",flags=%d", s.Flags)
	}
	if s.Warmup != 0 {
		b += fmt.Sprintf(",warmup=%d", s.Warmup)
	}
	if s.SndBuf != 0 {
		b += fmt.Sprintf(",sndbuf=%d", s.SndBuf)
	}
	if s.Reuse {
		b += ",reuse=1"
	}
	return b
}

// LoadStep binds the registered residual module Name ("specnet_r_<hash>")
// to the flow and keeps the token in the agent's slot Slot (0..7). Policy
// is what SEND does when the residual refuses a send: "fallback" (the
// generic path, counted) or "refuse" (EINVAL).
type LoadStep struct {
	Slot int
	Name string
	// Ko, when set instead of Name, is a guest module file whose .modinfo
	// name the agent reads: the name of a module fetched during the boot.
	Ko     string
	Policy string
}

func (s LoadStep) String() string {
	ref := "name=" + s.Name
	if s.Ko != "" {
		ref = "ko=" + s.Ko
	}
	return fmt.Sprintf("load,slot=%d,%s,policy=%s", s.Slot, ref, s.Policy)
}

// SendStep times Count sends of Size payload bytes (after Warmup untimed
// ones) through Path; the token paths (UsesToken) use the token in Slot.
type SendStep struct {
	Path          SendPath
	Slot          int
	Size          int
	Count, Warmup int
	// Seed (0..255) is added to every payload byte: byte i is
	// (Seed + i) mod 256, so that datagrams of different steps differ.
	Seed int
	// Flags are the MSG_* flags of every send (0 by default), e.g.
	// MsgMore, which the generic path refuses (EOPNOTSUPP).
	Flags int
	// Duration, when not 0, bounds the timed sends by the guest's
	// CLOCK_MONOTONIC (whole ms; virtual time in count mode, in network
	// mode a clock that strays from the host's): the agent sends in
	// rounds of 16 until it passed, Count at most, and reports the sends
	// it made.
	Duration time.Duration
	// Stop, in a control session, sends in rounds of 16 until the host
	// writes a line ("stop") on the control channel, Count at most: sends
	// bounded by host time.
	Stop bool
}

// MsgMore is MSG_MORE, a flag of SendStep.Flags (the same on x86 and ARM).
const MsgMore = 0x8000

func (s SendStep) String() string {
	b := fmt.Sprintf("send,path=%s,size=%d,count=%d,warmup=%d", s.Path, s.Size, s.Count, s.Warmup)
	if s.Path.UsesToken() {
		b += fmt.Sprintf(",slot=%d", s.Slot)
	}
	if s.Seed != 0 {
		b += fmt.Sprintf(",seed=%d", s.Seed)
	}
	if s.Flags != 0 {
		b += fmt.Sprintf(",flags=%d", s.Flags)
	}
	if s.Duration != 0 {
		b += fmt.Sprintf(",ms=%d", s.Duration.Milliseconds())
	}
	if s.Stop {
		b += ",stop=1"
	}
	return b
}

// CountersStep reports every counter of /proc/specnet.
type CountersStep struct{}

func (CountersStep) String() string { return "counters" }

// ReleaseStep releases the token in Slot.
type ReleaseStep struct{ Slot int }

func (s ReleaseStep) String() string { return fmt.Sprintf("release,slot=%d", s.Slot) }

// RmmodStep unloads the module Name (delete_module, O_NONBLOCK).
type RmmodStep struct{ Name string }

func (s RmmodStep) String() string { return "rmmod,name=" + s.Name }

// Socket option levels and names of the guest kernels (x86 and ARM use
// asm-generic's numbers), for SetsockoptStep and GetsockoptStep.
const (
	SolSocket = 1
	SolIP     = 0
	// SoADU is kernel patch 0003's option: the committed data unit size.
	SoADU = 200
	// IPTTL is IP_TTL, an option the specialized path has as a constant.
	IPTTL = 2
)

// SetsockoptStep sets the int option Level/Name of the flow socket to
// Value; the result is the kernel's errno (EBUSY, 16, while a token
// marks the socket specialized).
type SetsockoptStep struct{ Level, Name, Value int }

func (s SetsockoptStep) String() string {
	return fmt.Sprintf("setsockopt,level=%d,name=%d,value=%d", s.Level, s.Name, s.Value)
}

// GetsockoptStep reads the int option Level/Name of the flow socket.
type GetsockoptStep struct{ Level, Name int }

func (s GetsockoptStep) String() string {
	return fmt.Sprintf("getsockopt,level=%d,name=%d", s.Level, s.Name)
}

// DupStep duplicates the flow socket's descriptor (dup(2)).
type DupStep struct{}

func (DupStep) String() string { return "dup" }

// CloseStep closes the flow socket, or its dup if Dup, from the agent's
// thread; the tokens stay in their slots (the close guard makes SENDs on
// those bound to the closed descriptor fail, EBADF).
type CloseStep struct{ Dup bool }

func (s CloseStep) String() string {
	if s.Dup {
		return "close,which=dup"
	}
	return "close"
}

// CustomizeResult is the context CUSTOMIZE collected in the guest kernel.
type CustomizeResult struct {
	// Context is the specbed.context/v1 JSON, as the kernel wrote it.
	Context []byte `json:"context"`
	// NS is the guest's time for SPECNET_CUSTOMIZE (the context's
	// collection), in virtual ns.
	NS int64 `json:"ns"`
}

// LoadResult is a LOAD: the token (> 0) or the kernel's errno.
type LoadResult struct {
	Slot  int    `json:"slot"`
	Name  string `json:"name"`
	Token int64  `json:"token"`
	Errno int    `json:"errno"`
}

// SendResult is a timed loop of sends through one path.
type SendResult struct {
	Path SendPath `json:"path"`
	// Size is the payload of each send, in bytes; Count the timed sends.
	Size   int `json:"size"`
	Count  int `json:"count"`
	Warmup int `json:"warmup"`
	// NS is the guest's virtual time for the timed loop, in ns.
	NS int64 `json:"ns"`
	// Errors counts timed sends that failed; Errno is the first one's.
	Errors int `json:"errors"`
	Errno  int `json:"errno"`
	// NsPerSend is NS / Count (virtual ns); InstructionsPerSend is
	// NS / Count / 2^shift, set only in a counting mode.
	NsPerSend           float64 `json:"ns_per_send"`
	InstructionsPerSend float64 `json:"instructions_per_send,omitempty"`
}

// ReleaseResult is a RELEASE of the token in Slot.
type ReleaseResult struct {
	Slot  int   `json:"slot"`
	Token int64 `json:"token"`
	Errno int   `json:"errno"`
}

// RmmodResult is a module removal: 0 or delete_module's errno (11,
// EWOULDBLOCK, while a token still pins the module or another module
// depends on it).
type RmmodResult struct {
	Name  string `json:"name"`
	Errno int    `json:"errno"`
}

// SockoptResult is a setsockopt or getsockopt of an int option: Value is
// what was set or read (0 when getsockopt failed), Errno the kernel's.
type SockoptResult struct {
	Level int `json:"level"`
	Name  int `json:"name"`
	Value int `json:"value"`
	Errno int `json:"errno"`
}

// CloseResult is close(2) of the flow socket or its dup, or the dup(2):
// 0 or the errno.
type CloseResult struct {
	Errno int `json:"errno"`
}

// specnetResult fills the StepResult field of a specnet step kind; it
// reports whether kind is one.
func specnetResult(r *StepResult, p *fieldParser, m agentMessage, mode Mode, shift int) bool {
	f := m.fields
	switch r.Kind {
	case "customize":
		r.Customize = &CustomizeResult{}
		p.int("bytes", f)
		if _, ok := f["ns"]; ok {
			r.Customize.NS = p.int64("ns", f)
		}
	case "load":
		r.Load = &LoadResult{Slot: p.int("slot", f), Name: f["name"], Token: p.int64("token", f), Errno: p.int("errno", f)}
	case "send":
		s := &SendResult{
			Path:   SendPath(f["path"]),
			Size:   p.int("size", f),
			Count:  p.int("count", f),
			Warmup: p.int("warmup", f),
			NS:     p.int64("ns", f),
			Errors: p.int("errors", f),
			Errno:  p.int("errno", f),
		}
		if p.err == nil && s.Count <= 0 {
			p.err = fmt.Errorf("count=%d is not positive", s.Count)
		}
		if p.err == nil {
			s.NsPerSend, s.InstructionsPerSend = perSend(s.NS, s.Count, mode, shift)
		}
		r.Send = s
	case "counters":
		r.Counters = map[string]int64{}
		for k := range f {
			if k != "step" && k != "kind" {
				r.Counters[k] = p.int64(k, f)
			}
		}
	case "release":
		r.Release = &ReleaseResult{Slot: p.int("slot", f), Token: p.int64("token", f), Errno: p.int("errno", f)}
	case "rmmod":
		r.Rmmod = &RmmodResult{Name: f["name"], Errno: p.int("errno", f)}
	case "setsockopt", "getsockopt":
		o := &SockoptResult{Level: p.int("level", f), Name: p.int("name", f), Value: p.int("value", f), Errno: p.int("errno", f)}
		if r.Kind == "setsockopt" {
			r.Setsockopt = o
		} else {
			r.Getsockopt = o
		}
	case "close", "dup":
		r.Close = &CloseResult{Errno: p.int("errno", f)}
	default:
		return false
	}
	return true
}

// perSend divides a timed loop's virtual ns by its sends; in a counting
// mode it also gives instructions per send (ns / count / 2^shift).
func perSend(ns int64, count int, mode Mode, shift int) (nsPerSend, insnsPerSend float64) {
	nsPerSend = float64(ns) / float64(count)
	if mode.Counts {
		insnsPerSend = nsPerSend / float64(int64(1)<<shift)
	}
	return nsPerSend, insnsPerSend
}

// stepData collects the data lines of the steps of one run.
type stepData map[int][]byte

// add appends one data line's bytes; pieces must arrive in order.
func (d stepData) add(m agentMessage) error {
	var p fieldParser
	step, off := p.int("step", m.fields), p.int("off", m.fields)
	text, ok := m.fields["text"]
	if p.err == nil && !ok {
		p.err = fmt.Errorf("no text field")
	}
	if p.err == nil && off != len(d[step]) {
		p.err = fmt.Errorf("piece at offset %d, want %d", off, len(d[step]))
	}
	if p.err != nil {
		return fmt.Errorf("agent data line %v: %w", m.fields, p.err)
	}
	d[step] = append(d[step], text...)
	return nil
}

// attach gives a customize result the bytes its step sent, which must be
// as many as its bytes field says.
func (d stepData) attach(r *StepResult) error {
	if r.Customize == nil {
		return nil
	}
	want, err := strconv.Atoi(r.Fields["bytes"])
	if err != nil {
		return fmt.Errorf("customize result: bytes: %w", err)
	}
	got := d[r.Step]
	if len(got) != want {
		return fmt.Errorf("customize step %d: %d context bytes arrived, the agent sent %d", r.Step, len(got), want)
	}
	r.Customize.Context = got
	delete(d, r.Step)
	return nil
}

// Counter returns one counter of a counters result; a missing one is an
// error that lists those the module reported.
func (r *StepResult) Counter(name string) (int64, error) {
	v, ok := r.Counters[name]
	if !ok {
		names := make([]string, 0, len(r.Counters))
		for k := range r.Counters {
			names = append(names, k)
		}
		return 0, fmt.Errorf("step %d: /proc/specnet has no counter %q (has %s)", r.Step, name, strings.Join(names, ", "))
	}
	return v, nil
}
