package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"specbed/qemu"
)

// moduleSignatureMarker ends every module signed by scripts/sign-file.
const moduleSignatureMarker = "~Module signature appended~\n"

// Module builds the out-of-tree kernel module in srcDir (a folder with a
// Kbuild or Makefile building one .ko) against k, signs it with
// scripts/sign-file and the cache's signing key, and returns the .ko path.
// The sources are copied to a scratch folder in the cache: nothing is
// built in the repository. The result is cached by kernel key and source
// content.
func (b *Builder) Module(ctx context.Context, k *Kernel, srcDir string) (string, error) {
	return b.module(ctx, k, srcDir, true)
}

// UnsignedModule is Module without the signature: the kernels enforce
// signatures, so loading it must fail (EKEYREJECTED).
func (b *Builder) UnsignedModule(ctx context.Context, k *Kernel, srcDir string) (string, error) {
	return b.module(ctx, k, srcDir, false)
}

func (b *Builder) module(ctx context.Context, k *Kernel, srcDir string, sign bool) (string, error) {
	p, err := qemu.Lookup(k.Platform)
	if err != nil {
		return "", err
	}
	srcHash, err := TreeHash(srcDir, nil)
	if err != nil {
		return "", fmt.Errorf("module %s: %w", srcDir, err)
	}
	kind := "signed"
	if !sign {
		kind = "unsigned"
	}
	parent := filepath.Join(b.Cache, "modules", k.Platform+"-"+k.Key[:16])
	dir := filepath.Join(parent, fmt.Sprintf("%s-%s-%s", filepath.Base(srcDir), srcHash[:16], kind))
	if ko, err := onlyModule(dir); err == nil {
		return ko, nil
	}
	// The source tree is needed by the build folder's Makefile.
	if _, err := b.Source(ctx); err != nil {
		return "", err
	}
	// Module builds read the kernel's build folder: keep a kernel build of
	// the same platform from changing it meanwhile.
	unlock, err := b.lock(ctx, "kernel-"+k.Platform)
	if err != nil {
		return "", err
	}
	defer unlock()
	if ko, err := onlyModule(dir); err == nil {
		return ko, nil
	}
	if err := k.CheckBuildDir(); err != nil {
		return "", fmt.Errorf("module %s: %w", srcDir, err)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	scratch, err := os.MkdirTemp(parent, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	if err := os.CopyFS(scratch, os.DirFS(srcDir)); err != nil {
		return "", fmt.Errorf("module %s: copy sources: %w", srcDir, err)
	}
	log, err := b.openLog("module-" + k.Platform + "-" + filepath.Base(srcDir))
	if err != nil {
		return "", err
	}
	defer log.Close()
	b.logf("%s: building module %s (%s)", k.Platform, srcDir, kind)
	// The build folder's Makefile knows the source tree.
	args := append([]string{"-C", k.BuildDir, "M=" + scratch}, KbuildVars(p)...)
	args = append(args, fmt.Sprintf("-j%d", b.jobs()), "modules")
	if err := log.run(ctx, scratch, nil, "make", args...); err != nil {
		return "", fmt.Errorf("module %s for %s: %w", srcDir, k.Platform, err)
	}
	ko, err := onlyModule(scratch)
	if err != nil {
		return "", log.failure(fmt.Errorf("module %s: %w", srcDir, err))
	}
	if sign {
		name, args := k.SignCommand(ko)
		if err := log.run(ctx, scratch, nil, name, args...); err != nil {
			return "", fmt.Errorf("sign module %s: %w", ko, err)
		}
		if err := checkSigned(ko); err != nil {
			return "", err
		}
	}
	out, err := makeTempDir(parent, ".store-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(out)
	if err := os.Rename(ko, filepath.Join(out, filepath.Base(ko))); err != nil {
		return "", err
	}
	if err := os.Rename(out, dir); err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(ko)), nil
}

// onlyModule returns the single .ko file directly in dir.
func onlyModule(dir string) (string, error) {
	kos, err := filepath.Glob(filepath.Join(dir, "*.ko"))
	if err != nil {
		return "", err
	}
	if len(kos) != 1 {
		return "", fmt.Errorf("%s holds %d .ko files, want exactly one", dir, len(kos))
	}
	return kos[0], nil
}

// checkSigned verifies that a module ends with the signature marker.
func checkSigned(ko string) error {
	data, err := os.ReadFile(ko)
	if err != nil {
		return err
	}
	if !IsSigned(data) {
		return fmt.Errorf("%s lacks the module signature marker %q at its end", ko, strings.TrimSpace(moduleSignatureMarker))
	}
	return nil
}

// IsSigned reports whether a module's bytes end with the marker that
// scripts/sign-file appends after the signature.
func IsSigned(ko []byte) bool { return bytes.HasSuffix(ko, []byte(moduleSignatureMarker)) }

// SignCommand is the command line that signs the module file ko in place
// with the kernel's scripts/sign-file and the key the kernel trusts.
func (k *Kernel) SignCommand(ko string) (name string, args []string) {
	return filepath.Join(k.BuildDir, "scripts", "sign-file"), []string{"sha256", k.SigningKey, k.SigningCert, ko}
}

// CheckBuildDir fails when k's kbuild output folder holds another kernel
// now: 'specbed images build' reuses one folder per platform, and modules
// built against the wrong objects would not load.
func (k *Kernel) CheckBuildDir() error {
	stamp, err := os.ReadFile(filepath.Join(k.BuildDir, buildStamp))
	if err != nil || strings.TrimSpace(string(stamp)) != k.Key {
		return fmt.Errorf("%s no longer holds kernel %s (another configuration was built there since): run 'specbed images build --platform %s'",
			k.BuildDir, k.Key[:16], k.Platform)
	}
	return nil
}

// TreeHash is the SHA-256 (hex) of the regular files in dir whose base
// names keep accepts (nil: all): relative paths, sizes and contents, in
// path order. It keys caches by source content.
func TreeHash(dir string, keep func(name string) bool) (string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && (keep == nil || keep(d.Name())) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
