package main

import (
	"io"
	"strings"
	"testing"
)

func TestProfileRejects(t *testing.T) {
	tests := []struct {
		name string
		opts profileOptions
		plan []string
		want string
	}{
		{"no platform", profileOptions{}, nil, "--platform is required"},
		{"unknown platform", profileOptions{platform: "vax"}, nil, "unknown platform"},
		{"paths with steps", profileOptions{platform: "i486", paths: true}, []string{"sleep,ms=1"}, "--paths runs its own plan"},
		{"paths with files", profileOptions{platform: "i486", paths: true, files: []string{"/a=b"}}, nil, "--paths runs its own plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runProfile(t.Context(), tt.opts, tt.plan, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
