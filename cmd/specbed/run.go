package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"specbed/images"
	"specbed/qemu"
	"specbed/results"
	"specbed/scenarios"
)

type runOptions struct {
	parallel  int
	junit     string
	outDir    string
	platforms []string
	quiet     bool
	// allowNotRunnable: scenarios the runner cannot run yet are listed
	// (and skipped in JUnit) without failing the run.
	allowNotRunnable bool
	// backend is qemu (guests) or sim (the calibrated model, sim/).
	backend  string
	simModel string
}

func newRunCmd() *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run FILE... [--parallel N] [--junit FILE]",
		Short: "Run scenario files and check their expectations",
		Long: `run validates every file first (any error stops it before a guest boots), then runs
the scenarios, N at once, each on its platforms in turn. Every scenario and platform
leaves a bundle under --out (outcome.json with the measured flows and checks, the
consoles). A summary table follows; run exits non-zero when an expectation fails (a
negative control, marked expect_failure, must fail instead), naming the expectation, the
measured value and the bound, or when a scenario asks for something the runner cannot do
yet (status not-runnable, with the reason; --allow-not-runnable lets those pass). --junit
writes JUnit XML for CI.

Kernels come from the cache ('specbed images build'); a scenario never builds one.`,
		Example: `  specbed run scenarios/guards/*.yaml --platform i486 --junit out/scenarios/junit.xml`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScenarios(cmd, opts, args)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.parallel, "parallel", 1, "scenarios run at once (each boots one guest at a time)")
	f.StringVar(&opts.junit, "junit", "", "write JUnit XML here")
	f.StringVar(&opts.outDir, "out", "", "bundle folder (default: out/scenarios in the checkout)")
	f.StringSliceVar(&opts.platforms, "platform", nil, "run only on these platforms ("+strings.Join(qemu.Names(), ", ")+")")
	f.BoolVar(&opts.quiet, "quiet", false, "no line per boot")
	f.StringVar(&opts.backend, "backend", "qemu", "qemu (boot guests) or sim (the calibrated model: 'specbed sim run')")
	f.StringVar(&opts.simModel, "model", "", "the sim backend's model file (default out/sim/model.json)")
	f.BoolVar(&opts.allowNotRunnable, "allow-not-runnable", false, "do not fail for scenarios the runner cannot run yet (they are listed with the reason, skipped in JUnit)")
	return cmd
}

func runScenarios(cmd *cobra.Command, opts runOptions, files []string) error {
	if err := validateScenarios(cmd.ErrOrStderr(), files, false); err != nil {
		return err
	}
	switch opts.backend {
	case "qemu":
	case "sim":
		return simRun(cmd, simRunOptions{model: opts.simModel, outDir: opts.outDir, platforms: opts.platforms,
			junit: opts.junit, allowNotRunnable: opts.allowNotRunnable}, files)
	default:
		return fmt.Errorf("run: backend %q: want qemu or sim", opts.backend)
	}
	var jobs []scenarios.Job
	for _, f := range files {
		s, err := scenarios.Load(f)
		if err != nil {
			return err
		}
		jobs = append(jobs, scenarios.Job{File: f, Scenario: s})
	}
	for _, p := range opts.platforms {
		if _, err := qemu.Lookup(p); err != nil {
			return err
		}
	}
	b, err := images.NewBuilder()
	if err != nil {
		return err
	}
	if opts.outDir == "" {
		opts.outDir = filepath.Join(b.Repo, "out", "scenarios")
	}
	run, err := results.NewRun(cmd.Context(), b.Repo, os.Args)
	if err != nil {
		return err
	}
	r := &scenarios.Runner{Builder: b, OutDir: opts.outDir, Platforms: opts.platforms, Parallel: opts.parallel, Meta: run}
	if !opts.quiet {
		r.Log = cmd.ErrOrStderr()
	}
	outcomes := r.Run(cmd.Context(), jobs)
	if err := reportOutcomes(cmd.OutOrStdout(), outcomes, opts.junit, opts.allowNotRunnable); err != nil {
		return fmt.Errorf("%w (bundles in %s)", err, opts.outDir)
	}
	return nil
}

// reportOutcomes prints the summary table of outcomes, writes them as
// JUnit XML to junit (unless ""), and fails when a scenario did not pass
// (not-runnable ones pass with allowNotRunnable).
func reportOutcomes(w io.Writer, outcomes []scenarios.Outcome, junit string, allowNotRunnable bool) error {
	if err := scenarios.Summary(w, outcomes); err != nil {
		return err
	}
	if junit != "" {
		if err := os.MkdirAll(filepath.Dir(junit), 0o755); err != nil {
			return err
		}
		if err := scenarios.WriteJUnit(junit, outcomes); err != nil {
			return err
		}
	}
	if !scenarios.AllPassed(outcomes, allowNotRunnable) {
		return errors.New("scenarios failed")
	}
	return nil
}
