package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"specbed/images/specnet/paths"
	"specbed/images/specnet/routeguard"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
	"specbed/vnet"
)

// ProtoTCP is the workload protocol of a TCP stream.
const ProtoTCP = "tcp"

// A TCP workload is one connection from the guest's data NIC (x86) or
// SLIP line (SA-1110, through the router) to a stream checker on the sink
// host (vnet.StreamCheck), which checks every byte of it.
const (
	// TCPMSS is the connection's MSS (bytes): the data link's 1500-byte
	// MTU less the IP and TCP headers and the timestamp option. A TCP
	// workload's sizes are multiples of it (tcp.decl's ADU).
	TCPMSS = 1448
	// tcpPort is the stream checker's port on the sink host.
	tcpPort = 5001
	// tcpFlags are every send's MSG_* flags: records (MSG_EOR, which
	// tcp.decl's write-queue guard needs) and MSG_NOSIGNAL, so that a
	// reset peer fails a send instead of killing the agent.
	tcpFlags = 0x80 | 0x4000
	// tcpWindowWarmup is about the bytes the connection sends through
	// send() before CUSTOMIZE (whole ADUs), so that the peer's window has
	// opened; slipWindowWarmup on the SLIP line (2.4 s of line time).
	tcpWindowWarmup  = 256 << 10
	slipWindowWarmup = 64 << 10
	// slipMTU is the SA-1110's SLIP MTU for a TCP flow (bytes), on sl0
	// and the router's end: the MSS and ADU are then the x86 guests'
	// (Linux's sl0 default of 296 would give an MSS of 244).
	slipMTU = 1500
	// tcpSndBuf is the connection's SO_SNDBUF (bytes, doubled by the
	// kernel): fixed, so that the context is the same in every boot.
	tcpSndBuf = 64 << 10
	// tcpDrainTimeout bounds the host's wait, before the guest ends, for
	// the stream checker to get every byte the sends queued (host time),
	// beyond the SLIP line's time for the stream.
	tcpDrainTimeout = time.Minute
)

// tcpDrain is how long the host waits at most for bytes of a stream to
// reach the checker once the guest sent its last (host time): the queue
// (at most the whole stream) at the SLIP line's rate, a 1502-byte frame
// per 1448 bytes of payload, plus tcpDrainTimeout.
func tcpDrain(p *qemu.Platform, bytes int64) time.Duration {
	if p.Link != qemu.LinkSLIP {
		return tcpDrainTimeout
	}
	frames := (bytes + TCPMSS - 1) / TCPMSS
	return time.Duration(frames)*1502*8*time.Second/vnet.SLIPRate + tcpDrainTimeout
}

// isTCP reports whether the scenario's workload is a TCP stream.
func isTCP(s *Scenario) bool { return s.Workload.Protocol == ProtoTCP }

// tcpWarmupBytes is what the connection sends before CUSTOMIZE with ADU
// adu on platform p (bytes, whole ADUs).
func tcpWarmupBytes(p *qemu.Platform, adu int) int {
	if p.Link == qemu.LinkSLIP {
		return slipWindowWarmup / adu * adu
	}
	return tcpWindowWarmup / adu * adu
}

// tcpOpen brings up the data NIC with a static neighbour entry for the
// sink (the context holds it), or the SLIP line at slipMTU, and connects
// to the stream checker; the customize step sends the window warm-up
// through send() first.
func tcpOpen(p *qemu.Platform, adu int) []fmt.Stringer {
	up := []fmt.Stringer{
		qemu.NetStep{Dev: "eth1", Addr: vnet.GuestDataIP, Prefix: vnet.PrefixLen, Neigh: vnet.SinkIP, LLAddr: vnet.SinkMAC},
	}
	if p.Link == qemu.LinkSLIP {
		up = []fmt.Stringer{
			qemu.NetStep{Dev: "sl0", Addr: vnet.GuestSLIPIP, Prefix: 32, Peer: vnet.RouterSLIPIP,
				Gateway: vnet.RouterSLIPIP, TTY: p.SLIPTTY, Baud: vnet.SLIPRate},
			routeguard.MTUStep{Dev: "sl0", MTU: slipMTU},
		}
	}
	return append(up, qemu.CustomizeStep{Dst: vnet.SinkIP, Port: tcpPort, SrcPort: paths.SrcPort, ADU: adu, Proto: ProtoTCP,
		Flags: tcpFlags, Warmup: tcpWarmupBytes(p, adu), SndBuf: tcpSndBuf})
}

// tcpSpecializer specializes tcp.decl for a connection's context and
// builds the residual, as the specialization server would.
type tcpSpecializer struct {
	unit   *specializer.Unit
	driver *compile.Driver
}

func newTCPSpecializer(pr *platformRun, recipes string) (*tcpSpecializer, error) {
	generic := filepath.Join(pr.r.Builder.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "tcp.decl"))
	if err != nil {
		return nil, err
	}
	return &tcpSpecializer{unit: u, driver: compile.New(pr.k, pr.p, generic, recipes)}, nil
}

// residual specializes for guestCtx, whose connection must have the MSS
// the workload's sizes are multiples of.
func (t *tcpSpecializer) residual(ctx context.Context, guestCtx []byte) (*paths.Residual, error) {
	c, err := ctxschema.Load(guestCtx)
	if err != nil {
		return nil, fmt.Errorf("the guest's context: %w", err)
	}
	if mss := c.Values["tp->mss_cache"].Bits; mss != TCPMSS {
		return nil, fmt.Errorf("the connection's MSS is %d bytes, not %d", mss, TCPMSS)
	}
	out, err := t.unit.Specialize(c)
	if err != nil {
		return nil, fmt.Errorf("specialize tcp.decl: %w", err)
	}
	digest, err := compile.ContextDigest(guestCtx)
	if err != nil {
		return nil, err
	}
	m, err := t.driver.Build(ctx, compile.Residual{C: out.C, Entry: out.Entry, Digest: digest})
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	name, err := paths.ModuleName(m.Ko)
	if err != nil {
		return nil, fmt.Errorf("residual module: %w", err)
	}
	return &paths.Residual{Entry: out.Entry, Name: name, Module: m}, nil
}
