package scenarios

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFailedExpectation: a false expectation fails the outcome with a
// message that names the check, the measured value and the bound, and
// JUnit records it as a failure; a negative control inverts that.
func TestFailedExpectation(t *testing.T) {
	atLeast := 0.99
	x := Expectation{Check: CheckSpecializedShare, AtLeast: &atLeast}
	ok, bound := x.within(0.5, "of the sends")
	failed := CheckResult{Name: "expect[1] specialized-share (64 B)", Measured: 0.5, Bound: bound, Pass: ok}
	held := CheckResult{Name: "expect[0] lost (64 B)", Measured: 0, Bound: "exactly 0 datagrams", Pass: true}
	tests := []struct {
		name         string
		expectFail   string
		checks       []CheckResult
		status       Status
		messageWords []string
	}{
		{"false expectation", "", []CheckResult{held, failed}, Failed,
			[]string{"expect[1] specialized-share (64 B)", "measured 0.5", "want at least 0.99 of the sends", "FAILED"}},
		{"all held", "", []CheckResult{held}, Passed, []string{"1 checks held"}},
		{"negative control fails", "no token", []CheckResult{held, failed}, Passed,
			[]string{"failed as expected (no token)", "measured 0.5"}},
		{"negative control holds", "no token", []CheckResult{held}, Failed,
			[]string{"negative control held every expectation", "no token"}},
	}
	var outcomes []Outcome
	for _, tc := range tests {
		o := Outcome{Scenario: strings.ReplaceAll(tc.name, " ", "-"), Platform: "i486", ExpectFailure: tc.expectFail, Checks: tc.checks}
		o.verdict(nil)
		if o.Status != tc.status {
			t.Errorf("%s: status %s, want %s (%s)", tc.name, o.Status, tc.status, o.Message)
		}
		for _, w := range tc.messageWords {
			if !strings.Contains(o.Message, w) {
				t.Errorf("%s: message %q lacks %q", tc.name, o.Message, w)
			}
		}
		outcomes = append(outcomes, o)
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := WriteJUnit(path, outcomes); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 4 || doc.Fails != 2 || doc.Errors != 0 {
		t.Errorf("junit: %d tests, %d failures, %d errors; want 4, 2, 0", doc.Tests, doc.Fails, doc.Errors)
	}
	f := doc.Suites[0].Cases[0].Failure
	if f == nil || !strings.Contains(f.Text, "measured 0.5, want at least 0.99") {
		t.Errorf("junit failure %+v lacks the check's measured value and bound", f)
	}
}
