package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"specbed/images"
	"specbed/qemu"
	"specbed/results"
	"specbed/scenarios"
)

// The scenario library pass's files in reproduce's bundle: the summary,
// its HTML table, the JUnit XML, and the folder of the scenarios' own
// bundles (<name>/ and <name>/<platform>/, as 'specbed run' writes them).
const (
	librarySummaryJSON = "scenarios.json"
	librarySummaryCSV  = "scenarios.csv"
	libraryPage        = "scenarios.html"
	libraryJUnit       = "scenarios-junit.xml"
	libraryDir         = "scenarios"
)

// libraryOptions are reproduce's flags for the scenario library pass.
type libraryOptions struct {
	// run: the pass runs after the figures (--scenarios).
	run bool
	// only: the pass alone, no figures (--only-scenarios).
	only bool
}

func addLibraryFlags(cmd *cobra.Command, o *libraryOptions) {
	f := cmd.Flags()
	f.BoolVar(&o.run, "scenarios", true, "after the figures, run the scenario library (scenarios/paper, guards, faults) on every platform each scenario lists (not with --quick)")
	f.BoolVar(&o.only, "only-scenarios", false, "run the scenario library pass alone: no figures, the bundle holds its files only")
	cmd.Long += `

After the figures (never beside the network-mode boots, whose throughput the load
would move), the scenario library runs: every scenario of scenarios/paper, guards and
faults on every platform it lists (--platform narrows them), one scenario more at once
than the host has CPUs. The bundle gets scenarios.json and scenarios.csv (scenario, platform, passed,
failed expectations, host seconds), scenarios-junit.xml, scenarios.html (the table, linking
each scenario's own bundle) and scenarios/<name>/ (each scenario's bundle and, per
platform, outcome.json and the consoles). A scenario that fails makes reproduce exit
non-zero once the bundle is written, naming the scenario and the expectation. --quick
runs no library pass (the library takes longer than its budget); --scenarios=false
turns it off; --only-scenarios runs it alone.`
}

// libraryRun is one scenario on one platform in the pass's summary.
type libraryRun struct {
	Scenario string           `json:"scenario"`
	File     string           `json:"file"`
	Platform string           `json:"platform"`
	Status   scenarios.Status `json:"status"`
	Passed   bool             `json:"passed"`
	// ExpectFailure is a negative control's reason to fail.
	ExpectFailure string `json:"expect_failure,omitempty"`
	// FailedExpectations are the checks that did not hold, each with
	// its measured value and bound (a negative control passes by them).
	FailedExpectations []string `json:"failed_expectations"`
	// Message says why the status is what it is.
	Message string `json:"message"`
	// Seconds is the host wall time of the scenario on the platform.
	Seconds float64 `json:"seconds"`
}

// librarySummary is scenarios.json.
type librarySummary struct {
	// Ran is false when the pass did not run; NotRun says why.
	Ran    bool   `json:"ran"`
	NotRun string `json:"not_run,omitempty"`
	// Parallel is how many scenarios ran at once; Platforms the
	// platforms the pass was limited to.
	Parallel  int      `json:"parallel,omitempty"`
	Platforms []string `json:"platforms,omitempty"`
	// Seconds is the pass's host wall time.
	Seconds float64      `json:"seconds"`
	Passed  int          `json:"passed"`
	Runs    []libraryRun `json:"runs"`
}

// runLibraryPass is reproduce's scenario library pass into the bundle
// folder dir, or the note in the bundle of why it did not run. Its
// error names every scenario that did not pass and why.
func runLibraryPass(ctx context.Context, b *images.Builder, run results.Run, dir string, platforms []*qemu.Platform,
	opts reproduceOptions, stdout, stderr io.Writer, phases *phaseLog) error {
	notRun := ""
	switch {
	case opts.quick && !opts.library.only:
		notRun = "--quick runs no scenario library pass (the library takes longer than a quick run's budget: make reproduce or --only-scenarios run it)"
	case !opts.library.run:
		notRun = "turned off (--scenarios=false)"
	}
	if notRun != "" {
		fmt.Fprintf(stdout, "scenario library: not run: %s\n", notRun)
		return writeLibrary(dir, &librarySummary{NotRun: notRun, Runs: []libraryRun{}}, nil)
	}
	files, err := scenarios.Library(filepath.Join(b.Repo, "scenarios"))
	if err != nil {
		return err
	}
	err = libraryPass(ctx, b, run, dir, platforms, files, stdout, stderr)
	phases.done("scenario library")
	if opts.library.only {
		phases.summary()
	}
	return err
}

// libraryPass runs the scenario files on their platforms (those of
// platforms) with the runner 'specbed run' uses, printing a line per
// scenario as it ends, and writes the pass's files into dir.
func libraryPass(ctx context.Context, b *images.Builder, run results.Run, dir string, platforms []*qemu.Platform,
	files []string, stdout, stderr io.Writer) error {
	var jobs []scenarios.Job
	for _, f := range files {
		s, err := scenarios.Load(f)
		if err != nil {
			return err
		}
		if rel, err := filepath.Rel(b.Repo, f); err == nil && !strings.HasPrefix(rel, "..") {
			f = rel
		}
		jobs = append(jobs, scenarios.Job{File: f, Scenario: s})
	}
	// One scenario more than the host has CPUs: network-clock guests wait
	// on host time (two at once used 1.3 of 2 CPUs; three took the pass
	// from 474 to 347 s, every check held).
	sum := &librarySummary{Ran: true, Parallel: runtime.NumCPU() + 1, Runs: []libraryRun{}}
	for _, p := range platforms {
		sum.Platforms = append(sum.Platforms, p.Name)
	}
	// The scenarios' bundles describe the pass, not the figures' run.
	run.Start, run.End = time.Time{}, time.Time{}
	r := &scenarios.Runner{Builder: b, OutDir: filepath.Join(dir, libraryDir), Platforms: sum.Platforms,
		Parallel: sum.Parallel, Meta: run}
	progress := newStepProgress(ctx, stderr)
	var (
		mu    sync.Mutex
		steps = map[string]*platformStep{}
	)
	r.Started = func(j scenarios.Job) {
		step := progress.add(j.Scenario.Name)
		if progress.mpb != nil { // plain output: a line when it ends
			step.set("running")
		}
		mu.Lock()
		defer mu.Unlock()
		steps[j.Scenario.Name] = step
	}
	r.Finished = func(j scenarios.Job, outs []scenarios.Outcome) {
		mu.Lock()
		step := steps[j.Scenario.Name]
		mu.Unlock()
		step.finish(platformStatuses(outs))
	}
	start := time.Now()
	outcomes := r.Run(ctx, jobs)
	progress.wait()
	sum.Seconds = time.Since(start).Seconds()
	for _, o := range outcomes {
		lr := libraryRun{Scenario: o.Scenario, File: o.File, Platform: o.Platform, Status: o.Status,
			Passed: o.Status == scenarios.Passed, ExpectFailure: o.ExpectFailure, FailedExpectations: []string{},
			Message: o.Message, Seconds: o.Seconds}
		for _, c := range o.Checks {
			if !c.Pass {
				lr.FailedExpectations = append(lr.FailedExpectations, c.String())
			}
		}
		if lr.Passed {
			sum.Passed++
		}
		sum.Runs = append(sum.Runs, lr)
	}
	if err := writeLibrary(dir, sum, outcomes); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "scenario library: %d of %d runs passed in %.0f s (open %s)\n", sum.Passed, len(sum.Runs),
		sum.Seconds, filepath.Join(dir, libraryPage))
	if err := reportOutcomes(stdout, outcomes, "", false); err != nil {
		return libraryFailures(sum)
	}
	return nil
}

// platformStatuses is a scenario's progress line: each platform's status
// and host seconds.
func platformStatuses(outs []scenarios.Outcome) string {
	if len(outs) == 0 {
		return "no platform of this run"
	}
	var parts []string
	for _, o := range outs {
		parts = append(parts, fmt.Sprintf("%s %s (%.0f s)", o.Platform, o.Status, o.Seconds))
	}
	return strings.Join(parts, ", ")
}

// libraryFailures names every run that did not pass and why: the failed
// expectations with their measured values and bounds, or the reason.
func libraryFailures(sum *librarySummary) error {
	var lines []string
	for _, r := range sum.Runs {
		if r.Passed {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s on %s (%s): %s: %s", r.Scenario, r.Platform, r.File, r.Status,
			strings.ReplaceAll(r.Message, "\n", "; ")))
	}
	return fmt.Errorf("scenario library: %d of %d runs did not pass:\n  %s", len(sum.Runs)-sum.Passed, len(sum.Runs),
		strings.Join(lines, "\n  "))
}

// writeLibrary writes the pass's summary (JSON, CSV, HTML) and, when it
// ran, the JUnit XML into the bundle folder dir.
func writeLibrary(dir string, sum *librarySummary, outcomes []scenarios.Outcome) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("scenario library: %w", err)
	}
	data, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return fmt.Errorf("scenario library: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, librarySummaryJSON), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("scenario library: %w", err)
	}
	if err := writeLibraryCSV(filepath.Join(dir, librarySummaryCSV), sum); err != nil {
		return fmt.Errorf("scenario library: %w", err)
	}
	if err := writeLibraryPage(filepath.Join(dir, libraryPage), sum); err != nil {
		return fmt.Errorf("scenario library: %w", err)
	}
	if sum.Ran {
		return scenarios.WriteJUnit(filepath.Join(dir, libraryJUnit), outcomes)
	}
	return nil
}

func writeLibraryCSV(path string, sum *librarySummary) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"scenario", "platform", "status", "passed", "failed_expectations", "seconds"})
	for _, r := range sum.Runs {
		w.Write([]string{r.Scenario, r.Platform, string(r.Status), strconv.FormatBool(r.Passed),
			strings.Join(r.FailedExpectations, "; "), strconv.FormatFloat(r.Seconds, 'f', 1, 64)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var libraryTemplate = template.Must(template.New("scenarios").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>specbed: scenario library</title>
<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}td.n{text-align:right}.fail{background:#fdd}</style></head><body>
<h1>Scenario library</h1>
<p><a href="report.html">The figures' report</a>. {{if .Ran}}{{.Passed}} of {{len .Runs}} runs passed in {{printf "%.0f" .Seconds}} s
of host time ({{.Parallel}} scenarios at once{{if .Platforms}}, platforms {{range $i, $p := .Platforms}}{{if $i}}, {{end}}{{$p}}{{end}}{{end}}).
A negative control (expected failure) passes when an expectation fails for its reason.
Files: scenarios.json, scenarios.csv, scenarios-junit.xml; each scenario's bundle in scenarios/NAME/.{{else}}Not run: {{.NotRun}}.{{end}}</p>
{{if .Ran}}<table><tr><th>scenario</th><th>platform</th><th>status</th><th>seconds</th><th>failed expectations / why</th></tr>
{{range .Runs}}<tr{{if not .Passed}} class="fail"{{end}}><td><a href="scenarios/{{.Scenario}}/report.html">{{.Scenario}}</a>{{if .ExpectFailure}} (negative control){{end}}</td>
<td><a href="scenarios/{{.Scenario}}/{{.Platform}}/outcome.json">{{.Platform}}</a></td><td>{{.Status}}</td><td class="n">{{printf "%.0f" .Seconds}}</td>
<td>{{if .FailedExpectations}}{{range .FailedExpectations}}{{.}}<br>{{end}}{{else if not .Passed}}{{.Message}}{{end}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))

func writeLibraryPage(path string, sum *librarySummary) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := libraryTemplate.Execute(f, sum); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
