package scenarios

import (
	"fmt"
	"path/filepath"
	"strconv"

	"specbed/results"
)

// bundleFigure is the figure of a scenario's bundle: what one send cost
// on each platform and size, through the workload's path and each
// baseline path.
const bundleFigure = "sends"

// writeScenarioBundle writes the results bundle of one scenario (all its
// platforms) into dir: bundle.json with the run's and the platforms'
// parameters, the cost-per-send figure (CSV, PNG, SVG) and report.html.
// The outcome.json of each platform beside it has the checks.
func writeScenarioBundle(dir string, run results.Run, s *Scenario, outcomes []Outcome) error {
	b := &results.Bundle{Run: run}
	f := results.Figure{
		ID:      bundleFigure,
		Title:   s.Name + ": cost per send",
		Columns: []string{"platform", "size_bytes", "path"},
		Series:  "path",
		Kind:    results.KindCount,
		Unit:    "instructions per send",
		Caption: fmt.Sprintf("Scenario %s, %s clock: the workload's timed sends through the %s path and each baseline path's. "+
			"Count clock: guest instructions per send (virtual ns / 2^shift); network clock: virtual ns per send, "+
			"which follow host time while the guest waits.", s.Name, s.Clock, s.Workload.Path),
	}
	if s.Clock == ClockNetwork {
		f.Kind, f.Unit = results.KindTime, "virtual ns per send"
	}
	for _, o := range outcomes {
		if o.platform == nil {
			continue
		}
		b.Platforms = append(b.Platforms, *o.platform)
		for _, fl := range o.Flows {
			size := strconv.Itoa(fl.SizeBytes)
			f.Rows = append(f.Rows, results.Row{Key: []string{o.Platform, size, s.Workload.Path}, Value: perSend(fl.NsPerSend, fl, s)})
			for path, ns := range fl.BaselineNsPerSend {
				if path != s.Workload.Path {
					f.Rows = append(f.Rows, results.Row{Key: []string{o.Platform, size, path}, Value: perSend(ns, fl, s)})
				}
			}
		}
	}
	if len(b.Platforms) == 0 {
		return nil // nothing booted: the outcomes say why
	}
	if len(f.Rows) > 0 {
		b.Figures = append(b.Figures, f)
	}
	if err := b.Write(dir); err != nil {
		return fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	return nil
}

// perSend is a virtual ns per send figure in the bundle's unit.
func perSend(ns float64, f *FlowResult, s *Scenario) float64 {
	if s.Clock == ClockCount && f.NsPerSend > 0 {
		return ns * f.InstructionsPerSend / f.NsPerSend
	}
	return ns
}

// bundleDir is the folder of a scenario's bundle.
func (r *Runner) bundleDir(s *Scenario) string { return filepath.Join(r.OutDir, s.Name) }
