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

// TestRunLibrary runs the runnable scenarios of the library, each on its
// platforms, the slow ones on i486 only (make scenarios runs those on
// every platform): each must pass, the negative controls by failing for
// their reason. The JUnit file must record every case.
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
		j := Job{File: f, Scenario: s}
		if s.Slow {
			j.Platforms = []string{slowPlatform}
		}
		jobs = append(jobs, j)
	}
	out := filepath.Join(b.Repo, "out", "scenarios", "test")
	meta, err := results.NewRun(t.Context(), b.Repo, []string{"go", "test", "-run", "TestRunLibrary", "./scenarios"})
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Builder: b, OutDir: out, Parallel: 2, Log: testLog{t}, Meta: meta}
	outcomes := r.Run(t.Context(), jobs)
	want := 0
	for _, j := range jobs {
		want += len(r.platforms(j))
	}
	if len(outcomes) != want {
		t.Fatalf("%d outcomes, want %d", len(outcomes), want)
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
	if doc.Tests != len(outcomes) || len(doc.Suites) != len(jobs) || doc.Fails+doc.Errors+doc.Skipped != 0 {
		t.Errorf("junit: %d tests in %d suites (%d failures, %d errors, %d skipped), want %d in %d and none",
			doc.Tests, len(doc.Suites), doc.Fails, doc.Errors, doc.Skipped, len(outcomes), len(jobs))
	}
}

// slowPlatform runs the slow scenarios in make test.
const slowPlatform = "i486"

// testLog sends the runner's lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
