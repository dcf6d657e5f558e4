package sim

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"

	"specbed/results"
)

// Grid is a sweep's axes. Every combination of Platforms, LinkRatesBps,
// CPUScales, SizesBytes and SessionSends is one single-device point;
// FleetSizes are fleets (at Base's link, CPU, size and session) for the
// server's utilisation and cache hit rate.
type Grid struct {
	Platforms    []string
	LinkRatesBps []float64
	CPUScales    []float64
	SizesBytes   []int
	SessionSends []int
	FleetSizes   []int
	// FleetContexts are the fleets' numbers of distinct flow contexts
	// (cache keys); 0 stands for one per device (nothing to share).
	FleetContexts []int
	// Base holds the values of the axes a figure does not vary, and the
	// fleet's workers, contexts, arrival window, delay, loss and seed.
	Base Config
}

// DefaultGrid is 3 platforms x 10 link rates x 5 CPU speeds x 5 sizes x 14
// session lengths = 10,500 points, and fleets of 1 to 100,000 devices.
func DefaultGrid() Grid {
	return Grid{
		Platforms:     []string{"i486", "p3", "sa1100"},
		LinkRatesBps:  []float64{9600, 19200, 57600, 230400, 1e6, 2e6, 10e6, 54e6, 100e6, 1e9},
		CPUScales:     []float64{0.25, 0.5, 1, 2, 4},
		SizesBytes:    []int{64, 256, 512, 1024, 1472},
		SessionSends:  []int{10, 30, 100, 300, 1000, 3000, 10000, 30000, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7},
		FleetSizes:    []int{1, 10, 100, 1000, 10000, 100000},
		FleetContexts: []int{100, 0},
		Base: Config{CPUScale: 1, Link: Link{RateBps: 10e6, DelaySeconds: 0.002}, SizeBytes: 1024, Sends: 100000,
			Devices: 1, ArrivalSeconds: 3600, Workers: 2, Contexts: 100, Seed: 1},
	}
}

// Point is one single-device result of a sweep.
type Point struct {
	Platform       string
	LinkRateBps    float64
	CPUScale       float64
	SizeBytes      int
	SessionSends   int
	Gain           float64 // kernel-path session time over the specializing one
	BreakEvenSends float64
	FetchSeconds   float64
}

// Sweep is a sweep's points and fleets.
type Sweep struct {
	Grid   Grid
	Points []Point
	Fleets []*Result
}

// Sweep runs every point of the grid.
func (m *Model) Sweep(g Grid) (*Sweep, error) {
	out := &Sweep{Grid: g}
	for _, p := range g.Platforms {
		link, err := m.linkKind(p, g.Base.Link)
		if err != nil {
			return nil, fmt.Errorf("sim: sweep: %w", err)
		}
		for _, rate := range g.LinkRatesBps {
			for _, cpu := range g.CPUScales {
				for _, size := range g.SizesBytes {
					for _, sends := range g.SessionSends {
						c := g.Base
						c.Link = link
						c.Platform, c.Link.RateBps, c.CPUScale, c.SizeBytes, c.Sends = p, rate, cpu, size, sends
						c.Devices, c.Workers, c.Contexts = 1, 1, 1
						r, err := m.Run(c)
						if err != nil {
							return nil, fmt.Errorf("sim: sweep: %w", err)
						}
						out.Points = append(out.Points, Point{Platform: p, LinkRateBps: rate, CPUScale: cpu, SizeBytes: size,
							SessionSends: sends, Gain: r.Gain, BreakEvenSends: r.BreakEvenSends, FetchSeconds: r.FetchSeconds})
					}
				}
			}
		}
	}
	for _, p := range g.Platforms {
		link, err := m.linkKind(p, g.Base.Link)
		if err != nil {
			return nil, fmt.Errorf("sim: sweep: %w", err)
		}
		for _, contexts := range g.FleetContexts {
			for _, n := range g.FleetSizes {
				c := g.Base
				c.Platform, c.Link, c.Devices, c.Contexts = p, link, n, contexts
				r, err := m.Run(c)
				if err != nil {
					return nil, fmt.Errorf("sim: sweep: fleet of %d: %w", n, err)
				}
				out.Fleets = append(out.Fleets, r)
			}
		}
	}
	return out, nil
}

// WriteCSV writes every single-device point.
func (s *Sweep) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"platform", "link_bps", "cpu_scale", "size_bytes", "session_sends", "gain", "break_even_sends", "fetch_seconds"})
	for _, p := range s.Points {
		_ = cw.Write([]string{p.Platform, num(p.LinkRateBps), num(p.CPUScale), strconv.Itoa(p.SizeBytes), strconv.Itoa(p.SessionSends),
			num(p.Gain), num(p.BreakEvenSends), num(p.FetchSeconds)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("sim: sweep csv: %w", err)
	}
	return nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// Figures are the sweep's plots as bundle figures: break-even session
// length against link rate and CPU speed, the gain over link rate and
// session length, and the server against fleet size.
func (s *Sweep) Figures() []results.Figure {
	b := s.Grid.Base
	at := func(p Point, rate, cpu float64, size int) bool {
		return p.LinkRateBps == rate && p.CPUScale == cpu && p.SizeBytes == size
	}
	breakEvenWhy := "Break-even session length: the sends after which a session that specializes has finished sooner than one " +
		"that only ever uses the kernel's sendto(). The device sends through sendto() while its request travels, queues " +
		"and comes back, so waiting costs no throughput, only time at the old speed; what it pays is the CPU work of " +
		"collecting the context and loading the module (instructions, measured in figure 4(c) and scaled by CPU speed), " +
		"recovered at (sendto() - residual) instructions per send. So the break-even is (sends made while waiting) + " +
		"(collect + load instructions) / (instructions saved per send). The first term grows as the link slows and as the " +
		"CPU speeds up (more sends fit in the same wait, which the server's compile dominates); the second does not depend " +
		"on either. Past the break-even the gain tends to sendto()/residual - 1 (figure 5's gain)."
	be := results.Figure{ID: "sim-break-even-link", Title: "Break-even session length vs link rate", Unit: "sends",
		Kind: results.KindCount, Columns: []string{"link_bps", "platform"}, Series: "platform",
		Caption: breakEvenWhy + fmt.Sprintf(" Model points: %d-byte sends, CPU x%g, %g s one-way delay, one device, cold server.", b.SizeBytes, b.CPUScale, b.Link.DelaySeconds)}
	cpu := results.Figure{ID: "sim-break-even-cpu", Title: "Break-even session length vs CPU speed", Unit: "sends",
		Kind: results.KindCount, Columns: []string{"cpu_scale", "platform"}, Series: "platform",
		Caption: fmt.Sprintf("The break-even session length at %g bit/s and %d-byte sends by CPU speed (multiples of the emulated CPU's instruction rate).", b.Link.RateBps, b.SizeBytes)}
	gain := results.Figure{ID: "sim-gain-surface", Title: "Throughput gain over a session by link rate and session length", Unit: "% throughput gain",
		Kind: results.KindCount, Columns: []string{"platform", "session_sends", "link_bps"}, Series: "link_bps",
		Caption: fmt.Sprintf("The session's throughput gain of specializing over sendto() alone (sendto() session time / specializing session time - 1), %d-byte sends, CPU x%g: "+
			"a surface over session length and link rate, one group per session length; below break-even the gain is negative.", b.SizeBytes, b.CPUScale)}
	for _, p := range s.Points {
		if math.IsInf(p.BreakEvenSends, 0) {
			continue // the residual is not faster: nothing to plot, the CSV has it
		}
		if at(p, p.LinkRateBps, b.CPUScale, b.SizeBytes) && p.SessionSends == b.Sends {
			be.Rows = append(be.Rows, results.Row{Key: []string{num(p.LinkRateBps), p.Platform}, Value: p.BreakEvenSends})
		}
		if at(p, b.Link.RateBps, p.CPUScale, b.SizeBytes) && p.SessionSends == b.Sends {
			cpu.Rows = append(cpu.Rows, results.Row{Key: []string{num(p.CPUScale), p.Platform}, Value: p.BreakEvenSends})
		}
		if at(p, p.LinkRateBps, b.CPUScale, b.SizeBytes) && p.SessionSends >= 1000 {
			gain.Rows = append(gain.Rows, results.Row{Key: []string{p.Platform, strconv.Itoa(p.SessionSends), num(p.LinkRateBps)}, Value: 100 * (p.Gain - 1)})
		}
	}
	fleet := func(id, title, unit, what string, v func(*Result) float64) results.Figure {
		f := results.Figure{ID: id, Title: title, Unit: unit, Kind: results.KindCount, Columns: []string{"contexts", "devices", "platform"}, Series: "platform",
			Caption: fmt.Sprintf("%s, fleets starting their sessions uniformly within %g s, %d compile slots, %g bit/s links, seed %d; "+
				"contexts is how many distinct flow contexts (cache keys) the fleet's flows fall into, or \"each\" for one per device.",
				what, b.ArrivalSeconds, b.Workers, b.Link.RateBps, b.Seed)}
		for _, r := range s.Fleets {
			contexts := strconv.Itoa(r.Config.Contexts)
			if r.Config.Contexts == 0 {
				contexts = "each"
			}
			f.Rows = append(f.Rows, results.Row{Key: []string{contexts, strconv.Itoa(r.Config.Devices), r.Config.Platform}, Value: v(r)})
		}
		return f
	}
	return []results.Figure{be, cpu, gain,
		fleet("sim-fleet-utilisation", "Server utilisation vs fleet size", "% busy", "The workers' busy share from the first request to the last module",
			func(r *Result) float64 { return 100 * r.Utilisation }),
		fleet("sim-fleet-hit-rate", "Module cache hit rate vs fleet size", "% of requests", "The share of requests served from the module cache",
			func(r *Result) float64 { return 100 * r.CacheHitRate }),
		fleet("sim-fleet-fetch", "Mean time to the residual vs fleet size", "seconds", "The mean time from a session's start to its residual loaded (queueing included)",
			func(r *Result) float64 { return r.FetchSeconds }),
	}
}

// linkKind is link with the framing and MTU of the platform's own link to
// the server (the SA-1110's SLIP line; Ethernet on x86): a sweep changes
// the link's rate, not its technology.
func (m *Model) linkKind(platform string, link Link) (Link, error) {
	p, err := m.Platform(platform)
	if err != nil {
		return Link{}, err
	}
	if p.Spec != nil {
		link.SLIP, link.MTU = p.Spec.CalibrationLink.SLIP, p.Spec.CalibrationLink.MTU
	}
	return link, nil
}
