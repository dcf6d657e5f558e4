package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"specbed/qemu"
	"specbed/scenarios"
	"specbed/vnet"
)

// answers are the checks the model evaluates: what it computes (sends,
// their paths and costs, the sink's share of them). The others read the
// guest's kernel (its console, its guard counters, its errnos) and stay
// unchecked on the sim backend.
var answers = []string{scenarios.CheckDelivered, scenarios.CheckLost, scenarios.CheckSpecializedShare, scenarios.CheckThroughputGain}

// modelledEvents are the timeline events the model follows (legs).
var modelledEvents = []string{scenarios.EventRouteChange, scenarios.EventRespecialize, scenarios.EventServerUnavailable}

// Outcomes runs scenario s (from file) through the model on the given
// platforms (ScenarioPlatforms) and judges its expectations as the
// emulator's runner does (scenarios.Judge): one outcome per platform,
// flows per size as a boot would have measured them. A scenario that needs
// what the model does not follow is not runnable, naming it; checks the
// model cannot answer are named in the message, not counted.
func (m *Model) Outcomes(s *scenarios.Scenario, file string, platforms []string) ([]scenarios.Outcome, error) {
	var out []scenarios.Outcome
	for _, name := range m.ScenarioPlatforms(s, platforms) {
		o := scenarios.Outcome{Scenario: s.Name, File: file, Platform: name, ExpectFailure: s.ExpectFailure}
		err := m.unmodelled(s, name)
		if err == nil {
			if o.Flows, err = m.flows(s, name); err != nil {
				return nil, err
			}
		}
		answered := func(i int) bool { return slices.Contains(answers, s.Expect[i].Check) }
		scenarios.Judge(s, &o, answered, err)
		if err == nil {
			if skipped := unanswered(s); skipped != "" {
				o.Message += "; not checked by the model (it has no guest kernel): " + skipped
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// unanswered names the expectations the model does not evaluate.
func unanswered(s *scenarios.Scenario) string {
	var names []string
	for i, x := range s.Expect {
		if !slices.Contains(answers, x.Check) {
			names = append(names, fmt.Sprintf("expect[%d] %s", i, x.Check))
		}
	}
	return strings.Join(names, ", ")
}

// unmodelled returns a *scenarios.NotRunnableError naming the first part
// of s the model does not follow on platform, nil when it follows all.
func (m *Model) unmodelled(s *scenarios.Scenario, platform string) error {
	no := func(what, why string, args ...any) error {
		return &scenarios.NotRunnableError{Scenario: s.Name, What: "on the sim backend, " + what, Why: fmt.Sprintf(why, args...)}
	}
	w := &s.Workload
	switch {
	case w.Protocol != "udp":
		return no("protocol "+w.Protocol, "the model's per-send costs are UDP's (figure udp-send-paths)")
	case w.Duration.Duration != 0:
		return no("a workload duration", "the model counts sends")
	case len(s.Specialization.DisableGuards) > 0:
		return no("disable_guards", "the model assumes the guards work (it has no guest kernel to switch them off)")
	case s.Specialization.GuardPolicy == scenarios.PolicyRefuse:
		return no("guard_policy refuse", "refused sends fail in the guest's kernel, which the model does not follow")
	}
	for i, e := range s.Timeline {
		if !slices.Contains(modelledEvents, e.Event) {
			return no(fmt.Sprintf("timeline[%d] %s", i, e.Event), "the model follows only %s", strings.Join(modelledEvents, ", "))
		}
	}
	var answered, unchecked int
	for _, x := range s.Expect {
		if slices.Contains(answers, x.Check) {
			answered++
		} else {
			unchecked++
		}
	}
	switch {
	case answered == 0:
		return no("every expectation", "the model answers only %s", strings.Join(answers, ", "))
	case s.ExpectFailure != "" && unchecked > 0:
		return no("a negative control with "+unanswered(s), "it must fail on a check the model may not answer")
	}
	if s.Clock != scenarios.ClockNetwork || !countsDeliveries(s) {
		return nil
	}
	qp, err := qemu.Lookup(platform)
	if err != nil {
		return fmt.Errorf("sim: scenario %s: %w", s.Name, err)
	}
	if qp.Link == qemu.LinkSLIP {
		return no("deliveries over the SLIP line", "the guest's sl0 queue (10 packets) drops a fast burst, which the model does not count")
	}
	return nil
}

// countsDeliveries reports whether a check of s counts what the sink got.
func countsDeliveries(s *scenarios.Scenario) bool {
	return slices.ContainsFunc(s.Expect, func(x scenarios.Expectation) bool {
		return x.Check == scenarios.CheckDelivered || x.Check == scenarios.CheckLost
	})
}

// flows are scenario s's flows on platform as the model sees them, one per
// size, with what the answered checks read: timed sends and their mean
// cost (virtual ns; instructions in count mode), the baselines' costs,
// the specialized sends between the first and last counters (warm-up
// included, as the guest counts them) and, on the network clock, the
// datagrams that reach the sink: every send of the boot less the data
// path's loss (its expected value, rounded). The model fails no send.
func (m *Model) flows(s *scenarios.Scenario, platform string) ([]*scenarios.FlowResult, error) {
	p, err := m.Platform(platform)
	if err != nil {
		return nil, err
	}
	qp, err := qemu.Lookup(platform)
	if err != nil {
		return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
	}
	topo, err := scenarios.NetworkTopology(s, qp)
	if err != nil {
		return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
	}
	network := s.Clock == scenarios.ClockNetwork
	prefix := ""
	if network && p.hasNIC() {
		prefix = nicPrefix
	}
	nsPer := 1e9 / p.InstructionsPerSecond // virtual ns per instruction: 2^shift
	w := &s.Workload
	ls := legs(s)
	var out []*scenarios.FlowResult
	for _, size := range w.SizesBytes {
		mean, err := meanPerSend(p, prefix, ls, size)
		if err != nil {
			return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
		}
		specialized := 0
		if ls[0].path == scenarios.PathSpecialized {
			specialized = w.Warmup
		}
		for _, l := range ls {
			if l.path == scenarios.PathSpecialized {
				specialized += l.sends
			}
		}
		f := &scenarios.FlowResult{SizeBytes: size, Sends: w.Count, WindowSends: w.Count + w.Warmup, NsPerSend: mean * nsPer,
			Attempted: w.Count + w.Warmup, BaselineNsPerSend: map[string]float64{},
			Counters: map[int]map[string]int64{0: {"sends_specialized": 0}, w.Count: {"sends_specialized": int64(specialized)}}}
		if !network {
			f.InstructionsPerSend = mean
		}
		for _, x := range s.Expect {
			if x.Check != scenarios.CheckThroughputGain {
				continue
			}
			c, err := perSend(p, prefix, x.Over, size)
			if err != nil {
				return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
			}
			f.BaselineNsPerSend[x.Over] = c * nsPer
			f.Attempted += w.Count + w.Warmup
		}
		if network {
			// The datagram's frame on the wire: payload, UDP, IP, Ethernet
			// (bytes), offered at the sender's rate (frames per second).
			frame := float64(size + 8 + 20 + 14)
			delivered := int64(math.Round(dataPath(topo, float64(f.Attempted), frame, p.InstructionsPerSecond/mean)))
			f.Delivered = &delivered
		}
		out = append(out, f)
	}
	return out, nil
}

// dataPath is how many of offered frames of frame bytes, sent at rate
// frames per second, reach the sink over the topology's data path (every
// link but the specialization link), in order: a link with a rate carries
// rate/8/frame per second while the burst lasts, its queue (QueueBytes, the
// frame on the wire included) holds what it cannot carry yet and drops
// the rest (the runner waits for the queue to drain); then its loss takes
// its share. A fluid model: one burst at a steady rate.
func dataPath(t vnet.Topology, offered, frame, rate float64) float64 {
	n := offered
	for _, l := range t.Links {
		if l.Name == vnet.SpecLink {
			continue
		}
		if l.Rate > 0 {
			carries := float64(l.Rate) / 8 / frame // frames per second
			queue := l.QueueBytes
			if queue == 0 {
				queue = vnet.DefaultQueueBytes
			}
			if carries < rate {
				n = math.Min(n, math.Floor(float64(queue)/frame)+math.Floor(carries*n/rate))
				rate = carries
			}
		}
		n *= 1 - l.Loss
	}
	return n
}
