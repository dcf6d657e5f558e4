package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"specbed/images/specnet/guards"
	"specbed/images/specnet/paths"
	"specbed/images/specnet/routeguard"
	"specbed/qemu"
	"specbed/vnet"
)

// Guest paths of the modules in the initramfs.
const (
	coreGuestPath     = "/lib/modules/specnet.ko"
	residualGuestPath = "/lib/modules/residual.ko"
	// secondResidualGuestPath holds the residual for the route after a
	// route change (respecialize).
	secondResidualGuestPath = "/lib/modules/residual-new-route.ko"
	// oopsGuestPath holds images/modules/oops (the oops event).
	oopsGuestPath = "/lib/modules/oops.ko"
)

// tokenSlot holds the flow's token.
const tokenSlot = 0

// NotRunnableError says a scenario is valid but asks for something the
// runner cannot do yet, and why.
type NotRunnableError struct {
	Scenario, What, Why string
}

func (e *NotRunnableError) Error() string {
	return fmt.Sprintf("scenario %s: %s is not runnable yet: %s", e.Scenario, e.What, e.Why)
}

// sendPath maps a workload path to the agent's send path: the kernel's is
// sendto() on UDP's unconnected socket, send() on TCP's connection.
func sendPath(path, protocol string) qemu.SendPath {
	switch {
	case path == PathGeneric:
		return qemu.PathGeneric
	case path == PathSpecialized:
		return qemu.PathSpecial
	case protocol == ProtoTCP:
		return qemu.PathSend
	}
	return qemu.PathSendto
}

// Step roles: what each plan step is for, so that the results can be
// read back by role rather than by position.
type role int

const (
	roleSetup role = iota
	roleBaseline
	// roleCounters is a counters step at a mark: mark says after how
	// many of the workload's timed sends.
	roleCounters
	roleWorkload
	roleEvent
	// roleFetch is a fetch that must fail (the server is down).
	roleFetch
)

// plannedStep is a plan step and what it is for.
type plannedStep struct {
	step string
	role role
	mark int // roleCounters: timed workload sends before it
	// afterEvents: a roleCounters step that follows the events at its
	// mark (the one before them has it false).
	afterEvents bool
	event       int // roleEvent: index in the timeline
	// stopAfter, when not 0, is how long (host time) after writing this
	// send step the control session writes the agent's "stop" (a
	// workload bounded by duration on the network clock).
	stopAfter time.Duration
}

// flowPlan is the measurement boot of one flow (one size).
type flowPlan struct {
	steps []plannedStep
	// streamBytes is what a TCP flow's sends queue on the connection,
	// its window warm-up included (bytes): the host waits for the stream
	// checker to get them before the guest ends.
	streamBytes int64
	// ctlFrom, when > 0, is the first step that goes over the control
	// channel (the plan runs steps[:ctlFrom], then a ctl step): the
	// plan stops at its first failing step, a control session does not.
	ctlFrom int
	// hostActs are the timeline events the host acts on, by the plan
	// step the control session sends after them (len(steps): after the
	// last): link events, and every event whose arrivals an arrive-at
	// check counts (the host settles the links and counts first).
	hostActs map[int][]int
	// timedActs are the timeline's link events placed by at: the host
	// does them that long (host time) after it sent the workload's send
	// step (a workload bounded by duration has one).
	timedActs []timedAct
}

// timedAct is a timeline event the host does at a time.
type timedAct struct {
	event int
	at    time.Duration
}

func (p *flowPlan) add(s fmt.Stringer, r role) {
	p.steps = append(p.steps, plannedStep{step: s.String(), role: r})
}

// addWorkload adds the workload's send step st. A workload bounded by
// duration sends until the guest's clock says it passed on the count
// clock (virtual time); on the network clock, where the guest's clock
// strays from the host's, until the host's "stop" over the control
// channel that long after it wrote the step.
func (p *flowPlan) addWorkload(s *Scenario, st qemu.SendStep) {
	d := s.Workload.Duration.Duration
	if d == 0 || s.Clock == ClockCount {
		st.Duration = d
		p.add(p.sendStep(s, st), roleWorkload)
		return
	}
	st.Stop = true
	p.steps = append(p.steps, plannedStep{step: p.sendStep(s, st).String(), role: roleWorkload, stopAfter: d})
	p.goControlled()
}

// sendStep is a send step of the flow (TCP: with its flags, its bytes
// counted in streamBytes).
func (p *flowPlan) sendStep(s *Scenario, st qemu.SendStep) qemu.SendStep {
	if isTCP(s) {
		st.Flags = tcpFlags
		p.streamBytes += int64(st.Size) * int64(st.Count+st.Warmup)
	}
	return st
}

// Steps is the plan as the agent takes it.
func (p *flowPlan) Steps() []string {
	var out []string
	for i, s := range p.steps {
		if p.ctlFrom > 0 && i == p.ctlFrom {
			return append(out, ctlStep)
		}
		out = append(out, s.step)
	}
	return out
}

// ctlStep hands the agent over to the control channel.
const ctlStep = "ctl"

// agentStep is the agent's number of planned step i: the ctl step takes
// one number before the steps sent over the channel.
func (p *flowPlan) agentStep(i int) int {
	if p.ctlFrom > 0 && i >= p.ctlFrom {
		return i + 1
	}
	return i
}

// serverUnavailable reports whether the scenario's server is down.
func serverUnavailable(s *Scenario) bool {
	return slices.ContainsFunc(s.Timeline, func(e Event) bool { return e.Event == EventServerUnavailable })
}

// unavailablePlan is the measurement boot of a flow whose server is
// down: the guest's fetch fails (the plan goes on over the control
// channel from the fetch on), and the application sends through the
// generic path, as it would with no residual.
func unavailablePlan(s *Scenario, size int, open []fmt.Stringer) *flowPlan {
	fallback := *s
	fallback.Workload.Path = PathGeneric
	p := flowSteps(&fallback, size, residualNames{}, open)
	for i, st := range p.steps {
		if strings.HasPrefix(st.step, "fetch,") {
			p.steps[i].role = roleFetch
			p.ctlFrom = i
		}
	}
	return p
}

// runnable reports the first part of s that the runner cannot run yet.
func runnable(s *Scenario) error {
	no := func(what, why string) error { return &NotRunnableError{Scenario: s.Name, What: what, Why: why} }
	if isTCP(s) {
		switch {
		case s.Clock != ClockNetwork:
			return no("protocol tcp on the count clock", "a TCP flow runs to the sink's stream checker on the network clock (count-mode TCP sends: images/specnet/tcpsend)")
		case len(s.Workload.SizesBytes) != 1:
			return no("protocol tcp with several sizes", "the stream checker takes one connection per boot, and the context boot opens one per size: give one size")
		case s.Specialization.Mode == ModeRemote:
			return no("protocol tcp, remote specialization", "the guest's fetch asks the server for udp.decl's residual")
		case len(s.Timeline) > 0:
			return no("protocol tcp with a timeline", "the runner places events in UDP flows only")
		}
	}
	if s.Workload.Duration.Duration != 0 {
		for i, e := range s.Timeline {
			if !slices.Contains(hostEvents, e.Event) {
				return no(fmt.Sprintf("timeline[%d] %s at a time", i, e.Event), "the guest's events happen between two send steps: place them by after_packets in a workload bounded by count")
			}
		}
		if countsArrivals(s) {
			return no("arrive-at in a workload bounded by duration", "the host counts arrivals between two send steps, and events placed by at happen during one")
		}
	}
	for _, g := range s.Specialization.DisableGuards {
		if g == "pmtu" {
			return no("disable_guards pmtu", "the core's route_guard switch turns the route and PMTU guards off together: disable route")
		}
	}
	if s.Specialization.GuardPolicy == PolicyRespecialize && s.Specialization.Mode != ModeLocal {
		return no("guard policy respecialize", "the residual for the new route is specialized locally only")
	}
	for i, e := range s.Timeline {
		switch e.Event {
		case EventSocketClose:
			if e.Which == "thread" && s.Specialization.Mode == ModeRemote {
				return no(fmt.Sprintf("timeline[%d] %s from another task", i, e.Event), "the second task's tokens bind the residual by name, and a fetched module's name is the server's (the agent reads it from the file for the flow's token only)")
			}
		case EventSetsockopt, EventWrongLengthSend, EventServerUnavailable, EventOops:
		case EventRouteChange:
			if s.Clock == ClockNetwork && s.Specialization.Mode == ModeRemote {
				return no(fmt.Sprintf("timeline[%d] %s", i, e.Event), "the flow over two routers runs without the spec NIC (a locally specialized residual)")
			}
		case EventMTUChange, EventRespecialize:
			if s.Clock != ClockCount {
				return no(fmt.Sprintf("timeline[%d] %s", i, e.Event), "the route moves between two dummy devices: count clock only")
			}
		case EventLinkDown, EventLinkUp, EventLinkRate:
			// Placed by after_packets: the control session acts on the
			// link between two steps (at needs a workload duration).
		default:
			return no(fmt.Sprintf("timeline[%d] %s", i, e.Event), "the runner has no step for it")
		}
	}
	return nil
}

// marks are the workload's send counts at which the plan reads the
// core's counters: its start and end, each event, and the end of each
// guard-fired-within window.
func marks(s *Scenario) []int {
	m := []int{0, s.Workload.Count}
	for _, e := range s.Timeline {
		m = append(m, e.AfterPackets)
	}
	for _, x := range s.Expect {
		if x.Check == CheckGuardFired {
			e := s.Timeline[*x.Event]
			m = append(m, min(e.AfterPackets+*x.WithinPackets, s.Workload.Count))
		}
	}
	slices.Sort(m)
	return slices.Compact(m)
}

// contextSteps bring up the count clock's interface and open the flow
// with the path measurements' addresses (images/specnet/paths): dummy0,
// which drops every packet, so the guest sees only its own send path,
// with a fixed Ethernet address, so that the context is the same in
// every boot.
func contextSteps(adu int) []fmt.Stringer {
	return []fmt.Stringer{
		qemu.NetStep{Dev: paths.Dev, Addr: paths.Src, Prefix: 24, HWAddr: paths.HWAddr},
		qemu.CustomizeStep{Dst: paths.Dst, Port: paths.Port, SrcPort: paths.SrcPort, ADU: adu},
	}
}

// countPlan is the measurement boot of one size's flow: load the
// core (and the residual), open the flow on dummy0, bind the token, then
// the workload's timed sends, cut at each mark by a counters step and
// the events placed there.
func countPlan(s *Scenario, size int, residual string) *flowPlan {
	return flowSteps(s, size, residualNames{first: residual}, contextSteps(s.Workload.ADU(size)))
}

// residualNames are the module names of a flow's residuals: first for
// the start, second for the route after a route change ("" for none).
// fetched: the guest fetches the first (remote mode) and the agent reads
// its name from the module file, since the server's module embeds its
// context's digest (its name is not a local build's).
type residualNames struct {
	first, second string
	fetched       bool
}

// flowSteps is the measurement boot of one size's flow whose interfaces
// and flow socket the steps open brings up (count or network clock).
//
// Locally specialized, the residual module is in the initramfs; fetched
// (remote mode), open fetches and loads it.
func flowSteps(s *Scenario, size int, names residualNames, open []fmt.Stringer) *flowPlan {
	w := &s.Workload
	residual := names.first
	p := &flowPlan{}
	p.steps = append(p.steps, plannedStep{step: coreInsmod(s.Specialization.DisableGuards), role: roleSetup})
	if residual != "" && s.Specialization.Mode == ModeLocal {
		p.add(qemu.InsmodStep{Path: residualGuestPath}, roleSetup)
	}
	if names.second != "" {
		p.add(qemu.InsmodStep{Path: secondResidualGuestPath}, roleSetup)
	}
	for _, step := range open {
		p.add(step, roleSetup)
	}
	if slices.ContainsFunc(s.Timeline, func(e Event) bool { return e.Event == EventSocketClose && e.Which == "dup" }) {
		p.add(qemu.DupStep{}, roleSetup)
	}
	switch {
	case names.fetched:
		p.add(loadStep(qemu.LoadStep{Slot: tokenSlot, Ko: fetchedModule}, s.Specialization.GuardPolicy), roleSetup)
	case residual != "":
		p.add(loadStep(qemu.LoadStep{Slot: tokenSlot, Name: residual}, s.Specialization.GuardPolicy), roleSetup)
	}
	for _, x := range s.Expect {
		if x.Check == CheckThroughputGain {
			p.add(p.sendStep(s, qemu.SendStep{Path: sendPath(x.Over, w.Protocol), Slot: tokenSlot, Size: size, Count: w.Count, Warmup: w.Warmup}), roleBaseline)
		}
	}
	path := sendPath(w.Path, w.Protocol)
	var flow qemu.CustomizeStep
	for _, st := range open {
		if cu, ok := st.(qemu.CustomizeStep); ok {
			flow = cu
			p.streamBytes += int64(cu.Warmup)
		}
	}
	sent, warmup := 0, w.Warmup
	for _, mark := range marks(s) {
		if n := mark - sent; n > 0 {
			p.addWorkload(s, qemu.SendStep{Path: path, Slot: tokenSlot, Size: size, Count: n, Warmup: warmup})
			sent, warmup = mark, 0
		}
		p.steps = append(p.steps, plannedStep{step: qemu.CountersStep{}.String(), role: roleCounters, mark: mark})
		events := false
		for i, e := range s.Timeline {
			if e.AfterPackets == mark && slices.Contains(guestEvents, e.Event) {
				if countsArrivals(s) {
					p.addHostAct(i) // where the sends before it went
				}
				step := eventStep(s, i, path, flow, names, size)
				p.steps = append(p.steps, plannedStep{step: step.String(), role: roleEvent, event: i})
				events = true
			}
		}
		for i, e := range s.Timeline {
			if e.AfterPackets == mark && slices.Contains(hostEvents, e.Event) && w.Duration.Duration == 0 {
				p.addHostAct(i)
			}
		}
		if events {
			// What the events did before any send follows them.
			p.steps = append(p.steps, plannedStep{step: qemu.CountersStep{}.String(), role: roleCounters, mark: mark, afterEvents: true})
		}
	}
	if isTCP(s) {
		// The host waits for the stream between the last step and the
		// guest's end: the plan goes over the control channel.
		p.goControlled()
	}
	if w.Duration.Duration != 0 {
		for i, e := range s.Timeline {
			if slices.Contains(hostEvents, e.Event) {
				p.timedActs = append(p.timedActs, timedAct{event: i, at: e.At.Duration})
				p.goControlled()
			}
		}
	}
	return p
}

// addHostAct places the host's part of timeline event i before the next
// step. The host acts between two steps, so the plan goes over the
// control channel from its first workload send on.
func (p *flowPlan) addHostAct(i int) {
	if p.hostActs == nil {
		p.hostActs = map[int][]int{}
	}
	p.hostActs[len(p.steps)] = append(p.hostActs[len(p.steps)], i)
	p.goControlled()
}

// goControlled hands the plan over to the control channel from its first
// step after the setup on.
func (p *flowPlan) goControlled() {
	if p.ctlFrom > 0 {
		return
	}
	for j, st := range p.steps {
		if st.role != roleSetup {
			p.ctlFrom = j
			return
		}
	}
	p.ctlFrom = len(p.steps)
}

// loadStep binds the residual with the scenario's guard policy: fallback
// and refuse are what a send the residual refuses does (the agent's
// policy=; the route guard falls back), reinforce what the token does
// when its route changes (guard=; refused sends fall back).
func loadStep(ref qemu.LoadStep, policy string) fmt.Stringer {
	switch policy {
	case PolicyReinforce:
		return routeguard.LoadStep{Slot: ref.Slot, Name: ref.Name, Ko: ref.Ko, Guard: routeguard.Reinforce}
	case PolicyRespecialize:
		return routeguard.LoadStep{Slot: ref.Slot, Name: ref.Name, Ko: ref.Ko, Guard: routeguard.Respecialize}
	}
	ref.Policy = policy
	return ref
}

// The route scenarios' flow (as images/specnet/routeguard's test): the
// route to routedNet leaves through dummy0, and route-change moves it to
// dummy1; each dummy has a fixed Ethernet address, so the context is the
// same in every boot.
const (
	routedNet = "10.9.0.0"
	routedDst = "10.9.0.2"
	// twoDummies makes the dummy driver create dummy0 and dummy1.
	twoDummies = "dummy.numdummies=2"
)

var (
	routeDev0 = qemu.NetStep{Dev: "dummy0", Addr: paths.Src, Prefix: 24, HWAddr: paths.HWAddr}
	routeDev1 = qemu.NetStep{Dev: "dummy1", Addr: "10.1.0.1", Prefix: 24, HWAddr: "02:00:00:00:01:01"}
)

// movedRoute is route-change's step: the route leaves through dummy1.
var movedRoute = routeguard.RouteStep{Op: "replace", Dst: routedNet, Prefix: 24, Dev: routeDev1.Dev}

// respecializes reports whether a scenario replaces its residual after a
// route change.
func respecializes(s *Scenario) bool {
	return slices.ContainsFunc(s.Timeline, func(e Event) bool { return e.Event == EventRespecialize })
}

// oopses reports whether a scenario's guest loads the oops module.
func oopses(s *Scenario) bool {
	return slices.ContainsFunc(s.Timeline, func(e Event) bool { return e.Event == EventOops })
}

// routes reports whether a scenario moves its flow's route or changes
// its path MTU on the count clock, and so needs the routed flow between
// two dummies.
func routes(s *Scenario) bool {
	return s.Clock == ClockCount && slices.ContainsFunc(s.Timeline, func(e Event) bool {
		return e.Event == EventRouteChange || e.Event == EventMTUChange
	})
}

// overRouters reports whether a scenario moves its flow's route on the
// network clock: its flow goes to the far sink behind vnet's two routers
// (vnet.TwoRouterTopology), through Router1 until route-change moves it
// to Router2.
func overRouters(s *Scenario) bool {
	return s.Clock == ClockNetwork && slices.ContainsFunc(s.Timeline, func(e Event) bool { return e.Event == EventRouteChange })
}

// countsArrivals reports whether the host counts where the flow's
// datagrams arrived at each event (an arrive-at check reads them).
func countsArrivals(s *Scenario) bool {
	return slices.ContainsFunc(s.Expect, func(x Expectation) bool { return x.Check == CheckArriveAt })
}

// routeVia is the route of the flow over the routers through gateway gw.
func routeVia(gw string) routeguard.RouteStep {
	return routeguard.RouteStep{Op: "replace", Dst: vnet.FarNet, Prefix: 24, Gateway: gw}
}

// routedSteps bring up both dummies, route routedNet through dummy0 and
// open the flow to routedDst.
func routedSteps(adu int) []fmt.Stringer {
	return []fmt.Stringer{
		routeDev0, routeDev1,
		routeguard.RouteStep{Op: "add", Dst: routedNet, Prefix: 24, Dev: routeDev0.Dev},
		qemu.CustomizeStep{Dst: routedDst, Port: paths.Port, SrcPort: paths.SrcPort, ADU: adu},
	}
}

// routeDevAt is the device the flow's route uses when timeline event i
// happens: dummy1 once a route-change came before it.
func routeDevAt(s *Scenario, i int) string {
	for j, e := range s.Timeline {
		if e.Event == EventRouteChange && (e.AfterPackets < s.Timeline[i].AfterPackets || e.AfterPackets == s.Timeline[i].AfterPackets && j < i) {
			return routeDev1.Dev
		}
	}
	return routeDev0.Dev
}

// coreInsmod loads the core module with the guards named turned off
// (its test-only parameters, for negative controls).
func coreInsmod(disabled []string) string {
	step := qemu.InsmodStep{Path: coreGuestPath}.String()
	var params []string
	for _, g := range disabled {
		params = append(params, g+"_guard=0") // close_guard, route_guard
	}
	if params != nil {
		step += ",params=" + strings.Join(params, "%20")
	}
	return step
}

// closeRaceSrcPort is the port of the closerace's sockets: the flow
// socket holds the flow's.
const closeRaceSrcPort = paths.SrcPort + 1

// eventStep is the agent step of timeline event i, which acts in the
// guest; flow is the flow's customize step, residual the residual's
// name, size the flow's payload (bytes).
func eventStep(s *Scenario, i int, path qemu.SendPath, flow qemu.CustomizeStep, names residualNames, size int) fmt.Stringer {
	e := s.Timeline[i]
	residual := names.first
	switch e.Event {
	case EventRouteChange:
		if overRouters(s) {
			return routeVia(vnet.Router2IP)
		}
		return movedRoute
	case EventRespecialize:
		// The residual for the new route takes the token's place.
		return routeguard.LoadStep{Slot: tokenSlot, Name: names.second, Guard: routeguard.Respecialize, Replace: true}
	case EventMTUChange:
		return routeguard.MTUStep{Dev: routeDevAt(s, i), MTU: e.MTUBytes}
	case EventSocketClose:
		if e.Which == "thread" {
			return guards.CloseRaceStep{Dst: flow.Dst, Port: flow.Port, SrcPort: closeRaceSrcPort,
				Name: residual, Rounds: e.Rounds, Size: size}
		}
		return qemu.CloseStep{Dup: e.Which == "dup"}
	case EventSetsockopt:
		return qemu.SetsockoptStep{Level: e.Level, Name: e.Option, Value: e.Value}
	case EventWrongLengthSend:
		return qemu.SendStep{Path: path, Slot: tokenSlot, Size: e.SizeBytes, Count: 1}
	case EventOops:
		return qemu.InsmodStep{Path: oopsGuestPath}
	}
	panic("scenarios: no step for event " + e.Event) // runnable() let it through
}
