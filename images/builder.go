// Package images builds and caches what a guest boots: the Linux kernel of
// each platform (Debian's linux-source-6.1 plus images/kernel/patches and a
// config fragment per platform), the guest agent, its initramfs, and
// out-of-tree kernel modules signed with the cache's signing key.
//
// Everything lands in a content-addressed cache under
// $XDG_CACHE_HOME/specbed; builds take file locks, so two specbed processes
// can build at once without corrupting it.
package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"specbed/internal/cachedir"
)

// Builder builds images into a cache directory. The zero value is not
// usable: use NewBuilder.
type Builder struct {
	// Cache is the cache root ($XDG_CACHE_HOME/specbed).
	Cache string
	// Repo is the specbed checkout holding images/ (fragments, patches,
	// agent and module sources).
	Repo string
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Jobs is kbuild's -j.
	Jobs int
}

// NewBuilder returns a builder on the default cache, finding the checkout
// from the working directory (the repository root or any folder in it).
func NewBuilder() (*Builder, error) {
	cache, err := cachedir.Root()
	if err != nil {
		return nil, err
	}
	repo, err := FindRepo()
	if err != nil {
		return nil, err
	}
	return &Builder{Cache: cache, Repo: repo, Log: io.Discard, Jobs: runtime.NumCPU()}, nil
}

// FindRepo walks up from the working directory to the folder that holds
// go.mod and images/kernel.
func FindRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) && fileExists(filepath.Join(d, "images", "kernel")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("not inside a specbed checkout (no go.mod beside images/kernel above %s)", dir)
		}
	}
}

func (b *Builder) logf(format string, args ...any) {
	if b.Log != nil {
		fmt.Fprintf(b.Log, format+"\n", args...)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// lock takes an exclusive advisory lock on cache/locks/name, waiting for
// another holder or for ctx. The returned function releases it.
func (b *Builder) lock(ctx context.Context, name string) (func(), error) {
	dir := filepath.Join(b.Cache, "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		// Closing the file releases the lock if the flock wins later.
		go func() { <-done; f.Close() }()
		return nil, fmt.Errorf("waiting for lock %s: %w", name, ctx.Err())
	}
}
