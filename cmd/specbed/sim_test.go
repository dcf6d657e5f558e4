package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"specbed/results"
)

// TestSimCommands calibrates on sim's stored bundle, then runs a scenario
// through 'run --backend sim' and the sweep, and checks what they wrote.
func TestSimCommands(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.json")
	for _, tc := range []struct {
		args  []string
		out   string   // a line of the output
		files []string // files the command wrote
	}{
		{[]string{"sim", "calibrate", filepath.Join("..", "..", "sim", "testdata", "bundle.json"), "-o", model},
			"held-out points, worst", []string{model}},
		{[]string{"run", "--backend", "sim", "--model", model, "--out", filepath.Join(dir, "runs"), "--junit", filepath.Join(dir, "junit.xml"),
			filepath.Join("..", "..", "scenarios", "paper", "udp-specialized-gain.yaml")},
			"udp-specialized-gain  sends", []string{filepath.Join(dir, "runs", "udp-specialized-gain", results.BundleFile),
				filepath.Join(dir, "runs", "udp-specialized-gain", "sa1100", "outcome.json"), filepath.Join(dir, "junit.xml")}},
		// A scenario the model does not follow is listed, not failed,
		// with --allow-not-runnable.
		{[]string{"run", "--backend", "sim", "--model", model, "--out", filepath.Join(dir, "runs"), "--allow-not-runnable",
			filepath.Join("..", "..", "scenarios", "guards", "socket-close.yaml")},
			"socket-close  i486      not-runnable", []string{filepath.Join(dir, "runs", "socket-close", "i486", "outcome.json")}},
		{[]string{"sim", "sweep", "--model", model, "--out", filepath.Join(dir, "sweep")},
			"10500 points and 36 fleets", []string{filepath.Join(dir, "sweep", "points.csv"), filepath.Join(dir, "sweep", "sim-break-even-link.svg"),
				filepath.Join(dir, "sweep", "sim-gain-heatmap-sa1100.png"), filepath.Join(dir, "sweep", results.ReportFile)}},
	} {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			var out bytes.Buffer
			cmd := newRootCmd()
			cmd.SetOut(&out)
			cmd.SetArgs(tc.args)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("output lacks %q:\n%s", tc.out, out.String())
			}
			for _, f := range tc.files {
				if _, err := os.Stat(f); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestSimRunJUnit checks the sim backend's verdicts in its JUnit: a
// passing case per platform, and a failing run for a scenario the model
// does not follow (without --allow-not-runnable), skipped in JUnit.
func TestSimRunJUnit(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.json")
	junit := filepath.Join(dir, "junit.xml")
	var out bytes.Buffer
	for i, args := range [][]string{
		{"sim", "calibrate", filepath.Join("..", "..", "sim", "testdata", "bundle.json"), "-o", model},
		{"run", "--backend", "sim", "--model", model, "--out", filepath.Join(dir, "runs"), "--junit", junit,
			filepath.Join("..", "..", "scenarios", "paper", "udp-specialized-gain.yaml"), filepath.Join("..", "..", "scenarios", "guards", "socket-close.yaml")},
	} {
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetArgs(args)
		err := cmd.Execute()
		if want := i == 1; (err != nil) != want {
			t.Fatalf("%v: error %v, want one: %v\n%s", args, err, want, out.String())
		}
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests   int `xml:"tests,attr"`
		Fails   int `xml:"failures,attr"`
		Skipped int `xml:"skipped,attr"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	// Three platforms each: udp-specialized-gain passes, socket-close is
	// not runnable on the model.
	if doc.Tests != 6 || doc.Fails != 0 || doc.Skipped != 3 {
		t.Errorf("junit: %d tests, %d failures, %d skipped; want 6, 0, 3:\n%s", doc.Tests, doc.Fails, doc.Skipped, data)
	}
	if !strings.Contains(string(data), "expect[0] throughput-gain-at-least (64 B): measured") {
		t.Errorf("junit lacks the model's checks:\n%s", data)
	}
}
