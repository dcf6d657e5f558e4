package images

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// logTailLines is how much of a failed step's log an error carries: enough
// for a compiler error and its context, short enough for a terminal.
const logTailLines = 40

// buildLog is the full output of one build (every command it ran, with the
// command line), kept in cache/logs so a failure can be read in full.
type buildLog struct {
	path string
	f    *os.File
	// watch, when set, also receives the output of the commands run.
	watch io.Writer
}

// openLog creates cache/logs/<name>-<timestamp>.log.
func (b *Builder) openLog(name string) (*buildLog, error) {
	dir := filepath.Join(b.Cache, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.log", name, time.Now().Format("20060102-150405.000")))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("build log: %w", err)
	}
	return &buildLog{path: path, f: f}, nil
}

func (l *buildLog) Close() error { return l.f.Close() }

// printf writes a note of the builder's own into the log.
func (l *buildLog) printf(format string, args ...any) {
	fmt.Fprintf(l.f, "# "+format+"\n", args...)
}

// run runs one command in dir with extra environment variables, its output
// appended to the log. The command gets its own process group so that
// cancelling ctx stops make and every compiler it started. The error of a
// failed command carries the log's last lines and its path.
func (l *buildLog) run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	fmt.Fprintf(l.f, "$ cd %s && %s %s\n", dir, name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out io.Writer = l.f
	if l.watch != nil {
		out = io.MultiWriter(l.f, l.watch)
	}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", name, ctx.Err())
		}
		return l.failure(fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err))
	}
	return nil
}

// failure wraps err with the log's last lines and its path.
func (l *buildLog) failure(err error) error {
	tail, terr := tailFile(l.path, logTailLines)
	if terr != nil {
		return fmt.Errorf("%w (log %s unreadable: %v)", err, l.path, terr)
	}
	return fmt.Errorf("%w\n--- last %d lines of %s ---\n%s", err, logTailLines, l.path, tail)
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}

// output runs a short query command and returns its trimmed stdout.
func output(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// ensureFreeSpace fails when the file system holding dir has less than need
// bytes free, naming both, before a build starts filling it.
func ensureFreeSpace(dir string, need uint64, what string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < need {
		return fmt.Errorf("%s needs %d MiB free in %s, only %d MiB left", what, need>>20, dir, free>>20)
	}
	return nil
}

// makeTempDir creates a temporary folder that will be renamed into the
// cache: readable by all, like the rest of the cache (os.MkdirTemp makes
// it private).
func makeTempDir(parent, pattern string) (string, error) {
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}
