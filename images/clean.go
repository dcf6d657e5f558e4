package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"specbed/qemu"
)

// Kernels lists the kernels in the cache, by platform then build time.
func (b *Builder) Kernels() ([]*KernelRecord, error) {
	files, err := filepath.Glob(filepath.Join(b.Cache, "kernels", "*", "kernel.json"))
	if err != nil {
		return nil, err
	}
	var recs []*KernelRecord
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rec := &KernelRecord{Dir: filepath.Dir(f)}
		if err := json.Unmarshal(data, rec); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		recs = append(recs, rec)
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Inputs.Platform != recs[j].Inputs.Platform {
			return recs[i].Inputs.Platform < recs[j].Inputs.Platform
		}
		return recs[i].BuiltAt.Before(recs[j].BuiltAt)
	})
	return recs, nil
}

// Clean removes p's cached kernels, kbuild folder and modules, or those of
// every platform when p is nil, and then also the source trees and build
// logs. The module signing key stays unless keys is set: a new key means
// new kernels and re-signed modules.
func (b *Builder) Clean(ctx context.Context, p *qemu.Platform, keys bool) error {
	platforms := qemu.All()
	if p != nil {
		platforms = []*qemu.Platform{p}
	}
	for _, p := range platforms {
		if err := b.cleanPlatform(ctx, p); err != nil {
			return err
		}
	}
	if p == nil {
		if err := b.removeAll(ctx, "src", filepath.Join(b.Cache, "src"), filepath.Join(b.Cache, "logs")); err != nil {
			return err
		}
	}
	if keys {
		return b.removeAll(ctx, "keys", b.keysDir())
	}
	return nil
}

// cleanPlatform removes one platform's artefacts under its build lock, so
// that a build or module build in progress is not cut short.
func (b *Builder) cleanPlatform(ctx context.Context, p *qemu.Platform) error {
	var paths []string
	for _, pattern := range []string{
		filepath.Join(b.Cache, "kernels", p.Name+"-*"),
		filepath.Join(b.Cache, "modules", p.Name+"-*"),
	} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		paths = append(paths, matches...)
	}
	paths = append(paths, b.buildDir(p))
	return b.removeAll(ctx, "kernel-"+p.Name, paths...)
}

// removeAll removes paths while holding the named lock, logging each.
func (b *Builder) removeAll(ctx context.Context, lock string, paths ...string) error {
	if len(paths) == 0 {
		return nil
	}
	unlock, err := b.lock(ctx, lock)
	if err != nil {
		return err
	}
	defer unlock()
	for _, path := range paths {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			continue
		}
		b.logf("removing %s", path)
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("clean: %w", err)
		}
	}
	return nil
}
