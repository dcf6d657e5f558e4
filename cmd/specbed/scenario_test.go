package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestScenarioValidate: 'specbed scenario validate' prints every error of
// a bad file with its place and fails; a good file passes.
func TestScenarioValidate(t *testing.T) {
	tests := []struct {
		file  string
		fail  bool
		lines []string
	}{
		{"four-errors.yaml", true, []string{
			"four-errors.yaml:10:3: workload.warmpu: unknown key",
			"four-errors.yaml:13:17: specialization.guard_policy: wrong type",
			"four-errors.yaml:15:12: timeline[0].event:",
			"four-errors.yaml:21:20: timeline[1].after_packets: 500 is past",
		}},
		{"../guards/socket-close.yaml", false, []string{"socket-close.yaml: ok"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var out bytes.Buffer
			cmd := newRootCmd()
			cmd.SetOut(&out)
			cmd.SetArgs([]string{"scenario", "validate", filepath.Join("..", "..", "scenarios", "testdata", tc.file)})
			err := cmd.Execute()
			if (err != nil) != tc.fail {
				t.Fatalf("error %v, want failure %v\n%s", err, tc.fail, out.String())
			}
			got := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(got) != len(tc.lines) {
				t.Fatalf("%d lines, want %d:\n%s", len(got), len(tc.lines), out.String())
			}
			for i, want := range tc.lines {
				if !strings.Contains(got[i], want) {
					t.Errorf("line %d %q lacks %q", i, got[i], want)
				}
			}
		})
	}
}

// TestScenarioSchema: 'specbed scenario schema' prints a JSON Schema.
func TestScenarioSchema(t *testing.T) {
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"scenario", "schema"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var s struct {
		Schema     string         `json:"$schema"`
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Schema, "json-schema.org") || s.Properties["timeline"] == nil {
		t.Errorf("schema %.200s lacks $schema or the timeline", out.String())
	}
}
