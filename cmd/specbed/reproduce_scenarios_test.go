package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"specbed/images/guesttest"
	"specbed/qemu"
	"specbed/results"
)

// readSummary reads the pass's scenarios.json in dir.
func readSummary(t *testing.T, dir string) librarySummary {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, librarySummaryJSON))
	if err != nil {
		t.Fatal(err)
	}
	var sum librarySummary
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestLibraryPassNotRun: a quick run and --scenarios=false run no
// scenario and say why in the output and in the bundle's files.
func TestLibraryPassNotRun(t *testing.T) {
	b := guesttest.Builder(t)
	for _, tc := range []struct {
		name string
		opts reproduceOptions
		why  string
	}{
		{"quick", reproduceOptions{quick: true, library: libraryOptions{run: true}}, "--quick"},
		{"off", reproduceOptions{library: libraryOptions{run: false}}, "--scenarios=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var out bytes.Buffer
			if err := runLibraryPass(t.Context(), b, results.Run{}, dir, qemu.All(), tc.opts, &out, &out, newPhaseLog(&out)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "scenario library: not run: ") || !strings.Contains(out.String(), tc.why) {
				t.Errorf("output %q does not say the pass did not run because of %s", out.String(), tc.why)
			}
			sum := readSummary(t, dir)
			if sum.Ran || !strings.Contains(sum.NotRun, tc.why) || len(sum.Runs) != 0 {
				t.Errorf("summary %+v, want not run because of %s", sum, tc.why)
			}
			page, err := os.ReadFile(filepath.Join(dir, libraryPage))
			if err != nil || !strings.Contains(string(page), "Not run: ") {
				t.Errorf("%s: %v, want it to say the pass did not run:\n%s", libraryPage, err, page)
			}
			if _, err := os.Stat(filepath.Join(dir, libraryJUnit)); !os.IsNotExist(err) {
				t.Errorf("%s written for a pass that did not run (%v)", libraryJUnit, err)
			}
		})
	}
}

// The pass's test scenarios: the kernel's sendto() on dummy0 on the
// i486, one whose bound holds and one whose bound cannot.
const (
	holdingScenario = `name: kernel-sends
description: The kernel's sendto() on dummy0 accepts every send.
clock: count
platforms: [i486]
workload:
  protocol: udp
  path: kernel
  sizes_bytes: [64]
  count: 100
expect:
  - check: delivered
    equals: 100
`
	failingScenario = `name: kernel-sends-wrong-bound
description: The same sends against a bound one short of them, which must fail.
clock: count
platforms: [i486, p3]
workload:
  protocol: udp
  path: kernel
  sizes_bytes: [64]
  count: 100
expect:
  - check: delivered
    equals: 99
`
)

// TestLibraryPassFailure runs a pass of two scenarios on the i486 (the
// second lists the p3 too, which the platforms leave out): the failing
// one's error names it and its expectation with the measured value and
// the bound, and the bundle holds the summary, the JUnit XML and each
// scenario's own bundle, written before the error.
func TestLibraryPassFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: boots the i486 guest twice")
	}
	b := guesttest.Builder(t)
	i486 := guesttest.Lookup(t, b, "i486").P
	src := t.TempDir()
	var files []string
	for name, text := range map[string]string{"holds.yaml": holdingScenario, "fails.yaml": failingScenario} {
		f := filepath.Join(src, name)
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	dir := t.TempDir()
	run, err := results.NewRun(t.Context(), b.Repo, []string{"test"})
	if err != nil {
		t.Fatal(err)
	}
	var out, progress bytes.Buffer
	err = libraryPass(t.Context(), b, run, dir, []*qemu.Platform{i486}, files, &out, &progress)
	t.Logf("output:\n%s\nprogress:\n%s", out.String(), progress.String())
	want := "kernel-sends-wrong-bound on i486 (" + filepath.Join(src, "fails.yaml") + "): fail: expect[0] delivered (64 B): measured 100, want "
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "kernel-sends on") {
		t.Errorf("error %v, want one naming only %q", err, want)
	}
	for _, line := range []string{"kernel-sends: i486 pass (", "kernel-sends-wrong-bound: i486 fail ("} {
		if strings.Count(progress.String(), line) != 1 {
			t.Errorf("progress has not one line %q", line)
		}
	}
	sum := readSummary(t, dir)
	if !sum.Ran || len(sum.Runs) != 2 || sum.Passed != 1 {
		t.Fatalf("summary %+v, want 2 runs, 1 passed", sum)
	}
	for _, r := range sum.Runs {
		failing := r.Scenario == "kernel-sends-wrong-bound"
		if r.Platform != "i486" || r.Passed == failing || (len(r.FailedExpectations) == 1) != failing || r.Seconds <= 0 {
			t.Errorf("run %+v", r)
		}
		if _, err := os.Stat(filepath.Join(dir, libraryDir, r.Scenario, r.Platform, "outcome.json")); err != nil {
			t.Errorf("%s: no bundle: %v", r.Scenario, err)
		}
	}
	f, err := os.Open(filepath.Join(dir, librarySummaryCSV))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "scenario" {
		t.Errorf("%s: %v: %q, want a header and 2 rows", librarySummaryCSV, err, rows)
	}
	junit, err := os.ReadFile(filepath.Join(dir, libraryJUnit))
	if err != nil || !strings.Contains(string(junit), `failures="1"`) {
		t.Errorf("%s: %v, want one failure:\n%s", libraryJUnit, err, junit)
	}
	page, err := os.ReadFile(filepath.Join(dir, libraryPage))
	if err != nil || !strings.Contains(string(page), "1 of 2 runs passed") || !strings.Contains(string(page), "scenarios/kernel-sends/i486/outcome.json") {
		t.Errorf("%s: %v:\n%s", libraryPage, err, page)
	}
}
