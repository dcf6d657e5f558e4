package routeguard_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/guesttest"
	"specbed/images/specnet/core"
	"specbed/images/specnet/routeguard"
	"specbed/qemu"
	"specbed/results"
	"specbed/specializer"
	"specbed/specializer/compile"
	"specbed/specializer/ctxschema"
	"specbed/specializer/server"
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

// netSpec is the guest's NIC 0 on the spec link to the server.
var netSpec = qemu.NetStep{Dev: "eth0", Addr: vnet.GuestSpecIP, Prefix: vnet.PrefixLen}

// netRun is a network-mode boot: its steps, what the far sink got of the
// flow, the frames each router sent on to the far segment, and the host
// time each step's result line reached the console.
type netRun struct {
	steps            []qemu.StepResult
	sunk             int64
	router1, router2 int64
	drops            int64
	resultAt         map[int]time.Time
}

// resultClock is a console echo that notes the host time each step's
// result line arrives: network-mode guests run on host time, so the gap
// between two result lines is what the steps between them took.
type resultClock struct {
	mu      sync.Mutex
	partial []byte
	at      map[int]time.Time
}

func (c *resultClock) Write(b []byte) (int, error) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, b...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := c.partial[:i]
		c.partial = c.partial[i+1:]
		const prefix = "@@specbed result step="
		j := bytes.Index(line, []byte(prefix))
		if j < 0 {
			continue
		}
		rest := line[j+len(prefix):]
		if end := bytes.IndexByte(rest, ' '); end >= 0 {
			rest = rest[:end]
		}
		if step, err := strconv.Atoi(string(rest)); err == nil {
			if _, seen := c.at[step]; !seen {
				c.at[step] = now
			}
		}
	}
}

// netBoot runs pl on p's guest attached to vnet.TwoRouterTopology; with
// srv, the server host serves srv's modules on vnet.ServerPort.
func netBoot(t *testing.T, g *guesttest.Guest, files []images.File, pl plan, srv *server.Server) netRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	topo, err := vnet.TwoRouterTopology(g.P.Name)
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
	if srv != nil {
		l, err := n.Host(vnet.ServerHost).Listen(ctx, "tcp", fmt.Sprintf(":%d", vnet.ServerPort))
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, l) }()
		defer func() {
			cancel()
			if err := <-served; err != nil && ctx.Err() == nil {
				t.Errorf("server: %v", err)
			}
		}()
	}
	clock := &resultClock{at: map[int]time.Time{}}
	run := g.BootOn(t, n, &topo, qemu.Config{
		Mode: qemu.NetworkMode,
		Boot: qemu.Boot{Kernel: g.K.Image, Initrd: g.Initrd(t, files)}, Plan: pl,
		Timeout: 3 * time.Minute, Echo: clock,
	})
	clock.mu.Lock()
	r := netRun{steps: run.Steps, resultAt: clock.at}
	clock.mu.Unlock()
	settle, cancelSettle := context.WithTimeout(ctx, time.Minute)
	defer cancelSettle()
	drops, err := n.Settle(settle, vnet.DataLink, vnet.Router1+"-in", vnet.Router2+"-in",
		vnet.RouterOutLink(vnet.Router1), vnet.RouterOutLink(vnet.Router2), "far-sink")
	if err != nil {
		t.Fatal(err)
	}
	r.drops = drops
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
	b := guesttest.Builder(t)
	generic := filepath.Join(b.Repo, "images", "specnet", "generic")
	u, err := specializer.Load(filepath.Join(generic, "udp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		runs []respecRun
	)
	t.Run("platforms", func(t *testing.T) {
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
				r := routeGuardNetwork(t, guesttest.Lookup(t, b, name), u, generic)
				mu.Lock()
				runs = append(runs, r)
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return // keep the last complete file
	}
	slices.SortFunc(runs, func(a, b respecRun) int { return strings.Compare(a.Platform, b.Platform) })
	path, err := results.WriteBench(b.Repo, "guards_network.json", runs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// respecRun is a respecialize boot's figures for out/bench/guards_network.json.
type respecRun struct {
	Platform string `json:"platform"`
	// Clock says what the times are: network mode runs on host time.
	Clock string `json:"clock"`
	// RouteToSwapNS is host ns from the route change's result line to
	// the replacing LOAD's: the generic sends, CUSTOMIZE, the fetch (the
	// server's specialization and compile included), insmod and LOAD.
	RouteToSwapNS int64 `json:"route_to_swap_host_ns"`
	// FetchNS is the fetch step's round trip on the guest's clock (ns).
	FetchNS int64 `json:"fetch_ns"`
	// Sends per phase: specialized before the change, generic between the
	// change and the swap, specialized after the swap.
	SpecializedBefore int64 `json:"specialized_before"`
	GenericBetween    int64 `json:"generic_between"`
	SpecializedAfter  int64 `json:"specialized_after"`
	// Sunk is the datagrams the far sink got of Sent.
	Sunk int64 `json:"sunk"`
	Sent int64 `json:"sent"`
}

func routeGuardNetwork(t *testing.T, g *guesttest.Guest, u *specializer.Unit, generic string) respecRun {
	b, p, k := g.B, g.P, g.K
	coreFile, err := core.GuestFile(t.Context(), b, k)
	if err != nil {
		t.Fatal(err)
	}

	var ctxPlan plan
	ctxPlan.add(qemu.InsmodStep{Path: coreModule})
	ctxPlan.add(netData)
	ctxPlan.add(routeVia2("add", vnet.Router1IP))
	customize := ctxPlan.add(netFlow)
	r := netBoot(t, g, []images.File{coreFile}, ctxPlan, nil)
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
		r := netBoot(t, g, []images.File{coreFile, resFile}, pl, nil)
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
	return respecialize(t, g, coreFile)
}

// respecialize is the paper's flow in one boot: the agent customizes the
// flow, fetches its residual from the server over the spec link and loads
// it; after a route change the token goes generic, the agent customizes
// the same socket again, fetches the new residual, loads it and swaps it
// in under the same token; the sends after it are specialized again and
// go through the new router. (The spec NIC's address moves the route
// generation the context holds: both residuals come from contexts of this
// boot.)
func respecialize(t *testing.T, g *guesttest.Guest, coreFile images.File) respecRun {
	b, p, k := g.B, g.P, g.K
	srv, err := server.New(server.Config{
		Kernels: []*images.Kernel{k}, Decls: server.DefaultDecls(b.Repo), CacheDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	const (
		n        = 50 // sends per phase
		firstCtx = "/tmp/first.json"
		firstKo  = "/tmp/first.ko"
		ctxFile  = "/tmp/respecialize.json"
		koFile   = "/tmp/respecialize.ko"
	)
	fetchStep := func(ctxPath, out string) qemu.FetchStep {
		return qemu.FetchStep{Server: vnet.ServerIP, Port: vnet.ServerPort, Build: server.KernelID(k),
			Decl: "udp", Context: ctxPath, Out: out}
	}
	var pl plan
	pl.add(qemu.InsmodStep{Path: coreModule})
	pl.add(netSpec)
	pl.add(netData)
	// A static entry for the second router too: the context taken after the
	// route change must still be the live one when the fetched residual
	// arrives, and a learnt entry may age from REACHABLE to STALE during
	// the fetch (the neighbour's state is part of the context; the p3's
	// clock runs ahead of host time, and its LOAD got ESTALE). The same
	// step again only adds the entry: no route exists yet to be flushed.
	pl.add(qemu.NetStep{Dev: netData.Dev, Addr: netData.Addr, Prefix: netData.Prefix,
		Neigh: vnet.Router2IP, LLAddr: vnet.Router2MAC})
	pl.add(routeVia2("add", vnet.Router1IP))
	flow := netFlow
	flow.Out = firstCtx
	pl.add(flow)
	fetchFirst := pl.add(fetchStep(firstCtx, firstKo))
	pl.add(qemu.InsmodStep{Path: firstKo})
	load := pl.add(routeguard.LoadStep{Slot: 0, Ko: firstKo, Guard: routeguard.Respecialize})
	send := short(qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: netFlow.ADU, Count: n})
	start := pl.add(qemu.CountersStep{})
	pl.add(send)
	before := pl.add(qemu.CountersStep{})
	moved := pl.add(routeVia2("replace", vnet.Router2IP))
	pl.add(send)
	between := pl.add(qemu.CountersStep{})
	again := netFlow
	again.Reuse, again.Out = true, ctxFile
	pl.add(again)
	fetch := pl.add(fetchStep(ctxFile, koFile))
	insmod := pl.add(qemu.InsmodStep{Path: koFile})
	swap := pl.add(routeguard.LoadStep{Slot: 0, Ko: koFile, Guard: routeguard.Respecialize, Replace: true})
	pl.add(send)
	after := pl.add(qemu.CountersStep{})
	r := netBoot(t, g, []images.File{coreFile}, pl, srv)

	if f := r.steps[fetchFirst].Fetch; f.Status != 0 {
		t.Fatalf("respecialize: %s: status %d: %s", pl[fetchFirst], f.Status, f.Message)
	}
	l := r.steps[load].Load
	first := l.Name
	if l.Errno != 0 || l.Token <= 0 {
		t.Fatalf("respecialize: %s: token %d errno %d", pl[load], l.Token, l.Errno)
	}
	if e, err := routeguard.Errno(r.steps[moved]); err != nil || e != 0 {
		t.Fatalf("respecialize: %s: errno %d (%v)", pl[moved], e, err)
	}
	f := r.steps[fetch].Fetch
	if f.Status != 0 || f.ModuleBytes == 0 {
		t.Fatalf("respecialize: %s: status %d, %d module bytes: %s", pl[fetch], f.Status, f.ModuleBytes, f.Message)
	}
	if e := r.steps[insmod].Insmod.Errno; e != 0 {
		t.Fatalf("respecialize: %s: errno %d", pl[insmod], e)
	}
	// The swap: no ESTALE (the server embedded the new context's digest),
	// a different residual, the same token number.
	sw := r.steps[swap].Load
	if sw.Errno != 0 || sw.Token != l.Token || sw.Name == first {
		t.Fatalf("respecialize: %s: %s token %d errno %d; want a new residual under token %d", pl[swap], sw.Name, sw.Token, sw.Errno, l.Token)
	}
	for i, s := range r.steps {
		if s.Send != nil && s.Send.Errors != 0 {
			t.Errorf("respecialize: %s: %d sends failed, first errno %d", pl[i], s.Send.Errors, s.Send.Errno)
		}
	}
	delta := func(from, to int, name string) int64 {
		return r.steps[to].Counters[name] - r.steps[from].Counters[name]
	}
	type phase struct {
		name     string
		from, to int
		want     map[string]int64
	}
	for _, ph := range []phase{
		{"before the route change", start, before, map[string]int64{"sends_specialized": n, "sends_generic": 0, "guard_route": 0}},
		{"between the change and the swap", before, between, map[string]int64{"sends_specialized": 0, "sends_generic": n, "sends_guarded": n, "guard_route": 1}},
		{"after the swap", between, after, map[string]int64{"sends_specialized": n, "sends_generic": 0, "sends_rerouted": 0, "guard_route": 0}},
	} {
		for name, want := range ph.want {
			if got := delta(ph.from, ph.to, name); got != want {
				t.Errorf("respecialize %s: %s %d, want %d", ph.name, name, got, want)
			}
		}
	}
	// No datagram lost; the generic sends and the new residual's go
	// through the second router. Each router also sends one ARP request
	// for the sink.
	if r.sunk != 3*n || r.drops != 0 {
		t.Errorf("respecialize: the far sink got %d of %d datagrams, the links dropped %d", r.sunk, 3*n, r.drops)
	}
	if r.router1 != n+1 || r.router2 != 2*n+1 {
		t.Errorf("respecialize: router1 forwarded %d frames, router2 %d; want %d and %d", r.router1, r.router2, n+1, 2*n+1)
	}
	movedAt, swappedAt := r.resultAt[moved], r.resultAt[swap]
	if movedAt.IsZero() || swappedAt.IsZero() {
		t.Fatalf("respecialize: no console time for the route change or the swap")
	}
	run := respecRun{
		Platform: p.Name, Clock: "host time (network mode)",
		RouteToSwapNS: swappedAt.Sub(movedAt).Nanoseconds(), FetchNS: f.RoundTripNS,
		SpecializedBefore: delta(start, before, "sends_specialized"),
		GenericBetween:    delta(before, between, "sends_generic"),
		SpecializedAfter:  delta(between, after, "sends_specialized"),
		Sunk:              r.sunk, Sent: 3 * n,
	}
	t.Logf("respecialize: %s -> %s under token %d, route change to swap %v host time (fetch %v guest clock, %d module bytes), sink %d of %d",
		first, sw.Name, sw.Token, swappedAt.Sub(movedAt), time.Duration(f.RoundTripNS), f.ModuleBytes, r.sunk, 3*n)
	return run
}
