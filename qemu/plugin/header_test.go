package plugin

import (
	"bytes"
	"os"
	"testing"

	"specbed/internal/cachedir"
)

// TestHeader fetches (or finds cached) the installed QEMU's plugin header.
func TestHeader(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads QEMU's source package on a cold cache; skipped only in short mode")
	}
	cache, err := cachedir.Root()
	if err != nil {
		t.Fatal(err)
	}
	path, err := Header(t.Context(), cache)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Debian's 7.2 binaries load plugins of API version 1.
	if !bytes.Contains(data, []byte("#define QEMU_PLUGIN_VERSION 1")) {
		t.Errorf("%s: not API version 1", path)
	}
}
