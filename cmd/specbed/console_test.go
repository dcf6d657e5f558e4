package main

import (
	"strings"
	"testing"
)

func TestConsoleWithoutGuests(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	out, err := runCLI(t, "console")
	if err != nil || !strings.HasPrefix(out, "no running guests") {
		t.Errorf("console: %q, %v; want 'no running guests'", out, err)
	}
	_, err = runCLI(t, "console", "i486-1")
	if err == nil || !strings.Contains(err.Error(), `no guest "i486-1"`) {
		t.Errorf("console i486-1: error %v, want that there is no such guest", err)
	}
}
