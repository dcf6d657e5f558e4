package repro

import (
	"context"
	"fmt"
	"time"

	"specbed/images/specnet/tcpsend"
	"specbed/qemu"
	"specbed/results"
	"specbed/specializer/ctxschema"
	"specbed/vnet"
)

// The TCP stream over a NIC, like netperf's TCP_STREAM: a connection from
// the x86 guest's data NIC over the 1 Gbit/s data link to a stream checker
// on the sink host, which checks every byte.
const (
	protocolTCP = "tcp"
	// TCPMSS is the connection's MSS (bytes) and TCPADU the
	// application's bytes per send (two MSS: tcp.decl unrolls the
	// segment loop for it), those of the count-mode loopback flow.
	TCPMSS = tcpsend.MSS
	TCPADU = tcpsend.ADU
	// TCPStreamCount timed sends per iteration and path (about 870 KB),
	// after TCPStreamWarmup untimed ones (about 174 KB: more than the
	// send buffer holds, so that what the previous path queued has left
	// before the timed sends start).
	TCPStreamCount  = 300
	TCPStreamWarmup = 60
	// tcpCheckPort is the stream checker's port on the sink host (the
	// sink itself listens on vnet.SinkPort).
	tcpCheckPort = 5001
	// tcpSrcPort is the connection's port (fixed: the context holds it).
	tcpSrcPort = 40000
	// tcpFlags are the sends' MSG_* flags and TCPSndBuf the
	// connection's SO_SNDBUF (bytes), the loopback flow's (tcpsend).
	tcpFlags  = tcpsend.SendFlags
	TCPSndBuf = tcpsend.SndBuf
	// TCPWarmup is what CUSTOMIZE sends before it reads the context
	// (bytes, whole ADUs): the peer's window opens to its largest.
	TCPWarmup = (256 << 10) / TCPADU * TCPADU
	// tcpSlot holds the residual's token. Its policy is fallback: a send
	// a guard declines goes through the generic path, and the core's
	// counters tell how many the residual made.
	tcpSlot = 0
	// tcpSettle is how long (host wall time) the checker may take to
	// receive what the guest queued before it ended.
	tcpSettle = 30 * time.Second
	// tcpTail keeps the guest up after the last send (virtual ms): send()
	// returns once the data is queued, and the kernel sends the rest.
	tcpTail = 3000
)

// tcpSpecialized reaches the residual the paper's way: customized_send.
const tcpSpecialized = qemu.PathCustomized

// tcpStreamPaths are the TCP stream's paths, in the order of its plan:
// the kernel's send() on the connection, the core module's generic path
// and the residual.
var tcpStreamPaths = []qemu.SendPath{qemu.PathSend, qemu.PathGeneric, tcpSpecialized}

// TCPConfidence is the paper's rule for TCP, +-2.5% at 99% (a quick run
// stops at three iterations whatever the interval). Max is what fits the
// x86 kernel command line (tcpPlanFits).
func TCPConfidence(quick bool) Confidence {
	c := Confidence{Level: 0.99, Width: 0.05, Min: 3, Max: 6}
	if quick {
		c.Max = 3
	}
	return c
}

// tcpFlow is the connection's CUSTOMIZE step, the same in both boots.
func tcpFlow() qemu.CustomizeStep {
	return qemu.CustomizeStep{Dst: vnet.SinkIP, Port: tcpCheckPort, SrcPort: tcpSrcPort, ADU: TCPADU,
		Proto: protocolTCP, Flags: tcpFlags, Warmup: TCPWarmup, SndBuf: TCPSndBuf}
}

// tcpStreamPlan is the measurement boot: it connects, collects the
// connection's context, fetches its residual from the server (tcp.decl,
// compiled with the context's digest, which LOAD checks), loads it on the
// connection and sends through the paths Max times, interleaved so that
// a change in the host's load falls on all of them, between two counter
// reports.
func (e *Platform) tcpStreamPlan(c Confidence) []string {
	plan := append(netPlan(e.P), e.fetchSteps(tcpFlow(), protocolTCP, tcpSlot, "fallback")...)
	plan = append(plan, qemu.CountersStep{}.String())
	for range c.Max {
		for _, path := range tcpStreamPaths {
			plan = append(plan, qemu.SendStep{Path: path, Slot: tcpSlot, Size: TCPADU, Count: TCPStreamCount,
				Warmup: TCPStreamWarmup, Flags: tcpFlags}.String())
		}
	}
	return append(plan, qemu.CountersStep{}.String(), fmt.Sprintf("sleep,ms=%d", tcpTail))
}

// streamChecker runs a vnet.StreamCheck on the sink host for one boot
// and waits for want bytes after it.
type streamChecker struct {
	want  int64
	check *vnet.StreamCheck
}

func (s *streamChecker) start(ctx context.Context, h *vnet.Host) error {
	c, err := vnet.StartStreamCheck(ctx, h, tcpCheckPort, TCPADU)
	s.check = c
	return err
}

func (s *streamChecker) settle() { s.check.Wait(s.want, tcpSettle) }

// TCPStreamRun is a platform's TCP stream.
type TCPStreamRun struct {
	Results []StreamResult
	// Sent is the stream's bytes (warm-up included), Checked those the
	// checker received in order.
	Sent, Checked int64
	// Specialized counts the sends the residual made, of Token sends on
	// the token (the rest fell back to the generic path).
	Specialized, Token int64
	// Residual is the fetched module's name; ResidualBytes its size.
	Residual      string
	ResidualBytes int
}

// MeasureTCPStream measures netperf's TCP_STREAM, sender side, over the
// data NIC in network mode, in one boot: the guest connects to the stream
// checker, collects the connection's context, fetches the residual of
// tcp.decl for it (ADU two MSS) from r's server and loads it, then sends
// through send(), the generic path and the residual in turn until the
// confidence rule is met or Max iterations ran. Every byte must reach the
// checker in order, the connection's MSS must be TCPMSS, and the residual
// must have made at least 99% of the token's sends.
func (e *Platform) MeasureTCPStream(ctx context.Context, r *Remote, c Confidence) (*TCPStreamRun, error) {
	if e.P.Link != qemu.LinkEthernet {
		return nil, fmt.Errorf("%s: no data NIC (its only link is %s)", e.P.Name, e.P.Link)
	}
	e.step(fmt.Sprintf("TCP stream: %d-byte sends through send(), generic, specialized (network mode)", TCPADU))
	perStep := int64(TCPStreamCount+TCPStreamWarmup) * TCPADU
	check := &streamChecker{want: TCPWarmup + int64(c.Max*len(tcpStreamPaths))*perStep}
	boot, err := e.bootNetwork(ctx, r, e.coreFiles(), e.tcpStreamPlan(c), check)
	if err != nil {
		return nil, fmt.Errorf("%s: TCP stream boot: %w", e.P.Name, err)
	}
	res := boot.res
	fetched, err := checkFetched(res)
	if err != nil {
		return nil, fmt.Errorf("%s: TCP stream boot: %w", e.P.Name, err)
	}
	cx, err := ctxschema.Load(fetched.context)
	if err != nil {
		return nil, fmt.Errorf("%s: TCP stream boot: the guest's context: %w", e.P.Name, err)
	}
	if mss := cx.Values["tp->mss_cache"].Bits; mss != TCPMSS {
		return nil, fmt.Errorf("%s: TCP stream: the connection's MSS is %d bytes, want %d", e.P.Name, mss, TCPMSS)
	}
	out := &TCPStreamRun{Residual: fetched.name, ResidualBytes: fetched.moduleBytes, Checked: check.check.Good()}
	rs, sent, err := streamResults(res, TCPADU, c, tcpStreamPaths)
	if err != nil {
		return nil, fmt.Errorf("%s: TCP stream boot: %w", e.P.Name, err)
	}
	out.Results, out.Sent = rs, TCPWarmup+sent*TCPADU
	if bad := check.check.FirstBad(); bad >= 0 || out.Checked != out.Sent {
		return nil, fmt.Errorf("%s: TCP stream: the checker got %d of %d bytes in order (first bad byte at %d)",
			e.P.Name, out.Checked, out.Sent, bad)
	}
	var counters []map[string]int64
	for _, s := range res.Steps {
		if s.Counters != nil {
			counters = append(counters, s.Counters)
		}
	}
	if len(counters) != 2 {
		return nil, fmt.Errorf("%s: TCP stream boot: %d counter reports, want 2", e.P.Name, len(counters))
	}
	out.Specialized = counters[1]["sends_specialized"] - counters[0]["sends_specialized"]
	out.Token = int64(c.Max * (TCPStreamCount + TCPStreamWarmup))
	if out.Specialized*100 < out.Token*99 {
		return nil, fmt.Errorf("%s: TCP stream: the residual made %d of the token's %d sends (counters %v then %v)",
			e.P.Name, out.Specialized, out.Token, counters[0], counters[1])
	}
	return out, nil
}

// Rates returns the run's throughputs as figure rows (size: the ADU).
func (r *TCPStreamRun) Rates(platform string) []results.StreamRate {
	var out []results.StreamRate
	for _, s := range r.Results {
		out = append(out, results.StreamRate{Platform: platform, Protocol: protocolTCP, SizeBytes: s.SizeBytes,
			MSSBytes: TCPMSS, Path: s.Path, MbitPerS: s.MbitPerS, Iterations: s.Iterations,
			IntervalWidth: s.IntervalWidth, Met: s.Met})
	}
	return out
}
