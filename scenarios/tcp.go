package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"specbed/images/specnet/paths"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
	"specbed/vnet"
)

// ProtoTCP is the workload protocol of a TCP stream.
const ProtoTCP = "tcp"

// A TCP workload is one connection from the x86 guest's data NIC to a
// stream checker on the sink host (vnet.StreamCheck), which checks every
// byte of it.
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
	// opened to its largest, which tcp.decl guards.
	tcpWindowWarmup = 256 << 10
	// tcpSndBuf is the connection's SO_SNDBUF (bytes, doubled by the
	// kernel): fixed, so that the context is the same in every boot.
	tcpSndBuf = 64 << 10
	// tcpDrainTimeout bounds the host's wait, before the guest ends, for
	// the stream checker to get every byte the sends queued (host time).
	tcpDrainTimeout = time.Minute
)

// isTCP reports whether the scenario's workload is a TCP stream.
func isTCP(s *Scenario) bool { return s.Workload.Protocol == ProtoTCP }

// tcpWarmupBytes is what the connection sends before CUSTOMIZE with ADU
// adu (bytes, whole ADUs).
func tcpWarmupBytes(adu int) int { return tcpWindowWarmup / adu * adu }

// tcpOpen brings up the data NIC with a static neighbour entry for the
// sink (the context holds it) and connects to the stream checker; the
// customize step sends the window warm-up through send() first.
func tcpOpen(adu int) []fmt.Stringer {
	return []fmt.Stringer{
		qemu.NetStep{Dev: "eth1", Addr: vnet.GuestDataIP, Prefix: vnet.PrefixLen, Neigh: vnet.SinkIP, LLAddr: vnet.SinkMAC},
		qemu.CustomizeStep{Dst: vnet.SinkIP, Port: tcpPort, SrcPort: paths.SrcPort, ADU: adu, Proto: ProtoTCP,
			Flags: tcpFlags, Warmup: tcpWarmupBytes(adu), SndBuf: tcpSndBuf},
	}
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
