package scenarios

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"specbed/images"
	"specbed/results"
)

// TestRunLibrary runs the runnable scenarios of the library on i486
// (make reproduce runs them on every platform): each must pass, the
// negative controls by failing for their reason. The JUnit file must
// record every case.
func TestRunLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("boots i486 about twice per scenario; skipped only in short mode")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	var jobs []Job
	for _, f := range runnableFiles(t) {
		s, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, Job{File: f, Scenario: s})
	}
	out := filepath.Join(b.Repo, "out", "scenarios", "test")
	meta, err := results.NewRun(t.Context(), b.Repo, []string{"go", "test", "-run", "TestRunLibrary", "./scenarios"})
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Builder: b, OutDir: out, Platforms: []string{"i486"}, Parallel: 2, Log: testLog{t}, Meta: meta}
	outcomes := r.Run(t.Context(), jobs)
	if len(outcomes) != len(jobs) {
		t.Fatalf("%d outcomes for %d scenarios on one platform", len(outcomes), len(jobs))
	}
	var summary strings.Builder
	if err := Summary(&summary, outcomes); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", summary.String())
	for _, o := range outcomes {
		if o.Status != Passed {
			t.Errorf("%s: %s: %s", o.File, o.Status, o.Message)
		}
		if o.ExpectFailure != "" && !strings.Contains(o.Message, "failed as expected") {
			t.Errorf("%s: negative control passed without a failed check: %s", o.File, o.Message)
		}
		if _, err := os.Stat(filepath.Join(out, o.Scenario, o.Platform, "outcome.json")); err != nil {
			t.Errorf("%s: no outcome: %v", o.File, err)
		}
		bundle, err := results.Read(filepath.Join(out, o.Scenario))
		if err != nil {
			t.Errorf("%s: %v", o.File, err)
		} else if f := bundle.Figure(bundleFigure); f == nil || len(f.Rows) == 0 {
			t.Errorf("%s: the bundle has no %s figure rows", o.File, bundleFigure)
		}
	}
	junit := filepath.Join(out, "junit.xml")
	if err := WriteJUnit(junit, outcomes); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != len(outcomes) || len(doc.Suites) != len(jobs) {
		t.Errorf("junit: %d tests in %d suites, want %d in %d", doc.Tests, len(doc.Suites), len(outcomes), len(jobs))
	}
}

// testLog sends the runner's lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
