package scenarios

import (
	"fmt"
	"path/filepath"
)

// LibraryDirs are the library's folders under scenarios/: one scenario
// per paper figure, the guards with their negative controls, the faults.
var LibraryDirs = []string{"paper", "guards", "faults"}

// Library lists the library's scenario files under dir (the checkout's
// scenarios/ folder), folder by folder, each sorted by name.
func Library(dir string) ([]string, error) {
	var files []string
	for _, sub := range LibraryDirs {
		m, err := filepath.Glob(filepath.Join(dir, sub, "*.yaml"))
		if err != nil {
			return nil, fmt.Errorf("scenario library: %w", err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("scenario library: no scenario files in %s", dir)
	}
	return files, nil
}
