package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"specbed/images"
	"specbed/results"
	"specbed/scenarios"
	"specbed/sim"
)

func newSimCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "A calibrated model of devices, link and specialization server",
		Long: `sim answers questions the emulator cannot afford (thousands of link rates, CPU speeds,
message sizes, session lengths, fleets of up to 100,000 devices) with a discrete-event
model whose costs are fitted to one result bundle of 'specbed reproduce'. calibrate fits
and validates it, run takes scenario files through it, sweep draws the break-even and
fleet figures. sim/README.md describes the model and its limits.`,
	}
	cmd.AddCommand(newSimCalibrateCmd(), newSimRunCmd(), newSimSweepCmd())
	return cmd
}

// defaultModel is the model file calibrate writes and run and sweep read
// unless told otherwise.
func defaultModel() (string, error) {
	repo, err := images.FindRepo()
	if err != nil {
		return "", err
	}
	return filepath.Join(repo, "out", "sim", "model.json"), nil
}

func newSimCalibrateCmd() *cobra.Command {
	var out string
	var fit []int
	cmd := &cobra.Command{
		Use:   "calibrate RUN",
		Short: "Fit the model to a result bundle and check it on the sizes held out",
		Long: `calibrate fits each platform's per-path cost (instructions per send = a + b x payload
bytes) on the bundle's rows of the --fit-sizes only, reads figure 4(c)'s phases into
device instructions, link bytes and server seconds, writes the model (naming the bundle
by path, commit and SHA-256) and prints the model against the bundle at every other size.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := sim.Calibrate(args[0], fit)
			if err != nil {
				return err
			}
			if out == "" {
				if out, err = defaultModel(); err != nil {
					return err
				}
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			if err := m.Write(out); err != nil {
				return err
			}
			b, err := results.Read(args[0])
			if err != nil {
				return err
			}
			checks, err := sim.Validate(m, b)
			if err != nil {
				return err
			}
			return printChecks(cmd.OutOrStdout(), out, checks)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "model file (default out/sim/model.json in the checkout)")
	cmd.Flags().IntSliceVar(&fit, "fit-sizes", sim.DefaultFitSizes(), "payload sizes (bytes) to fit on; the others are held out")
	return cmd
}

func printChecks(w io.Writer, model string, checks []sim.Check) error {
	worst := 0.0
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "platform\tpath\tsize (B)\tquantity\tmodel\temulator\terror (%)\t")
	for _, c := range checks {
		worst = max(worst, c.RelErr())
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.1f\t%.1f\t%.2f\t\n", c.Platform, c.Path, c.SizeBytes, c.Quantity, c.Model, c.Emulator, 100*c.RelErr())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "model %s: %d held-out points, worst %.2f%% off the emulator\n", model, len(checks), 100*worst)
	return err
}

func loadModel(path string) (*sim.Model, error) {
	if path == "" {
		var err error
		if path, err = defaultModel(); err != nil {
			return nil, err
		}
	}
	m, err := sim.Read(path)
	if err != nil {
		return nil, fmt.Errorf("%w (make one with 'specbed sim calibrate RUN')", err)
	}
	return m, nil
}

func newSimRunCmd() *cobra.Command {
	var opts simRunOptions
	cmd := &cobra.Command{
		Use:   "run FILE...",
		Short: "Run scenario files through the model",
		Long: `run reads scenario files with the scenarios decoder (the same validation as 'specbed run')
and writes one result bundle per scenario, with the figure the emulator's runner writes
(sends: instructions per send of the workload's path and the kernel's) and, for a remote
specialization, the fetch time and break-even session length over the scenario's spec
link. It checks the expectations the model answers (delivered, lost, specialized-share,
throughput-gain-at-least) with the scenario runner's checks, leaves one outcome.json per
platform, prints the runner's summary and writes JUnit (--junit); the checks that read a
guest kernel (errno, guard-fired-within, kernel-log-clean, arrive-at) are named in the
message, not checked. A scenario that needs what the model does not follow (events other
than route-change, respecialize and server-unavailable, disabled guards, TCP) is
not-runnable, with the reason. The exit status is non-zero when a scenario fails (or is
not runnable, without --allow-not-runnable).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return simRun(cmd, opts, args)
		},
	}
	opts.flags(cmd)
	return cmd
}

type simRunOptions struct {
	model     string
	outDir    string
	platforms []string
	// junit, when set, receives the outcomes as JUnit XML;
	// allowNotRunnable keeps scenarios the model does not follow from
	// failing the run.
	junit            string
	allowNotRunnable bool
}

func (o *simRunOptions) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.model, "model", "", "model file (default out/sim/model.json in the checkout)")
	cmd.Flags().StringVar(&o.outDir, "out", "", "bundle folder (default out/sim/scenarios in the checkout)")
	cmd.Flags().StringSliceVar(&o.platforms, "platform", nil, "model only these platforms")
	cmd.Flags().StringVar(&o.junit, "junit", "", "write JUnit XML here")
	cmd.Flags().BoolVar(&o.allowNotRunnable, "allow-not-runnable", false, "do not fail for scenarios the model does not follow")
}

func simRun(cmd *cobra.Command, opts simRunOptions, files []string) error {
	m, err := loadModel(opts.model)
	if err != nil {
		return err
	}
	repo, err := images.FindRepo()
	if err != nil {
		return err
	}
	if opts.outDir == "" {
		opts.outDir = filepath.Join(repo, "out", "sim", "scenarios")
	}
	run, err := results.NewRun(cmd.Context(), repo, os.Args)
	if err != nil {
		return err
	}
	var outcomes []scenarios.Outcome
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfigure\tplatform/size/path\tvalue\tunit")
	for _, f := range files {
		s, err := scenarios.Load(f)
		if err != nil {
			return err
		}
		start := time.Now()
		outs, err := m.Outcomes(s, f, opts.platforms)
		if err != nil {
			return err
		}
		dir := filepath.Join(opts.outDir, s.Name)
		// Figures of the platforms the model follows the scenario on.
		var modelled []string
		for i := range outs {
			outs[i].Seconds = time.Since(start).Seconds()
			if err := writeOutcome(filepath.Join(dir, outs[i].Platform), &outs[i]); err != nil {
				return err
			}
			if outs[i].Status != scenarios.NotRunnable {
				modelled = append(modelled, outs[i].Platform)
			}
		}
		outcomes = append(outcomes, outs...)
		if len(modelled) == 0 {
			continue
		}
		figs, err := m.ScenarioFigures(s, modelled)
		if err != nil {
			return err
		}
		platforms, err := m.BundlePlatforms(modelled)
		if err != nil {
			return err
		}
		b := &results.Bundle{Run: run, Platforms: platforms, Figures: figs}
		b.Run.Start, b.Run.End = start, time.Now()
		b.Run.Seeds["sim"] = 1
		if err := b.Write(dir); err != nil {
			return err
		}
		for _, fig := range figs {
			for _, r := range fig.Rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.6g\t%s\n", s.Name, fig.ID, r.KeyString(), r.Value, fig.Unit)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout())
	if err := reportOutcomes(cmd.OutOrStdout(), outcomes, opts.junit, opts.allowNotRunnable); err != nil {
		return fmt.Errorf("%w on the sim backend (bundles in %s)", err, opts.outDir)
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "bundles in %s\n", opts.outDir)
	return err
}

// writeOutcome leaves a platform's outcome.json as the emulator's runner
// does (its checks, status and message; the model's flows).
func writeOutcome(dir string, o *scenarios.Outcome) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return fmt.Errorf("outcome: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "outcome.json"), append(data, '\n'), 0o644)
}

func newSimSweepCmd() *cobra.Command {
	var model, out string
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Sweep link rate, CPU speed, size, session length and fleet size",
		Long: `sweep runs the default grid (3 platforms x 10 link rates x 5 CPU speeds x 5 sizes x 14
session lengths = 10,500 single-device points, and fleets of 1 to 100,000 devices per
platform) and writes a bundle: points.csv with every point; figures (CSV, PNG, SVG, in
report.html) of the break-even session length against link rate and CPU speed with its
explanation, the throughput gain over link rate and session length, and the server's
utilisation, cache hit rate and fetch time against fleet size; and per platform a heat
map of the gain over link rate and session length (sim-gain-heatmap-PLATFORM.png, .svg).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := loadModel(model)
			if err != nil {
				return err
			}
			repo, err := images.FindRepo()
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(repo, "out", "sim", "sweep")
			}
			run, err := results.NewRun(cmd.Context(), repo, os.Args)
			if err != nil {
				return err
			}
			start := time.Now()
			g := sim.DefaultGrid()
			s, err := m.Sweep(g)
			if err != nil {
				return err
			}
			took := time.Since(start)
			platforms, err := m.BundlePlatforms(g.Platforms)
			if err != nil {
				return err
			}
			b := &results.Bundle{Run: run, Platforms: platforms, Figures: s.Figures()}
			b.Run.Start, b.Run.End = start, time.Now()
			b.Run.Seeds["fleet"] = int64(g.Base.Seed)
			if err := b.Write(out); err != nil {
				return err
			}
			if _, err := s.WriteHeatmaps(out); err != nil {
				return err
			}
			f, err := os.Create(filepath.Join(out, "points.csv"))
			if err != nil {
				return err
			}
			if err := s.WriteCSV(f); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%d points and %d fleets (up to %d devices) in %v; model from %s (commit %.12s); bundle in %s\n",
				len(s.Points), len(s.Fleets), slices.Max(g.FleetSizes), took.Round(time.Millisecond), m.Source.Path, m.Source.Commit, out)
			return err
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "model file (default out/sim/model.json in the checkout)")
	cmd.Flags().StringVar(&out, "out", "", "bundle folder (default out/sim/sweep in the checkout)")
	return cmd
}
