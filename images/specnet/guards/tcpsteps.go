package guards

import (
	"fmt"
	"strconv"
	"strings"

	"specbed/qemu"
)

// TCPClosePeriod is the period of the tcpclose step's stream pattern
// (bytes): byte o of each connection is o mod TCPClosePeriod, whatever
// sizes the sends were cut to.
const TCPClosePeriod = 251

// TCPCloseStep makes Rounds rounds of: a TCP connection to Dst:Port (a
// fixed SO_SNDBUF, an ephemeral source port), a LOAD of the registered
// TCP residual Name with the refuse policy, a second task that shares
// the agent's descriptor table closing the socket while the agent sends
// Size-byte records through customized_send, RELEASE
// (images/agent/thread_tcpclose.c). The core and the residual must be
// loaded and the interface up.
type TCPCloseStep struct {
	Dst    string
	Port   int
	Name   string
	Rounds int
	// Size is the bytes of each send; Flags its MSG_* flags (the
	// residual's); SndBuf the socket's SO_SNDBUF (bytes, doubled by the
	// kernel), as in the context the residual was made for.
	Size, Flags, SndBuf int
	// Spread, After, GapMS and InSend: as CloseRaceStep's.
	Spread, After, GapMS int
	InSend               bool
	// MemWait rounds close while a send sleeps in the memory wait: Port's
	// listener must not read until a datagram to GoPort (on Dst) says
	// that the close returned; GapMS is then how long the closer watches
	// a send before it counts it as asleep.
	MemWait bool
	GoPort  int
}

func (s TCPCloseStep) String() string {
	b := fmt.Sprintf("tcpclose,dst=%s,port=%d,name=%s,rounds=%d,size=%d,flags=%d,sndbuf=%d",
		s.Dst, s.Port, s.Name, s.Rounds, s.Size, s.Flags, s.SndBuf)
	for _, f := range []struct {
		key string
		v   int
	}{{"spread", s.Spread}, {"after", s.After}, {"gap_ms", s.GapMS}, {"go_port", s.GoPort}} {
		if f.v != 0 {
			b += fmt.Sprintf(",%s=%d", f.key, f.v)
		}
	}
	if s.InSend {
		b += ",in_send=1"
	}
	if s.MemWait {
		b += ",memwait=1"
	}
	return b
}

// TCPCloseResult is the totals of a tcpclose step over its rounds: a
// closerace's (OK counts the sends that returned a byte count; EBADF the
// rounds that ended in EBADF, Other those that ended in another errno)
// and what a stream adds.
type TCPCloseResult struct {
	CloseRaceResult
	// Bytes is the sum of the good sends' counts (bytes queued on the
	// connections), Partial the sends that queued less than Size; EPIPE
	// counts the sends that failed with EPIPE (a send the close found
	// asleep in the memory wait).
	Bytes, Partial, EPIPE int64
	// CloseInWait counts memwait rounds whose close returned while the
	// send it found asleep still slept; GoErrors failed go datagrams.
	CloseInWait, GoErrors int64
}

// TCPClose reads the result of a tcpclose step.
func TCPClose(r qemu.StepResult) (TCPCloseResult, error) {
	var c TCPCloseResult
	err := readRace(r, "tcpclose", append(c.fields(), []raceField{
		{"bytes", &c.Bytes}, {"partial", &c.Partial}, {"epipe", &c.EPIPE},
		{"close_in_wait", &c.CloseInWait}, {"go_errors", &c.GoErrors},
	}...))
	return c, err
}

// SockstatTCP is "TCP: inuse <sockets> orphan <n> tw <n> alloc <n> mem <pages>".
var SockstatTCP = ProcStep{Path: "/proc/net/sockstat", Prefix: "TCP:"}

// SNMP's header and value lines of the IP MIB in /proc/net/snmp: both
// lines start with its name, so the value line is found by its first
// value (Forwarding 2: the guest does not route).
var (
	SNMPIPHeader = ProcStep{Path: "/proc/net/snmp", Prefix: "Ip:%20Forwarding"}
	SNMPIPValues = ProcStep{Path: "/proc/net/snmp", Prefix: "Ip:%202%20"}
)

// SNMPField is the value of field name of a MIB from its header and value
// lines (proc steps), e.g. SNMPField(h, v, "FragFails").
func SNMPField(header, values qemu.StepResult, name string) (int64, error) {
	for _, r := range []qemu.StepResult{header, values} {
		if r.Kind != "proc" {
			return 0, fmt.Errorf("step %d is a %s step, not proc", r.Step, r.Kind)
		}
	}
	h, v := strings.Fields(header.Fields["line"]), strings.Fields(values.Fields["line"])
	if len(h) != len(v) || len(h) == 0 || h[0] != v[0] {
		return 0, fmt.Errorf("snmp lines %q and %q do not match", header.Fields["line"], values.Fields["line"])
	}
	for i, f := range h[1:] {
		if f == name {
			n, err := strconv.ParseInt(v[i+1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("snmp %s %s: %w", h[0], name, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("snmp %s has no field %s", h[0], name)
}
