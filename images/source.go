package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const (
	// sourcePackage is the Debian package that ships the kernel source.
	sourcePackage = "linux-source-6.1"
	// sourceTarball is where that package puts it.
	sourceTarball = "/usr/src/linux-source-6.1.tar.xz"
	// sourceTreeBytes is the space the extracted tree takes, with margin.
	sourceTreeBytes = 2 << 30
)

// patch is one file of images/kernel/patches.
type patch struct {
	name string
	data []byte
}

// patchDir is where the kernel patches live in the checkout.
func (b *Builder) patchDir() string { return filepath.Join(b.Repo, "images", "kernel", "patches") }

// patches reads images/kernel/patches/*.patch in name order: the order
// they are applied in.
func (b *Builder) patches() ([]patch, error) {
	names, err := filepath.Glob(filepath.Join(b.patchDir(), "*.patch"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []patch
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("kernel patch: %w", err)
		}
		out = append(out, patch{name: filepath.Base(name), data: data})
	}
	return out, nil
}

// patchesHash identifies the patch series: names, order and bytes.
func patchesHash(ps []patch) string {
	h := sha256.New()
	for _, p := range ps {
		fmt.Fprintf(h, "%s\x00%d\x00", p.name, len(p.data))
		h.Write(p.data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SourceVersion is the installed linux-source package's Debian version
// (e.g. "6.1.192-2"). A new version of the package is a new source tree
// and a new kernel key.
func SourceVersion(ctx context.Context) (string, error) {
	v, err := output(ctx, "dpkg-query", "-W", "-f=${Version}", sourcePackage)
	if err != nil {
		return "", fmt.Errorf("%s not installed (run 'specbed setup'): %w", sourcePackage, err)
	}
	return v, nil
}

// Source returns the kernel source tree: Debian's linux-source-6.1 with
// images/kernel/patches/*.patch applied in name order, extracted once into
// cache/src/<package version>-<patch series hash>/. Kernels are built out
// of tree (O=), so the tree stays pristine and every platform shares it.
func (b *Builder) Source(ctx context.Context) (string, error) {
	version, err := SourceVersion(ctx)
	if err != nil {
		return "", err
	}
	ps, err := b.patches()
	if err != nil {
		return "", err
	}
	parent := filepath.Join(b.Cache, "src")
	dir, err := b.sourceDir(version, patchesHash(ps))
	if err != nil {
		return "", err
	}
	if fileExists(dir) {
		return dir, nil
	}
	unlock, err := b.lock(ctx, "src")
	if err != nil {
		return "", err
	}
	defer unlock()
	if fileExists(dir) { // Another process extracted it while we waited.
		return dir, nil
	}
	if err := ensureFreeSpace(parent, sourceTreeBytes, "extracting "+sourceTarball); err != nil {
		return "", err
	}
	if err := b.extractSource(ctx, parent, dir, ps); err != nil {
		return "", err
	}
	return dir, nil
}

// sourceDir is the cache folder of a source tree.
func (b *Builder) sourceDir(version, patchesHash string) (string, error) {
	if len(patchesHash) < 12 {
		return "", fmt.Errorf("patch series hash %q too short", patchesHash)
	}
	// Debian versions may carry an epoch ("1:..."); keep paths colon-free.
	return filepath.Join(b.Cache, "src", strings.ReplaceAll(version, ":", "_")+"-"+patchesHash[:12]), nil
}

// extractSource unpacks the tarball into a temporary folder beside dir,
// applies the patches and renames the folder into place, so that dir exists
// only when complete.
func (b *Builder) extractSource(ctx context.Context, parent, dir string, ps []patch) error {
	log, err := b.openLog("source")
	if err != nil {
		return err
	}
	defer log.Close()
	b.logf("extracting %s into %s (log %s)", sourceTarball, dir, log.path)
	tmp, err := makeTempDir(parent, ".extract-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := log.run(ctx, tmp, nil, "tar", "-xJf", sourceTarball, "--strip-components=1"); err != nil {
		return fmt.Errorf("extract kernel source: %w", err)
	}
	for _, p := range ps {
		b.logf("applying patch %s", p.name)
		if err := log.run(ctx, tmp, nil, "patch", "-p1", "--batch", "--forward", "-i", filepath.Join(b.patchDir(), p.name)); err != nil {
			return fmt.Errorf("apply kernel patch %s: %w", p.name, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("kernel source: %w", err)
	}
	return nil
}
