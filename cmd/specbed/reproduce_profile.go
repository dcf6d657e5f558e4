package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-multierror"

	"specbed/qemu"
	"specbed/results"
	"specbed/results/repro"
)

// measureProfiles makes figure 1 (the kernel's profile under 100
// concurrent connections) on every measured platform with a data NIC,
// one boot after another, after the other network-mode figures (its
// clients load the host). A --quick run skips it: its counts follow host
// timing and the quick runs are compared for identical counts. It
// returns the figures, or the Missing row that says why there are none.
func measureProfiles(ctx context.Context, outcomes []*platformOutcome, quick bool, errOut io.Writer) ([]results.Figure, []results.Missing, error) {
	if quick {
		return nil, []results.Missing{{PaperFigure: "1", Why: "not made in a --quick run (network mode: its counts follow host timing)"}}, nil
	}
	var funcs []results.FunctionProfile
	var errs *multierror.Error
	progress := newStepProgress(ctx, errOut)
	for _, o := range outcomes {
		if o == nil || o.p.Link != qemu.LinkEthernet {
			continue
		}
		step := progress.add(o.p.Name + " figure 1")
		e := *o.env
		e.Step = step.set
		start := time.Now()
		f, err := e.MeasureProfile(ctx)
		status := fmt.Sprintf(" (%.0f s)", time.Since(start).Seconds())
		if err != nil {
			step.finish("failed" + status)
			printExcerpt(errOut, err)
			errs = multierror.Append(errs, err)
			continue
		}
		step.finish(fmt.Sprintf("done: %d functions ran", len(f)) + status)
		funcs = append(funcs, f...)
	}
	progress.wait()
	if len(funcs) == 0 {
		return nil, []results.Missing{{PaperFigure: "1", Why: "no platform with a data NIC was measured (or its profile boot failed: see the run's errors)"}}, errs.ErrorOrNil()
	}
	return results.ProfileFigures(funcs, repro.ProfileCaption()), nil, errs.ErrorOrNil()
}
