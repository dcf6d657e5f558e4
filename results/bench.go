// Package results holds what specbed's runs leave for researchers: today
// the benchmark outputs under out/bench that the README cites.
package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// BenchDir is the benchmark output folder, relative to the repository.
const BenchDir = "out/bench"

// WriteBench writes v as indented JSON to out/bench/name in the repository
// at repo and returns the file's path. Benchmarks and tests that measure
// record their figures here instead of asserting timings.
func WriteBench(repo, name string, v any) (string, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("bench output %s: %w", name, err)
	}
	dir := filepath.Join(repo, filepath.FromSlash(BenchDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bench output %s: %w", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("bench output %s: %w", name, err)
	}
	return path, nil
}
