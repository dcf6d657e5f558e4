package scenarios

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// Summary writes one line per outcome: scenario, platform, status, time
// and the first line of the message; failures' full messages follow.
func Summary(w io.Writer, outcomes []Outcome) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tPLATFORM\tSTATUS\tSECONDS\tDETAIL")
	for _, o := range outcomes {
		first, _, _ := strings.Cut(o.Message, "\n")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%s\n", o.Scenario, o.Platform, o.Status, o.Seconds, first)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, o := range outcomes {
		if o.Status != Passed {
			fmt.Fprintf(w, "\n%s on %s (%s): %s\n%s\n", o.Scenario, o.Platform, o.File, o.Status, o.Message)
		}
	}
	return nil
}

// AllPassed reports whether every outcome passed; with allowNotRunnable
// those that are not runnable yet do not count against it.
func AllPassed(outcomes []Outcome, allowNotRunnable bool) bool {
	for _, o := range outcomes {
		if o.Status != Passed && !(allowNotRunnable && o.Status == NotRunnable) {
			return false
		}
	}
	return true
}

// JUnit XML as CI systems read it: a suite per scenario, a case per
// platform.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Tests   int          `xml:"tests,attr"`
	Fails   int          `xml:"failures,attr"`
	Errors  int          `xml:"errors,attr"`
	Skipped int          `xml:"skipped,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name    string      `xml:"name,attr"`
	File    string      `xml:"file,attr,omitempty"`
	Tests   int         `xml:"tests,attr"`
	Fails   int         `xml:"failures,attr"`
	Errors  int         `xml:"errors,attr"`
	Skipped int         `xml:"skipped,attr"`
	Time    float64     `xml:"time,attr"`
	Cases   []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the outcomes as JUnit XML to path.
func WriteJUnit(path string, outcomes []Outcome) error {
	doc := junitSuites{}
	index := map[string]int{}
	for _, o := range outcomes {
		i, ok := index[o.Scenario]
		if !ok {
			i = len(doc.Suites)
			index[o.Scenario] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: o.Scenario, File: o.File})
		}
		s := &doc.Suites[i]
		c := junitCase{Name: o.Platform, ClassName: "scenarios." + o.Scenario, Time: o.Seconds}
		var lines []string
		for _, ch := range o.Checks {
			lines = append(lines, ch.String())
		}
		c.SystemOut = strings.Join(lines, "\n")
		first, _, _ := strings.Cut(o.Message, "\n")
		switch o.Status {
		case Failed:
			c.Failure = &junitProblem{Message: first, Text: o.Message}
			s.Fails++
			doc.Fails++
		case Errored:
			c.Error = &junitProblem{Message: first, Text: o.Message}
			s.Errors++
			doc.Errors++
		case NotRunnable:
			c.Skipped = &junitProblem{Message: first, Text: o.Message}
			s.Skipped++
			doc.Skipped++
		}
		s.Tests++
		s.Time += o.Seconds
		doc.Tests++
		s.Cases = append(s.Cases, c)
	}
	data, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if err := os.WriteFile(path, append([]byte(xml.Header), append(data, '\n')...), 0o644); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return nil
}
