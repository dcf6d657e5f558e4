package sim

import (
	"fmt"
	"math"
	"strconv"

	"specbed/qemu"
	"specbed/results"
	"specbed/scenarios"
)

// bundlePath is the bundle's name of a scenario's send path.
func bundlePath(path string) string {
	switch path {
	case scenarios.PathKernel:
		return "sendto"
	case scenarios.PathSpecialized:
		return "special"
	}
	return path // generic is generic in both
}

// guardEvent reports whether a timeline event's guard moves a specialized
// flow to the generic path under the fallback policy.
func guardEvent(event string) bool {
	switch event {
	case scenarios.EventRouteChange, scenarios.EventMTUChange, scenarios.EventSetsockopt, scenarios.EventSocketClose:
		return true
	}
	return false
}

// ScenarioFigures models scenario s on the given platforms (the
// scenario's own, or every platform of the model, when empty) and returns
// the figures of its bundle: "sends", the figure the emulator's runner
// writes (same id, columns and unit), and for a remote specialization the
// fetch time and break-even session length over the scenario's spec link.
func (m *Model) ScenarioFigures(s *scenarios.Scenario, platforms []string) ([]results.Figure, error) {
	platforms = m.ScenarioPlatforms(s, platforms)
	network := s.Clock == scenarios.ClockNetwork
	sends := results.Figure{ID: "sends", Title: s.Name + ": cost per send (sim)", Columns: []string{"platform", "size_bytes", "path"},
		Series: "path", Kind: results.KindCount, Unit: "instructions per send",
		Caption: fmt.Sprintf("Scenario %s through the sim model (%s clock): instructions per send of the workload's %s path and the kernel's, "+
			"from the model's cost lines; a guard event under the fallback policy moves the sends after it to the generic path, "+
			"and the row is the mean over the %d timed sends.", s.Name, clockName(s), s.Workload.Path, s.Workload.Count)}
	if network {
		sends.Unit = "virtual ns per send"
		sends.Caption += " Network clock: the cost through the data NIC (fitted from figure fig5-udp-nic) in the guest's ns, " +
			"or, for a platform the bundle has no NIC figure of, the count-mode cost onto dummy0 without the NIC's work."
	}
	fetch := results.Figure{ID: "sim-fetch", Title: s.Name + ": time to the residual (sim)", Columns: []string{"platform", "size_bytes"},
		Kind: results.KindCount, Unit: "seconds",
		Caption: "From the session's start to the residual loaded, over the scenario's spec link (one device, cold server)."}
	breakEven := results.Figure{ID: "sim-break-even", Title: s.Name + ": break-even session length (sim)", Columns: []string{"platform", "size_bytes"},
		Kind: results.KindCount, Unit: "sends", Caption: "The session length past which fetching the residual pays, on the scenario's spec link."}
	guardAt := guardSend(s)
	for _, name := range platforms {
		p, err := m.Platform(name)
		if err != nil {
			return nil, err
		}
		qp, err := qemu.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
		}
		topo, err := scenarios.NetworkTopology(s, qp)
		if err != nil {
			return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
		}
		link := serverPath(topo)
		for _, size := range s.Workload.SizesBytes {
			key := []string{name, strconv.Itoa(size)}
			paths := []string{s.Workload.Path}
			if s.Workload.Path != scenarios.PathKernel {
				paths = append(paths, scenarios.PathKernel)
			}
			for _, path := range paths {
				prefix := ""
				if network && p.hasNIC() {
					prefix = nicPrefix
				}
				v, err := meanPerSend(p, prefix, path, size, s.Workload.Count, guardAt)
				if err != nil {
					return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
				}
				if network {
					v *= 1e9 / p.InstructionsPerSecond
				}
				sends.Rows = append(sends.Rows, results.Row{Key: append(key[:2:2], path), Value: v})
			}
			if s.Specialization.Mode != scenarios.ModeRemote || p.Spec == nil {
				continue
			}
			r, err := m.Run(Config{Platform: name, CPUScale: 1, Link: link, SizeBytes: size, Sends: max(1, s.Workload.Count),
				Devices: 1, ArrivalSeconds: 0, Workers: 1, Contexts: 1, GuardAt: guardAt, Seed: 1})
			if err != nil {
				return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
			}
			fetch.Rows = append(fetch.Rows, results.Row{Key: key, Value: r.FetchSeconds})
			if !math.IsInf(r.BreakEvenSends, 0) {
				breakEven.Rows = append(breakEven.Rows, results.Row{Key: key, Value: r.BreakEvenSends})
			}
		}
	}
	out := []results.Figure{sends}
	for _, f := range []results.Figure{fetch, breakEven} {
		if len(f.Rows) > 0 {
			out = append(out, f)
		}
	}
	return out, nil
}

// ScenarioPlatforms are the platforms a scenario runs on: those asked
// for, else the scenario's own, else every platform of the model.
func (m *Model) ScenarioPlatforms(s *scenarios.Scenario, asked []string) []string {
	switch {
	case len(asked) > 0:
		return asked
	case len(s.Platforms) > 0:
		return s.Platforms
	}
	return m.names()
}

func clockName(s *scenarios.Scenario) string {
	if s.Clock == "" {
		return scenarios.ClockCount
	}
	return s.Clock
}

// guardSend is the timed send after which the scenario's first guard
// event moves the flow to the generic path (0: none does).
func guardSend(s *scenarios.Scenario) int {
	if s.Workload.Path != scenarios.PathSpecialized || s.Specialization.GuardPolicy != scenarios.PolicyFallback {
		return 0
	}
	for _, e := range s.Timeline {
		if guardEvent(e.Event) && e.AfterPackets > 0 {
			return e.AfterPackets
		}
	}
	return 0
}

// hasNIC reports whether the platform has costs through its data NIC.
func (p *Platform) hasNIC() bool {
	_, ok := p.Paths[nicPrefix+bundlePath(scenarios.PathKernel)]
	return ok
}

// meanPerSend is the mean instructions per send of count sends on a path
// (prefix nicPrefix: through the data NIC), the specialized path's after
// guardAt taking the generic path (which the NIC figure does not have: its
// dummy0 cost plus the NIC's share of sendto()).
func meanPerSend(p *Platform, prefix, path string, size, count, guardAt int) (float64, error) {
	l, err := p.Path(prefix + bundlePath(path))
	if _, measured := p.Paths[prefix+bundlePath(path)]; prefix != "" && !measured {
		// The NIC figure measured the residual through customized_send,
		// not the scenario's SEND ioctl: its dummy0 cost plus the NIC's
		// share of sendto(), as for the generic path below.
		l, err = p.Path(bundlePath(path))
		if err == nil {
			var nic float64
			nic, err = nicShare(p, size)
			l.A += nic
		}
	}
	if err != nil {
		return 0, err
	}
	if path != scenarios.PathSpecialized || guardAt == 0 || guardAt >= count {
		return l.At(size), nil
	}
	g, err := p.Path(bundlePath(scenarios.PathGeneric))
	if err != nil {
		return 0, err
	}
	if prefix != "" {
		nic, err := nicShare(p, size)
		if err != nil {
			return 0, err
		}
		g.A += nic
	}
	n := float64(count)
	return (float64(guardAt)*l.At(size) + (n-float64(guardAt))*g.At(size)) / n, nil
}

// nicShare is what the data NIC adds to a send of size bytes
// (instructions): sendto() through the NIC less sendto() onto dummy0.
func nicShare(p *Platform, size int) (float64, error) {
	k := bundlePath(scenarios.PathKernel)
	viaNIC, err := p.Path(nicPrefix + k)
	if err != nil {
		return 0, err
	}
	dummy, err := p.Path(k)
	if err != nil {
		return 0, err
	}
	return viaNIC.At(size) - dummy.At(size), nil
}
