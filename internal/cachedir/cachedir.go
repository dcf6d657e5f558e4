// Package cachedir locates specbed's cache, which survives between runs:
// $XDG_CACHE_HOME/specbed, or ~/.cache/specbed.
package cachedir

import (
	"fmt"
	"os"
	"path/filepath"
)

// Root returns the cache root, creating it if needed.
func Root() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cache directory: set XDG_CACHE_HOME or HOME: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	dir := filepath.Join(base, "specbed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	return dir, nil
}
