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
	respecialize := results.Figure{ID: "sim-respecialize", Title: s.Name + ": time to respecialize (sim)", Columns: []string{"platform", "size_bytes"},
		Kind: results.KindCount, Unit: "seconds",
		Caption: "From the route guard's firing to the new route's residual loaded, fetched from the server over the scenario's spec link " +
			"(the paper's flow, whatever the scenario's specialization mode): the new context's collection, the upload, the server's cold build, " +
			"the download and the load; the flow sends through the generic path meanwhile."}
	ls := legs(s)
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
				flow := ls
				if path != s.Workload.Path {
					flow = []leg{{s.Workload.Count, path}}
				}
				v, err := meanPerSend(p, prefix, flow, size)
				if err != nil {
					return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
				}
				if network {
					v *= 1e9 / p.InstructionsPerSecond
				}
				sends.Rows = append(sends.Rows, results.Row{Key: append(key[:2:2], path), Value: v})
			}
			respec := s.Specialization.GuardPolicy == scenarios.PolicyRespecialize && guardSend(ls) > 0
			if s.Specialization.Mode != scenarios.ModeRemote && !respec || p.Spec == nil {
				continue
			}
			r, err := m.Run(Config{Platform: name, CPUScale: 1, Link: link, SizeBytes: size, Sends: max(1, s.Workload.Count),
				Devices: 1, ArrivalSeconds: 0, Workers: 1, Contexts: 1, GuardAt: guardSend(ls), Respecialize: respec, Seed: 1})
			if err != nil {
				return nil, fmt.Errorf("sim: scenario %s: %w", s.Name, err)
			}
			if respec {
				respecialize.Rows = append(respecialize.Rows, results.Row{Key: key, Value: r.RespecializeSeconds})
			}
			if s.Specialization.Mode != scenarios.ModeRemote {
				continue
			}
			fetch.Rows = append(fetch.Rows, results.Row{Key: key, Value: r.FetchSeconds})
			if !math.IsInf(r.BreakEvenSends, 0) {
				breakEven.Rows = append(breakEven.Rows, results.Row{Key: key, Value: r.BreakEvenSends})
			}
		}
	}
	out := []results.Figure{sends}
	for _, f := range []results.Figure{fetch, breakEven, respecialize} {
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

// hasNIC reports whether the platform has costs through its data NIC.
func (p *Platform) hasNIC() bool {
	_, ok := p.Paths[nicPrefix+bundlePath(scenarios.PathKernel)]
	return ok
}

// leg is a run of consecutive timed sends on one path.
type leg struct {
	sends int
	path  string
}

// legs are the scenario's timed sends by path, in order: the workload's
// path, except that a specialized flow takes the generic path when its
// server is down (from the first send), or after a route change under the
// fallback policy (for the rest) and the respecialize policy (until the
// respecialize event swaps in the new route's residual). Under reinforce
// the residual keeps sending. The caller has checked that the model
// covers every event (unmodelled).
func legs(s *scenarios.Scenario) []leg {
	w := &s.Workload
	if w.Path != scenarios.PathSpecialized {
		return []leg{{w.Count, w.Path}}
	}
	pol := s.Specialization.GuardPolicy
	moved, back := w.Count, w.Count
	for _, e := range s.Timeline {
		switch {
		case e.Event == scenarios.EventServerUnavailable:
			return []leg{{w.Count, scenarios.PathGeneric}}
		case e.Event == scenarios.EventRouteChange && (pol == scenarios.PolicyFallback || pol == scenarios.PolicyRespecialize):
			moved = min(moved, e.AfterPackets)
		case e.Event == scenarios.EventRespecialize && e.AfterPackets >= moved:
			back = min(back, e.AfterPackets)
		}
	}
	var out []leg
	for _, l := range []leg{{moved, w.Path}, {back - moved, scenarios.PathGeneric}, {w.Count - back, w.Path}} {
		if l.sends > 0 {
			out = append(out, l)
		}
	}
	return out
}

// guardSend is the timed send after which a guard moves the flow off its
// residual (0: none does).
func guardSend(ls []leg) int {
	if len(ls) > 1 && ls[0].path == scenarios.PathSpecialized {
		return ls[0].sends
	}
	return 0
}

// meanPerSend is the mean instructions per send of a flow's legs of sends
// of size payload bytes, through the data NIC with prefix nicPrefix.
func meanPerSend(p *Platform, prefix string, ls []leg, size int) (float64, error) {
	var sum float64
	var n int
	for _, l := range ls {
		c, err := perSend(p, prefix, l.path, size)
		if err != nil {
			return 0, err
		}
		sum += float64(l.sends) * c
		n += l.sends
	}
	if n == 0 {
		return 0, fmt.Errorf("sim: a flow without sends")
	}
	return sum / float64(n), nil
}

// perSend is one send's instructions on a scenario path (prefix
// nicPrefix: through the data NIC). The NIC figure measured sendto() and
// the residual through customized_send, not the scenario's SEND ioctl or
// the generic path: those cost their dummy0 figure plus the NIC's share
// of sendto().
func perSend(p *Platform, prefix, path string, size int) (float64, error) {
	if l, ok := p.Paths[prefix+bundlePath(path)]; ok && (prefix == "" || path == scenarios.PathKernel) {
		return l.At(size), nil
	}
	l, err := p.Path(bundlePath(path))
	if err != nil || prefix == "" {
		return l.At(size), err
	}
	nic, err := nicShare(p, size)
	if err != nil {
		return 0, err
	}
	return l.At(size) + nic, nil
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
