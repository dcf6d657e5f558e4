package results

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// NewRun describes the run of the checkout at repo starting now: commit,
// dirty flag and host. start is the run's start (host time).
func NewRun(ctx context.Context, repo string, command []string) (Run, error) {
	r := Run{Command: command, HostCPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Seeds: map[string]int64{}}
	var err error
	if r.Host, err = os.Hostname(); err != nil {
		return r, fmt.Errorf("run: %w", err)
	}
	out, err := git(ctx, repo, "rev-parse", "HEAD")
	if err != nil {
		return r, err
	}
	r.Commit = strings.TrimSpace(out)
	// Tracked files only: build output and other untracked files do not
	// change what the figures measure.
	out, err = git(ctx, repo, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return r, err
	}
	r.Dirty = strings.TrimSpace(out) != ""
	return r, nil
}

func git(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// QEMUVersion is the first line of binary --version.
func QEMUVersion(ctx context.Context, binary string) (string, error) {
	out, err := exec.CommandContext(ctx, binary, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", binary, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

// DirName is a bundle's default directory name: its start time (UTC) and
// the commit's first 12 hex digits.
func (r Run) DirName() string {
	commit := r.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	return r.Start.UTC().Format("20060102T150405Z") + "-" + commit
}
