package routeguard_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/specnet/core"
	"specbed/images/specnet/routeguard"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
	"specbed/vnet"
)

// The network-mode flow: from the x86 guest's data NIC through one of two
// routers on its segment to the far sink (vnet.TwoRouterTopology). A
// static neighbour entry for the first router keeps the context the same
// in every boot; the second router the guest finds by ARP, as a rerouted
// datagram's neighbour resolution does.
var (
	netData = qemu.NetStep{Dev: "eth1", Addr: vnet.GuestDataIP, Prefix: vnet.PrefixLen,
		Neigh: vnet.Router1IP, LLAddr: vnet.Router1MAC}
	netFlow = qemu.CustomizeStep{Dst: vnet.FarSinkIP, Port: vnet.SinkPort, SrcPort: 40000, ADU: 64}
)

func routeVia2(op, gw string) routeguard.RouteStep {
	return routeguard.RouteStep{Op: op, Dst: vnet.FarNet, Prefix: 24, Gateway: gw}
}

// netRun is a network-mode boot: its steps, what the far sink got of the
// flow, and the frames each router sent on to the far segment.
type netRun struct {
	steps            []qemu.StepResult
	sunk             int64
	router1, router2 int64
	drops            int64
}

func netBoot(t *testing.T, b *images.Builder, p *qemu.Platform, k *images.Kernel, files []images.File, pl plan) netRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	topo, err := vnet.TwoRouterTopology(p.Name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := vnet.Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	sink, err := vnet.StartSink(ctx, n.Host(vnet.FarSinkHost), vnet.SinkPort)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	initrd, err := b.Initramfs(ctx, p, files)
	if err != nil {
		t.Fatal(err)
	}
	var console qemu.ConsoleCopy
	cfg := qemu.Config{
		Platform: p, Mode: qemu.NetworkMode,
		Boot: qemu.Boot{Kernel: k.Image, Initrd: initrd}, Plan: pl,
		RunRoot: t.TempDir(), Timeout: 3 * time.Minute, Echo: &console,
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
	r := netRun{steps: res.Steps}
	links := []string{vnet.DataLink, vnet.Router1 + "-in", vnet.Router2 + "-in",
		vnet.RouterOutLink(vnet.Router1), vnet.RouterOutLink(vnet.Router2), "far-sink"}
	deadline := time.Now().Add(time.Minute)
	for {
		var pending int64
		r.drops = 0
		for _, name := range links {
			st := n.Link(name).Stats().AToB
			r.drops += st.QueueDrops + st.LossDrops
			pending += st.OfferedFrames - st.DeliveredFrames - st.QueueDrops - st.LossDrops - st.NoReceiverDrops
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("links still hold %d frames a minute after the guest ended", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the sink's socket reads the last frame
	src := fmt.Sprintf("%s:%d", vnet.GuestDataIP, netFlow.SrcPort)
	for _, f := range sink.Report().UDP {
		if f.Source == src {
			r.sunk = f.Datagrams
		}
	}
	r.router1 = n.Link(vnet.RouterOutLink(vnet.Router1)).Stats().AToB.DeliveredFrames
	r.router2 = n.Link(vnet.RouterOutLink(vnet.Router2)).Stats().AToB.DeliveredFrames
	return r
}

// TestRouteGuardNetwork moves a specialized flow from one router to the
// other mid-send on the x86 guests in network mode (the SA-1110 has only
// its SLIP line: TestRouteGuard covers it with dummy devices). With
// reinforce every datagram after the change reaches the far sink through
// the second router; with the guard off (route_guard=0) they all still go
// to the first.
func TestRouteGuardNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("boots guests; skipped only in short mode")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	generic := filepath.Join(b.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "udp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range qemu.Names() {
		p, err := qemu.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Link != qemu.LinkEthernet {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			routeGuardNetwork(t, b, u, generic, p)
		})
	}
}

func routeGuardNetwork(t *testing.T, b *images.Builder, u *specializer.Unit, generic string, p *qemu.Platform) {
	k, err := b.CachedKernel(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	coreKo, err := core.Build(t.Context(), b, k)
	if err != nil {
		t.Fatal(err)
	}
	coreData, err := os.ReadFile(coreKo)
	if err != nil {
		t.Fatal(err)
	}
	coreFile := images.File{Path: coreModule, Data: coreData}

	var ctxPlan plan
	ctxPlan.add(qemu.InsmodStep{Path: coreModule})
	ctxPlan.add(netData)
	ctxPlan.add(routeVia2("add", vnet.Router1IP))
	customize := ctxPlan.add(netFlow)
	r := netBoot(t, b, p, k, []images.File{coreFile}, ctxPlan)
	guestCtx := r.steps[customize].Customize.Context
	c, err := ctxschema.Load(guestCtx)
	if err != nil {
		t.Fatalf("guest context rejected: %v", err)
	}
	out, err := u.Specialize(c)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := compile.ContextDigest(guestCtx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := compile.New(k, p, generic, t.TempDir()).Build(t.Context(), compile.Residual{C: out.C, Entry: out.Entry, Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	resFile := images.File{Path: residualA, Data: m.Ko}

	const n = 50 // sends per phase
	for _, policy := range []string{routeguard.Reinforce, "control"} {
		var pl plan
		pl.add(qemu.InsmodStep{Path: coreModule})
		if policy == "control" {
			pl[0] += ",params=route_guard=0"
		}
		pl.add(qemu.InsmodStep{Path: residualA})
		pl.add(netData)
		pl.add(routeVia2("add", vnet.Router1IP))
		pl.add(netFlow)
		load := pl.add(routeguard.LoadStep{Slot: 0, Name: m.Name, Guard: routeguard.Reinforce})
		send := short(qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: netFlow.ADU, Count: n})
		pl.add(send)
		before := pl.add(qemu.CountersStep{})
		moved := pl.add(routeVia2("replace", vnet.Router2IP))
		pl.add(send)
		after := pl.add(qemu.CountersStep{})
		r := netBoot(t, b, p, k, []images.File{coreFile, resFile}, pl)
		if l := r.steps[load].Load; l.Errno != 0 || l.Token <= 0 {
			t.Fatalf("%s: %s: token %d errno %d", policy, pl[load], l.Token, l.Errno)
		}
		if e, err := routeguard.Errno(r.steps[moved]); err != nil || e != 0 {
			t.Fatalf("%s: %s: errno %d (%v)", policy, pl[moved], e, err)
		}
		for i, s := range r.steps {
			if s.Send != nil && s.Send.Errors != 0 {
				t.Errorf("%s: %s: %d sends failed, first errno %d", policy, pl[i], s.Send.Errors, s.Send.Errno)
			}
		}
		delta := func(name string) int64 {
			return r.steps[after].Counters[name] - r.steps[before].Counters[name]
		}
		// Every datagram arrives but what the links dropped (none here:
		// no loss, queues far larger than the burst).
		if r.sunk+r.drops != 2*n || r.drops != 0 {
			t.Errorf("%s: the far sink got %d of %d datagrams, the links dropped %d", policy, r.sunk, 2*n, r.drops)
		}
		// Each router also sends one ARP request for the sink.
		wantR1, wantR2 := int64(n+1), int64(n+1)
		if policy == "control" {
			wantR1, wantR2 = 2*n+1, 0
		}
		if r.router1 != wantR1 || r.router2 != wantR2 {
			t.Errorf("%s: router1 forwarded %d frames, router2 %d; want %d and %d", policy, r.router1, r.router2, wantR1, wantR2)
		}
		wantRerouted, wantGuard := int64(n), int64(1)
		if policy == "control" {
			wantRerouted, wantGuard = 0, 0
		}
		if delta("sends_specialized") != n || delta("sends_rerouted") != wantRerouted || delta("guard_route") != wantGuard {
			t.Errorf("%s after the route change: %d specialized, %d rerouted, guard_route %d; want %d, %d, %d",
				policy, delta("sends_specialized"), delta("sends_rerouted"), delta("guard_route"), n, wantRerouted, wantGuard)
		}
		t.Logf("%s: sink %d, router1 %d, router2 %d frames, reaction %d ns", policy, r.sunk, r.router1, r.router2,
			r.steps[after].Counters["guard_reaction_ns_last"])
	}
}
