package routeguard_test

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
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
)

// The route under test: 10.9.0.0/24 leaves through dummy0 first, then
// through dummy1. The SA-1110 has no Ethernet link to a second router (its
// only link is SLIP), so every platform moves the route between two dummy
// devices in count mode; their transmit counters show where each datagram
// went. Fixed Ethernet addresses keep the context the same in every boot
// (dummy devices draw a random one).
const (
	routeDst    = "10.9.0.0"
	flowDst     = "10.9.0.2"
	adu         = 1000 // bytes per send: 1028-byte datagrams
	lowMTU      = 576  // bytes: a 1028-byte datagram takes 2 fragments
	sendsPer    = 20   // sends per phase
	coreModule  = core.GuestPath
	residualA   = "/lib/modules/a.ko"
	residualB   = "/lib/modules/b.ko"
	dummyParams = "dummy.numdummies=2"
)

var (
	dev0 = qemu.NetStep{Dev: "dummy0", Addr: "10.0.0.1", Prefix: 24, HWAddr: "02:00:00:00:00:01"}
	dev1 = qemu.NetStep{Dev: "dummy1", Addr: "10.1.0.1", Prefix: 24, HWAddr: "02:00:00:00:01:01"}
	flow = qemu.CustomizeStep{Dst: flowDst, Port: 9, SrcPort: 40000, ADU: adu}
)

func routeVia(op, dev string) routeguard.RouteStep {
	return routeguard.RouteStep{Op: op, Dst: routeDst, Prefix: 24, Dev: dev}
}

// plan collects steps and remembers their indexes.
type plan []string

func (p *plan) add(s fmt.Stringer) int {
	*p = append(*p, s.String())
	return len(*p) - 1
}

func boot(t *testing.T, g *guesttest.Guest, files []images.File, steps plan) []qemu.StepResult {
	t.Helper()
	return g.Boot(t, qemu.Config{
		Boot:    qemu.Boot{Kernel: g.K.Image, Initrd: g.Initrd(t, files), Params: []string{dummyParams}},
		Plan:    steps,
		Timeout: 3 * time.Minute,
	}).Steps
}

// phase is what a stretch of sends did: counter and device deltas.
type phase struct {
	counters   map[string]int64
	dev0, dev1 routeguard.Ifstat
	dev0Read   bool
}

func (p phase) c(name string) int64 { return p.counters[name] }

// short is a send step without its default warmup=0.
type short qemu.SendStep

func (s short) String() string { return strings.TrimSuffix(qemu.SendStep(s).String(), ",warmup=0") }

// reading is a counters step and the ifstat steps after it; dev0 is -1
// when dummy0 was not read.
type reading struct{ counters, dev0, dev1 int }

func (p *plan) read() reading {
	return reading{p.add(qemu.CountersStep{}), p.add(routeguard.IfstatStep{Dev: dev0.Dev}), p.add(routeguard.IfstatStep{Dev: dev1.Dev})}
}

// readDev1 is a reading without dummy0, where the flow no longer uses it.
func (p *plan) readDev1() reading {
	return reading{p.add(qemu.CountersStep{}), -1, p.add(routeguard.IfstatStep{Dev: dev1.Dev})}
}

func between(t *testing.T, steps []qemu.StepResult, from, to reading) phase {
	t.Helper()
	ph := phase{counters: map[string]int64{}, dev0Read: from.dev0 >= 0 && to.dev0 >= 0}
	for name, v := range steps[to.counters].Counters {
		ph.counters[name] = v - steps[from.counters].Counters[name]
	}
	delta := func(from, to int) routeguard.Ifstat {
		a, err := routeguard.ParseIfstat(steps[from])
		if err != nil {
			t.Fatal(err)
		}
		z, err := routeguard.ParseIfstat(steps[to])
		if err != nil {
			t.Fatal(err)
		}
		return z.Sub(a)
	}
	ph.dev1 = delta(from.dev1, to.dev1)
	if ph.dev0Read {
		ph.dev0 = delta(from.dev0, to.dev0)
	}
	return ph
}

// want checks counter deltas and the packets each device sent.
func (p phase) want(t *testing.T, what string, counters map[string]int64, dev0, dev1 int64) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(counters)) {
		if got := p.c(name); got != counters[name] {
			t.Errorf("%s: %s changed by %d, want %d", what, name, got, counters[name])
		}
	}
	if !p.dev0Read {
		p.dev0.Packets = dev0 // not read: the flow left dummy0 before
	}
	if p.dev0.Packets != dev0 || p.dev1.Packets != dev1 {
		t.Errorf("%s: dummy0 sent %d packets, dummy1 %d; want %d and %d", what, p.dev0.Packets, p.dev1.Packets, dev0, dev1)
	}
}

// policyRun is one boot's figures for out/bench/guards.json.
type policyRun struct {
	Platform string `json:"platform"`
	// Policy is the token's guard policy; "control" is reinforce with the
	// guard off (module parameter route_guard=0).
	Policy string `json:"policy"`
	// ReactionNS is kernel ktime ns from the route change to the guard's
	// switch of the token (guard_reaction_ns_last), virtual ns in count mode.
	ReactionNS int64 `json:"route_reaction_ns"`
	// PMTUReactionNS is the same for the MTU drop.
	PMTUReactionNS int64 `json:"pmtu_reaction_ns"`
	// After the route change: sends through the residual, sends the guard
	// sent generic, datagrams a reinforce rule moved; packets per device.
	Specialized int64 `json:"after_route_specialized"`
	Guarded     int64 `json:"after_route_guarded"`
	Rerouted    int64 `json:"after_route_rerouted"`
	OldHop      int64 `json:"after_route_dummy0_packets"`
	NewHop      int64 `json:"after_route_dummy1_packets"`
	// After the MTU drop: packets per device for sendsPer sends.
	PMTUOld int64 `json:"after_pmtu_dummy0_packets"`
	PMTUNew int64 `json:"after_pmtu_dummy1_packets"`
}

// TestRouteGuard moves a specialized flow's route mid-send and then drops
// the MTU below its datagrams, once per guard policy and once with the
// guard off, on every platform. Boot 1 collects the flow's context with
// the route through dummy0 and through dummy1; the host specializes both.
func TestRouteGuard(t *testing.T) {
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
		runs []policyRun
	)
	t.Run("platforms", func(t *testing.T) {
		for _, name := range qemu.Names() {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				r := routeGuardOn(t, b, u, generic, name)
				mu.Lock()
				runs = append(runs, r...)
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return // keep the last complete guards.json
	}
	slices.SortFunc(runs, func(a, b policyRun) int {
		return strings.Compare(a.Platform+a.Policy, b.Platform+b.Policy)
	})
	path, err := results.WriteBench(b.Repo, "guards.json", runs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

func routeGuardOn(t *testing.T, b *images.Builder, u *specializer.Unit, generic, name string) []policyRun {
	g := guesttest.Lookup(t, b, name)
	p, k := g.P, g.K
	coreFile, err := core.GuestFile(t.Context(), b, k)
	if err != nil {
		t.Fatal(err)
	}

	// Boot 1: the flow's context on each route.
	var ctxPlan plan
	ctxPlan.add(qemu.InsmodStep{Path: coreModule})
	ctxPlan.add(dev0)
	ctxPlan.add(dev1)
	ctxPlan.add(routeVia("add", dev0.Dev))
	onDev0 := ctxPlan.add(flow)
	ctxPlan.add(routeVia("replace", dev1.Dev))
	onDev1 := ctxPlan.add(flow)
	steps := boot(t, g, []images.File{coreFile}, ctxPlan)
	residuals := map[int]images.File{}
	names := map[int]string{}
	for i, s := range map[int]int{0: onDev0, 1: onDev1} {
		c, err := ctxschema.Load(steps[s].Customize.Context)
		if err != nil {
			t.Fatalf("context on dummy%d rejected: %v", i, err)
		}
		out, err := u.Specialize(c)
		if err != nil {
			t.Fatalf("context on dummy%d does not specialize: %v", i, err)
		}
		res := compile.Residual{C: out.C, Entry: out.Entry}
		// The dummy0 residual carries its context's digest: LOAD checks
		// it (ESTALE). The dummy1 one does not: by the time respecialize
		// loads it the generic sends have filled dummy1's neighbour's
		// header cache, which boot 1's context had empty (an application
		// would customize again).
		if i == 0 {
			if res.Digest, err = compile.ContextDigest(steps[s].Customize.Context); err != nil {
				t.Fatal(err)
			}
		}
		m, err := compile.New(k, p, generic, t.TempDir()).Build(t.Context(), res)
		if err != nil {
			t.Fatal(err)
		}
		residuals[i] = images.File{Path: map[int]string{0: residualA, 1: residualB}[i], Data: m.Ko}
		names[i] = m.Name
	}
	if bytes.Equal(steps[onDev0].Customize.Context, steps[onDev1].Customize.Context) || names[0] == names[1] {
		t.Fatalf("the contexts on dummy0 and dummy1 are the same (%s)", names[0])
	}

	staleBoot(t, g, coreFile, residuals[0], names[0])
	var runs []policyRun
	for _, policy := range []string{routeguard.Reinforce, routeguard.Fallback, routeguard.Respecialize, "control"} {
		runs = append(runs, policyBoot(t, g, coreFile, residuals, names, policy))
	}
	return runs
}

// staleBoot loads the dummy0 residual on the context it was made for
// (the digests match), then moves the route and loads it again: ESTALE.
func staleBoot(t *testing.T, g *guesttest.Guest, coreFile, residual images.File, name string) {
	var pl plan
	pl.add(qemu.InsmodStep{Path: coreModule})
	pl.add(qemu.InsmodStep{Path: residualA})
	pl.add(dev0)
	pl.add(dev1)
	pl.add(routeVia("add", dev0.Dev))
	pl.add(flow)
	fresh := pl.add(routeguard.LoadStep{Slot: 0, Name: name, Guard: routeguard.Fallback})
	pl.add(qemu.ReleaseStep{Slot: 0})
	pl.add(routeVia("replace", dev1.Dev))
	stale := pl.add(routeguard.LoadStep{Slot: 0, Name: name, Guard: routeguard.Fallback})
	end := pl.add(qemu.CountersStep{})
	steps := boot(t, g, []images.File{coreFile, residual}, pl)
	if l := steps[fresh].Load; l.Errno != 0 || l.Token <= 0 {
		t.Errorf("load on the residual's own context: token %d errno %d", l.Token, l.Errno)
	}
	const errnoESTALE = 116
	if l := steps[stale].Load; l.Errno != errnoESTALE {
		t.Errorf("load after the route moved: token %d errno %d, want ESTALE", l.Token, l.Errno)
	}
	for _, c := range []string{"tokens_live", "refs_held", "sockets_marked", "residual_bytes"} {
		if v := steps[end].Counters[c]; v != 0 {
			t.Errorf("after the stale load: %s %d", c, v)
		}
	}
}

func policyBoot(t *testing.T, g *guesttest.Guest, coreFile images.File,
	residuals map[int]images.File, names map[int]string, policy string) policyRun {
	guard := policy
	var pl plan
	pl.add(qemu.InsmodStep{Path: coreModule})
	if policy == "control" {
		guard = routeguard.Reinforce
		pl[0] += ",params=route_guard=0"
	}
	files := []images.File{coreFile, residuals[0]}
	pl.add(qemu.InsmodStep{Path: residualA})
	if policy == routeguard.Respecialize {
		files = append(files, residuals[1])
		pl.add(qemu.InsmodStep{Path: residualB})
	}
	pl.add(dev0)
	pl.add(dev1)
	pl.add(routeVia("add", dev0.Dev))
	pl.add(flow)
	load := pl.add(routeguard.LoadStep{Slot: 0, Name: names[0], Guard: guard})
	// The SA-1110's command line holds 1023 bytes: respecialize, with a
	// second residual and a second load, reads the counters less often
	// (its first phase is the others'), and sends say no warmup (0 is the
	// agent's default).
	respec := policy == routeguard.Respecialize
	send := short(qemu.SendStep{Path: qemu.PathSpecial, Slot: 0, Size: adu, Count: sendsPer})
	var start reading
	if !respec {
		start = pl.read()
	}
	pl.add(send)
	before := pl.read()
	moved := pl.add(routeVia("replace", dev1.Dev))
	pl.add(send)
	afterRoute := pl.read()
	replace, afterReplace := -1, reading{}
	if policy == routeguard.Respecialize {
		replace = pl.add(routeguard.LoadStep{Slot: 0, Name: names[1], Guard: guard, Replace: true})
		pl.add(send)
		afterReplace = pl.readDev1()
	}
	if !respec {
		pl.add(routeguard.MTUStep{Dev: dev0.Dev, MTU: lowMTU})
	}
	pl.add(routeguard.MTUStep{Dev: dev1.Dev, MTU: lowMTU})
	pl.add(send)
	var afterPMTU reading
	if respec {
		afterPMTU = pl.readDev1()
	} else {
		afterPMTU = pl.read()
	}
	release := pl.add(qemu.ReleaseStep{Slot: 0})
	end := pl.add(qemu.CountersStep{})

	steps := boot(t, g, files, pl)
	t.Logf("%s: %d-byte plan", policy, len(strings.Join(pl, ";")))
	if l := steps[load].Load; l.Errno != 0 || l.Token <= 0 {
		t.Fatalf("%s: %s: token %d errno %d", policy, pl[load], l.Token, l.Errno)
	}
	if e, err := routeguard.Errno(steps[moved]); err != nil || e != 0 {
		t.Fatalf("%s: %s: errno %d (%v)", policy, pl[moved], e, err)
	}
	for i, s := range steps {
		if s.Send != nil && s.Send.Errors != 0 {
			t.Errorf("%s: step %d %s: %d sends failed, first errno %d", policy, i, pl[i], s.Send.Errors, s.Send.Errno)
		}
	}
	n := int64(sendsPer)
	if !respec {
		between(t, steps, start, before).want(t, policy+", before the route change",
			map[string]int64{"sends_specialized": n, "sends_generic": 0, "guard_route": 0}, n, 0)
	}

	route := between(t, steps, before, afterRoute)
	run := policyRun{
		Platform: g.P.Name, Policy: policy,
		ReactionNS:  steps[afterRoute.counters].Counters["guard_reaction_ns_last"],
		Specialized: route.c("sends_specialized"), Guarded: route.c("sends_guarded"), Rerouted: route.c("sends_rerouted"),
		OldHop: route.dev0.Packets, NewHop: route.dev1.Packets,
	}
	switch policy {
	case routeguard.Reinforce:
		// The residual keeps sending; the egress rule moves every datagram.
		route.want(t, policy+", after the route change", map[string]int64{
			"guard_route": 1, "sends_specialized": n, "sends_rerouted": n, "sends_guarded": 0,
		}, 0, n)
	case routeguard.Fallback, routeguard.Respecialize:
		route.want(t, policy+", after the route change", map[string]int64{
			"guard_route": 1, "sends_specialized": 0, "sends_guarded": n, "sends_generic": n, "sends_rerouted": 0,
		}, 0, n)
	case "control":
		// Without the guard the residual's baked route still holds: every
		// datagram goes to the old next hop.
		route.want(t, "control, after the route change", map[string]int64{
			"guard_route": 0, "sends_specialized": n, "sends_rerouted": 0, "sends_guarded": 0,
		}, n, 0)
	}
	if policy != "control" && run.ReactionNS <= 0 {
		t.Errorf("%s: no reaction time after the guard fired (guard_reaction_ns_last %d)", policy, run.ReactionNS)
	}
	pmtuFrom := afterRoute
	if replace >= 0 {
		if l := steps[replace].Load; l.Errno != 0 || l.Token != steps[load].Load.Token {
			t.Fatalf("%s: token %d errno %d, want the replaced token %d", pl[replace], l.Token, l.Errno, steps[load].Load.Token)
		}
		// The new residual, made for dummy1, sends specialized again.
		between(t, steps, afterRoute, afterReplace).want(t, "after the replacing load", map[string]int64{
			"sends_specialized": n, "sends_guarded": 0, "sends_rerouted": 0, "guard_route": 0, "tokens_live": 0,
		}, 0, n)
		pmtuFrom = afterReplace
	}

	pmtu := between(t, steps, pmtuFrom, afterPMTU)
	if pmtu.c("guard_pmtu") > 0 {
		run.PMTUReactionNS = steps[afterPMTU.counters].Counters["guard_reaction_ns_last"]
	}
	run.PMTUOld, run.PMTUNew = pmtu.dev0.Packets, pmtu.dev1.Packets
	switch policy {
	case routeguard.Reinforce, routeguard.Respecialize:
		// The generic path fragments each datagram in two.
		pmtu.want(t, policy+", after the MTU drop", map[string]int64{
			"guard_pmtu": 1, "sends_guarded": n, "sends_specialized": 0,
		}, 0, 2*n)
	case routeguard.Fallback:
		// The token fell back at the route change; it stays generic.
		pmtu.want(t, "fallback, after the MTU drop", map[string]int64{
			"guard_pmtu": 0, "sends_guarded": n, "sends_specialized": 0,
		}, 0, 2*n)
	case "control":
		// The residual sends its 1028-byte datagrams whole on a 576-byte
		// link: what the PMTU guard prevents.
		pmtu.want(t, "control, after the MTU drop", map[string]int64{
			"guard_pmtu": 0, "sends_specialized": n,
		}, n, 0)
		if per := pmtu.dev0.Bytes / n; per <= lowMTU {
			t.Errorf("control: %d bytes per packet on dummy0, want the whole datagram above the %d-byte MTU", per, lowMTU)
		}
	}
	if e := steps[release].Release.Errno; e != 0 {
		t.Errorf("%s: release: errno %d", policy, e)
	}
	counters := steps[end].Counters
	for _, c := range []string{"tokens_live", "refs_held", "sockets_marked"} {
		if counters[c] != 0 {
			t.Errorf("%s: %s %d after the release", policy, c, counters[c])
		}
	}
	return run
}
