package tcpsend_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"specbed/images"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/vnet"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// The flow: a TCP connection from the x86 guest's data NIC to a stream
// checker on the sink host, sending records (sendFlags).
const (
	sinkPort = 5001
	srcPort  = 40000
	// warmup is about the bytes sent before CUSTOMIZE (whole ADUs): the
	// peer's window opens.
	warmup = 256 << 10
	// streamBytes is what the specialized path sends (at least 10 MB).
	streamBytes = 10 << 20
)

var netData = qemu.NetStep{Dev: "eth1", Addr: vnet.GuestDataIP, Prefix: vnet.PrefixLen,
	Neigh: vnet.SinkIP, LLAddr: vnet.SinkMAC}

// streamCheck accepts one connection and checks every byte against the
// agent's payload: each send of adu bytes is bytes 0, 1, 2, ... mod 256
// (the warmup's pieces too), so byte o of the stream is (o mod adu) mod
// 256. A wrong byte or order stops the count at the first bad offset.
type streamCheck struct {
	l    net.Listener
	done chan struct{}
	n    atomic.Int64 // bytes in order before the first bad one
	bad  atomic.Int64 // offset of the first bad byte, -1 if none
}

// sinkRcvBuf is the checker's TCP receive buffer (bytes), fixed.
const sinkRcvBuf = 256 << 10

// fixWindow turns the receive buffer autotuning of h's netstack off: the
// window it advertises then tops out at the same size in every boot, and
// so does the guest's largest window, a guard of tcp.decl (autotuned, it
// differed by one MSS between two boots of the p3).
func fixWindow(h *vnet.Host) error {
	st := h.Stack()
	moderate := tcpip.TCPModerateReceiveBufferOption(false)
	if err := st.SetTransportProtocolOption(tcp.ProtocolNumber, &moderate); err != nil {
		return fmt.Errorf("host %s: receive buffer autotuning: %s", h.Name(), err)
	}
	size := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4096, Default: sinkRcvBuf, Max: sinkRcvBuf}
	if err := st.SetTransportProtocolOption(tcp.ProtocolNumber, &size); err != nil {
		return fmt.Errorf("host %s: receive buffer size: %s", h.Name(), err)
	}
	return nil
}

func startCheck(ctx context.Context, h *vnet.Host, adu int) (*streamCheck, error) {
	if err := fixWindow(h); err != nil {
		return nil, err
	}
	l, err := h.Listen(ctx, "tcp", fmt.Sprintf(":%d", sinkPort))
	if err != nil {
		return nil, err
	}
	c := &streamCheck{l: l, done: make(chan struct{})}
	c.bad.Store(-1)
	go c.run(adu)
	return c, nil
}

func (c *streamCheck) run(adu int) {
	defer close(c.done)
	conn, err := c.l.Accept()
	if err != nil {
		return // the listener closed: nothing connected
	}
	defer conn.Close()
	buf := make([]byte, 64<<10)
	var good int64
	bad := false
	for {
		n, err := conn.Read(buf)
		for _, b := range buf[:n] {
			if !bad && b != byte(good%int64(adu)) {
				bad = true
				c.bad.Store(good)
			}
			if !bad {
				good++
			}
		}
		c.n.Store(good)
		if err != nil {
			return // EOF, or the netstack closed: n says how far it got
		}
	}
}

// wait waits until want bytes arrived, the check failed, or timeout.
func (c *streamCheck) wait(want int64, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if c.bad.Load() >= 0 || c.n.Load() >= want {
			return
		}
	}
}

// netBoot boots p in network mode on the default topology with a stream
// checker on the sink; it returns the steps and the checker after the
// guest ended and the stream settled at want bytes (or a timeout).
func netBoot(t *testing.T, b *images.Builder, p *qemu.Platform, k *images.Kernel, files []images.File, pl plan, adu int, want int64) ([]qemu.StepResult, *streamCheck) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	topo, err := vnet.DefaultTopology(p.Name, p.Link)
	if err != nil {
		t.Fatal(err)
	}
	n, err := vnet.Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	check, err := startCheck(ctx, n.Host(vnet.SinkHost), adu)
	if err != nil {
		t.Fatal(err)
	}
	defer check.l.Close()
	initrd, err := b.Initramfs(ctx, p, files)
	if err != nil {
		t.Fatal(err)
	}
	var console qemu.ConsoleCopy
	cfg := qemu.Config{
		Platform: p, Mode: qemu.NetworkMode,
		Boot: qemu.Boot{Kernel: k.Image, Initrd: initrd}, Plan: pl,
		RunRoot: t.TempDir(), Timeout: 10 * time.Minute, Echo: &console,
		// The p3's e1000 probe stayed silent past 30 s on a loaded host.
		SilenceTimeout: 3 * time.Minute,
	}
	for _, nic := range topo.Node(p.Name).NICs {
		cfg.MACs = append(cfg.MACs, nic.MAC)
	}
	guestEnds, err := vnet.AttachQEMU(n, p, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	in, err := qemu.Start(ctx, cfg)
	for _, f := range guestEnds {
		f.Close() // QEMU holds its own copies
	}
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Wait()
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, console.String())
	}
	if len(res.Steps) != len(pl) {
		t.Fatalf("%d step results for %d steps\nconsole:\n%s", len(res.Steps), len(pl), console.String())
	}
	check.wait(want, 30*time.Second)
	return res.Steps, check
}

// TestTCPStreamSpecialized sends 10 MB through a specialized TCP send on
// the x86 guests in network mode: a context boot connects to the checker
// and collects the connection's context; its residual (tcp.decl, two MSS
// per send) is built; a second boot connects again, loads the residual
// and sends. Every byte arrives, in order, and the specialized path made
// at least 99% of the sends.
func TestTCPStreamSpecialized(t *testing.T) {
	if testing.Short() {
		t.Skip("boots guests; skipped only in short mode")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	generic := filepath.Join(b.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "tcp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range qemu.Names() {
		p, err := qemu.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Link != qemu.LinkEthernet {
			continue // the SA-1110's SLIP line: see the README
		}
		t.Run(name, func(t *testing.T) { tcpStream(t, b, u, generic, p) })
	}
}

func tcpStream(t *testing.T, b *images.Builder, u *specializer.Unit, generic string, p *qemu.Platform) {
	k, err := b.CachedKernel(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	coreFile := coreFile(t, b, k)

	// The context boot: the MSS is the connection's, so the ADU (two
	// MSS) is known only from it; the ADU is the application's input
	// and not part of the environment the residual's digest covers.
	flow := qemu.CustomizeStep{Dst: vnet.SinkIP, Port: sinkPort, SrcPort: srcPort, ADU: adu,
		Proto: "tcp", Flags: sendFlags, Warmup: warmup / adu * adu, SndBuf: sndBuf}
	var ctxPlan plan
	ctxPlan.add(qemu.InsmodStep{Path: coreModule})
	ctxPlan.add(netData)
	customize := ctxPlan.add(flow)
	steps, _ := netBoot(t, b, p, k, []images.File{coreFile}, ctxPlan, flow.ADU, int64(flow.Warmup))
	guestCtx := steps[customize].Customize.Context
	m := buildResidual(t, u, k, p, generic, guestCtx)

	count := (streamBytes + adu - 1) / adu
	var pl plan
	pl.add(qemu.InsmodStep{Path: coreModule})
	pl.add(netData)
	customize = pl.add(flow)
	pl.add(qemu.InsmodStep{Path: residualModule})
	load := pl.add(qemu.LoadStep{Slot: 0, Name: m.Name, Policy: "fallback"})
	send := pl.add(qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: adu, Count: count, Flags: sendFlags})
	counters := pl.add(qemu.CountersStep{})
	// send() returns once the data is queued: the guest stays up while
	// its TCP sends the rest (the kernel's send buffer, at most 4 MB).
	pl = append(pl, "sleep,ms=8000")
	want := int64(flow.Warmup + count*adu)
	steps, check := netBoot(t, b, p, k, []images.File{coreFile, {Path: residualModule, Data: m.Ko}}, pl, adu, want)
	if l := steps[load].Load; l.Errno != 0 || l.Token <= 0 {
		t.Fatalf("%s: token %d errno %d; contexts differ in%s", pl[load], l.Token, l.Errno,
			contextDiff(guestCtx, steps[customize].Customize.Context))
	}
	s := steps[send].Send
	if s.Errors != 0 {
		t.Errorf("%d of %d sends failed, first errno %d", s.Errors, count, s.Errno)
	}
	if got, bad := check.n.Load(), check.bad.Load(); bad >= 0 || got != want {
		t.Errorf("the sink got %d of %d bytes in order (first bad byte at %d)", got, want, bad)
	}
	cs := steps[counters].Counters
	spec, gen := cs["sends_specialized"], cs["sends_generic"]
	if spec+gen != int64(count) || spec*100 < int64(count)*99 {
		t.Errorf("sends: %d specialized, %d generic of %d (counters %v)", spec, gen, count, cs)
	}
	t.Logf("%d sends of %d bytes in %d ns: %d specialized, %d generic, %d fallbacks, %d guarded; sink %d bytes",
		count, adu, s.NS, spec, gen, cs["fallbacks"], cs["sends_guarded"], check.n.Load())
}
