package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the specbed command line in-process.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestBootErrors checks that each way 'specbed boot' cannot start says in
// one line what is wrong and what to do.
func TestBootErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		setup func(t *testing.T) string // returns text the message must hold
	}{
		{
			name: "unknown platform",
			args: []string{"boot", "--platform", "vax"},
			setup: func(t *testing.T) string {
				return `unknown platform "vax": choose one of i486, p3, sa1100`
			},
		},
		{
			name: "no platform",
			args: []string{"boot"},
			setup: func(t *testing.T) string {
				return "--platform is required: choose one of i486, p3, sa1100"
			},
		},
		{
			name: "kernel not built",
			args: []string{"boot", "--platform", "i486"},
			setup: func(t *testing.T) string {
				cache := t.TempDir()
				t.Setenv("XDG_CACHE_HOME", cache)
				return "no i486 kernel in " + filepath.Join(cache, "specbed") +
					": run 'specbed images build --platform i486'"
			},
		},
		{
			name: "QEMU not installed",
			args: []string{"boot", "--platform", "sa1100"},
			setup: func(t *testing.T) string {
				t.Setenv("PATH", t.TempDir())
				return "qemu-system-arm is not in $PATH: install it with 'make setup' (apt-get install qemu-system-arm)"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.setup(t)
			out, err := runCLI(t, tt.args...)
			if err == nil {
				t.Fatalf("no error; output %q", out)
			}
			msg := err.Error()
			if !strings.Contains(msg, want) {
				t.Errorf("error %q, want it to say %q", msg, want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line", msg)
			}
		})
	}
}
