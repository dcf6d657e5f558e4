package guards_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/guesttest"
	"specbed/images/specnet/core"
	"specbed/images/specnet/guards"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
	"specbed/vnet"
)

// The flow every boot sends: to the default topology's sink, from a fixed
// source port so that every boot has the same context. The x86 guests
// send on their data link with a static ARP entry for the sink (an ARP
// exchange at CUSTOMIZE or LOAD would make contexts differ between
// boots); the SA-1110 over its SLIP line through the router.
const (
	flowSrcPort = 40000
	flowADU     = 64 // bytes of payload per send
)

// slipGapMS paces the SA-1110's sends (ms between two): a 64-byte
// datagram is about 95 SLIP bytes, 3.3 ms of the 230400 bit/s line, and
// the guest's UART is faster than the line, so unpaced sends would
// overflow the link's queue and lose datagrams.
const slipGapMS = 5

// guest is one platform's kernel, core module and flow.
type guest struct {
	*guesttest.Guest
	core images.File
}

func newGuest(t *testing.T, b *images.Builder, name string) *guest {
	t.Helper()
	g := guesttest.Lookup(t, b, name)
	coreFile, err := core.GuestFile(t.Context(), b, g.K)
	if err != nil {
		t.Fatal(err)
	}
	return &guest{Guest: g, core: coreFile}
}

// netStep brings up the link the flow leaves on.
func (g *guest) netStep() qemu.NetStep {
	if g.P.Link == qemu.LinkSLIP {
		return qemu.NetStep{Dev: "sl0", Addr: vnet.GuestSLIPIP, Prefix: 32, Peer: vnet.RouterSLIPIP,
			Gateway: vnet.RouterSLIPIP, TTY: g.P.SLIPTTY, Baud: vnet.SLIPRate}
	}
	return qemu.NetStep{Dev: "eth1", Addr: vnet.GuestDataIP, Prefix: vnet.PrefixLen,
		Neigh: vnet.SinkIP, LLAddr: vnet.SinkMAC}
}

// source is the flow's source as the sink reports it.
func (g *guest) source() string {
	if g.P.Link == qemu.LinkSLIP {
		return fmt.Sprintf("%s:%d", vnet.GuestSLIPIP, flowSrcPort)
	}
	return fmt.Sprintf("%s:%d", vnet.GuestDataIP, flowSrcPort)
}

// gapMS is the pacing the platform's link needs (ms between sends).
func (g *guest) gapMS() int {
	if g.P.Link == qemu.LinkSLIP {
		return slipGapMS
	}
	return 0
}

// guestLinks are the links the flow's datagrams cross, guest side first
// (each link's A end is toward the guest).
func (g *guest) guestLinks() []string {
	if g.P.Link == qemu.LinkSLIP {
		return []string{vnet.SLIPLink, vnet.DataLink}
	}
	return []string{vnet.DataLink}
}

func customizeStep() qemu.CustomizeStep {
	return qemu.CustomizeStep{Dst: vnet.SinkIP, Port: vnet.SinkPort, SrcPort: flowSrcPort, ADU: flowADU}
}

// run is one network-mode boot's outcome.
type run struct {
	steps   []qemu.StepResult
	console string
	// sunk counts the flow's datagrams the sink received.
	sunk int64
	// drops counts frames the flow's links dropped (queue and loss).
	drops int64
}

// cmdlineMax is the longest kernel command line every platform keeps
// (bytes): the SA-1110's COMMAND_LINE_SIZE less its NUL; the kernel cuts
// a longer one silently, and the plan is on it.
const cmdlineMax = 1023

// initrdParamMax is the longest " initrd=<address>,<bytes>" that qemu
// adds to the SA-1110's command line after the platform's (bytes).
const initrdParamMax = len(" initrd=0xc1800000,16777216")

// boot runs plan on g's guest in network mode on a fresh default
// topology with a sink, params added to the kernel command line, and
// waits until the links delivered what the guest sent. A crash, a SLUB
// report or a WARNING fails the test.
func (g *guest) boot(t *testing.T, files []images.File, params []string, plan []string, timeout time.Duration) run {
	t.Helper()
	return g.bootWith(t, files, params, plan, timeout, nil)
}

// bootWith is boot with setup run on the network before the guest starts
// (listeners of its own on the hosts); setup's cleanup runs after the
// links settled, before the network closes.
func (g *guest) bootWith(t *testing.T, files []images.File, params []string, plan []string, timeout time.Duration,
	setup func(ctx context.Context, n *vnet.Network) (func(), error)) run {
	t.Helper()
	cmdline, err := g.P.Cmdline(append(slices.Clone(params), "sbplan="+strings.Join(plan, ";")))
	if err != nil {
		t.Fatal(err)
	}
	if len(cmdline)+initrdParamMax > cmdlineMax {
		t.Fatalf("kernel command line of %d bytes and the initrd's, the SA-1110 keeps %d: %s", len(cmdline), cmdlineMax, cmdline)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	topo, err := vnet.DefaultTopology(g.P.Name, g.P.Link)
	if err != nil {
		t.Fatal(err)
	}
	n, err := vnet.Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	sink, err := vnet.StartSink(ctx, n.Host(vnet.SinkHost), vnet.SinkPort)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if setup != nil {
		done, err := setup(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		defer done()
	}
	res := g.BootOn(t, n, &topo, qemu.Config{
		Mode:      qemu.NetworkMode,
		Boot:      qemu.Boot{Kernel: g.K.Image, Initrd: g.Initrd(t, append([]images.File{g.core}, files...)), Params: params},
		Plan:      plan,
		SystemMap: g.K.SystemMap,
		Timeout:   timeout,
		// A closerace step prints nothing until its rounds are over.
		SilenceTimeout: timeout,
	})
	if m := guards.KernelReport(res.Console); m != "" {
		t.Errorf("the kernel reported %q\nconsole:\n%s", m, res.Console)
	}
	r := run{steps: res.Steps, console: res.Console}
	// A SLIP line at 230400 bit/s can be seconds behind the guest.
	settleCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if r.drops, err = n.Settle(settleCtx, g.guestLinks()...); err != nil {
		t.Fatal(err)
	}
	r.sunk = sunk(sink, g.source())
	return r
}

// sunk is the number of datagrams the sink got from source, once it has
// not changed for a second (at most ten): a delivered frame still goes
// through the sink host's netstack, which a loaded host runs late.
func sunk(sink *vnet.Sink, source string) int64 {
	count := func() int64 {
		for _, f := range sink.Report().UDP {
			if f.Source == source {
				return f.Datagrams
			}
		}
		return 0
	}
	last, stable := count(), 0
	for deadline := time.Now().Add(10 * time.Second); stable < 10 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if c := count(); c != last {
			last, stable = c, 0
		} else {
			stable++
		}
	}
	return last
}

// residual boots once to collect the flow's context in the guest kernel,
// specializes it on the host and compiles the residual module.
func (g *guest) residual(t *testing.T) (images.File, string) {
	t.Helper()
	r := g.boot(t, nil, nil, []string{
		qemu.InsmodStep{Path: g.core.Path}.String(), g.netStep().String(), customizeStep().String(),
	}, 3*time.Minute)
	guestCtx := r.steps[2].Customize.Context
	c, err := ctxschema.Load(guestCtx)
	if err != nil {
		t.Fatalf("guest context rejected: %v\n%s", err, guestCtx)
	}
	generic := filepath.Join(g.B.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "udp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := u.Specialize(c)
	if err != nil {
		t.Fatalf("guest context does not specialize: %v\n%s", err, guestCtx)
	}
	m, err := compile.New(g.K, g.P, generic, t.TempDir()).Build(t.Context(), compile.Residual{C: out.C, Entry: out.Entry})
	if err != nil {
		t.Fatal(err)
	}
	return images.File{Path: "/lib/modules/residual.ko", Data: m.Ko}, m.Name
}
