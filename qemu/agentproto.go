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

// StepResult is the result line of one plan step. The field named after
// the kind is set for udp, insmod, net, fetch and the specnet steps;
// Fields holds every field as sent.
type StepResult struct {
	// Step is the step's index in the plan, from 0.
	Step   int           `json:"step"`
	Kind   string        `json:"kind"`
	UDP    *UDPResult    `json:"udp,omitempty"`
	Insmod *InsmodResult `json:"insmod,omitempty"`
	Net    *NetResult    `json:"net,omitempty"`
	Fetch  *FetchResult  `json:"fetch,omitempty"`
	// The specnet steps (specnetproto.go).
	Customize *CustomizeResult `json:"customize,omitempty"`
	Load      *LoadResult      `json:"load,omitempty"`
	Send      *SendResult      `json:"send,omitempty"`
	Counters  map[string]int64 `json:"counters,omitempty"`
	Release   *ReleaseResult   `json:"release,omitempty"`
	Rmmod     *RmmodResult     `json:"rmmod,omitempty"`
	// Setsockopt and Getsockopt are both a SockoptResult.
	Setsockopt *SockoptResult `json:"setsockopt,omitempty"`
	Getsockopt *SockoptResult `json:"getsockopt,omitempty"`
	// Close is set for the close and the dup steps.
	Close  *CloseResult      `json:"close,omitempty"`
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
	// NS is the guest's time for the load (fork, finit_module, wait), in
	// virtual ns (instructions x 2^shift in count mode).
	NS int64 `json:"ns"`
}

// NetResult is an interface the agent brought up.
type NetResult struct {
	Dev string `json:"dev"`
	// CarrierNS is how long the guest waited for the carrier after
	// bringing the interface up, in virtual ns.
	CarrierNS int64 `json:"carrier_ns"`
}

// FetchResult is one exchange with the specialization server.
type FetchResult struct {
	// Status is the server's status (0: a module came back).
	Status int `json:"status"`
	// CacheHit is the server's word that the module came from its cache.
	CacheHit bool `json:"cache_hit"`
	// PhasesNS are the server's phase timings in ns, in the protocol's
	// order (receive, analysis, specialization, compile, sign, ...).
	PhasesNS []int64 `json:"phases_ns"`
	// ModuleBytes is the size of the module, RequestBytes of the request.
	ModuleBytes  int `json:"module_bytes"`
	RequestBytes int `json:"request_bytes"`
	// ConnectNS is the TCP handshake and RoundTripNS the whole exchange
	// from before connect() to the module's last byte, both on the
	// guest's clock (virtual ns, which follow host time in network mode).
	ConnectNS   int64 `json:"connect_ns"`
	RoundTripNS int64 `json:"round_trip_ns"`
	// ReplyNS is the download: from the response's header in to the
	// module's last byte (guest clock, virtual ns; 0 from older agents).
	ReplyNS int64 `json:"reply_ns"`
	// Out is the module's path in the guest; Message the server's.
	Out     string `json:"out"`
	Message string `json:"message"`
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
			u.NsPerSend, u.InstructionsPerSend = perSend(u.NS, u.Count, mode, shift)
		}
		r.UDP = u
	case "insmod":
		r.Insmod = &InsmodResult{Path: m.fields["path"], Errno: p.int("errno", m.fields)}
		if _, ok := m.fields["ns"]; ok {
			r.Insmod.NS = p.int64("ns", m.fields)
		}
	case "net":
		r.Net = &NetResult{Dev: m.fields["dev"], CarrierNS: p.int64("carrier_ns", m.fields)}
	case "fetch":
		r.Fetch = &FetchResult{
			Status:       p.int("status", m.fields),
			CacheHit:     p.int("cache", m.fields) == 1,
			PhasesNS:     p.list("phases", m.fields),
			ModuleBytes:  p.int("bytes", m.fields),
			RequestBytes: p.int("request_bytes", m.fields),
			ConnectNS:    p.int64("connect_ns", m.fields),
			RoundTripNS:  p.int64("ns", m.fields),
			Out:          m.fields["out"],
			Message:      m.fields["message"],
		}
		if _, ok := m.fields["reply_ns"]; ok {
			r.Fetch.ReplyNS = p.int64("reply_ns", m.fields)
		}
	default:
		specnetResult(&r, &p, m, mode, shift)
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

// list reads a comma-separated list of decimal numbers ("" is empty).
func (p *fieldParser) list(key string, fields map[string]string) []int64 {
	v, ok := fields[key]
	if !ok {
		if p.err == nil {
			p.err = fmt.Errorf("no %s field", key)
		}
		return nil
	}
	if v == "" {
		return nil
	}
	var out []int64
	for _, word := range strings.Split(v, ",") {
		n, err := strconv.ParseInt(word, 10, 64)
		if err != nil {
			if p.err == nil {
				p.err = fmt.Errorf("field %s: %w", key, err)
			}
			return nil
		}
		out = append(out, n)
	}
	return out
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

// NetStep is the agent's net step: Dev gets Addr/Prefix and is brought
// up; the step waits for its carrier. With TTY set, Dev is the SLIP device
// that the N_SLIP line discipline makes of /dev/TTY at Baud bit/s, and
// Peer the other end of the point-to-point link. Gateway adds a default
// route; Neigh and LLAddr a static ARP entry. HWAddr, when set, replaces
// Dev's Ethernet address before it comes up.
type NetStep struct {
	Dev, Addr     string
	Prefix        int
	Peer, Gateway string
	Neigh, LLAddr string
	TTY           string
	Baud          int
	HWAddr        string
}

func (s NetStep) String() string {
	b := fmt.Sprintf("net,dev=%s,addr=%s,prefix=%d", s.Dev, s.Addr, s.Prefix)
	for _, f := range []struct{ key, val string }{
		{"peer", s.Peer}, {"gw", s.Gateway}, {"neigh", s.Neigh}, {"lladdr", s.LLAddr}, {"tty", s.TTY}, {"hwaddr", s.HWAddr},
	} {
		if f.val != "" {
			b += "," + f.key + "=" + f.val
		}
	}
	if s.Baud != 0 {
		b += fmt.Sprintf(",baud=%d", s.Baud)
	}
	return b
}

// FetchStep is the agent's fetch step: one request to the specialization
// server at Server:Port for kernel build Build and declaration Decl, with
// the context read from the guest file Context; the module goes to Out.
type FetchStep struct {
	Server      string
	Port        int
	Build, Decl string
	Context     string
	Out         string
}

func (s FetchStep) String() string {
	return fmt.Sprintf("fetch,server=%s,port=%d,build=%s,decl=%s,ctx=%s,out=%s",
		s.Server, s.Port, s.Build, s.Decl, s.Context, s.Out)
}

// InsmodStep is the agent's insmod step: finit_module() of the guest file
// Path.
type InsmodStep struct{ Path string }

func (s InsmodStep) String() string { return "insmod,path=" + s.Path }

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
