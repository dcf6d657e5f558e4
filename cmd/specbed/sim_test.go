package main

import (
	"bytes"
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
		{[]string{"run", "--backend", "sim", "--model", model, "--out", filepath.Join(dir, "runs"),
			filepath.Join("..", "..", "scenarios", "paper", "udp-specialized-gain.yaml")},
			"udp-specialized-gain  sends", []string{filepath.Join(dir, "runs", "udp-specialized-gain", results.BundleFile)}},
		{[]string{"sim", "sweep", "--model", model, "--out", filepath.Join(dir, "sweep")},
			"10500 points and 36 fleets", []string{filepath.Join(dir, "sweep", "points.csv"), filepath.Join(dir, "sweep", "sim-break-even-link.svg"),
				filepath.Join(dir, "sweep", "sim-gain-heatmap-sa1100.png"), filepath.Join(dir, "sweep", results.ReportFile)}},
	} {
		t.Run(tc.args[0]+" "+tc.args[1], func(t *testing.T) {
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
