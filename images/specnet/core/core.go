// Package core builds the core kernel module specnet (the C sources in
// kmod/ and the headers here, plus the generic send path in
// images/specnet/generic): /dev/specnet with the
// ioctls of specnet_uapi.h, /proc/specnet, and the registry that residual
// modules (specializer/compile) join at init.
package core

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"specbed/images"
)

// ModuleName is the core module's name (Kbuild's obj-m).
const ModuleName = "specnet"

// Exports are the symbols the core exports to residual modules
// (EXPORT_SYMBOL_GPL in token.c).
var Exports = []string{"specnet_register_residual", "specnet_unregister_residual"}

// ResidualHeader is specnet_residual.h: what a residual module includes to
// register with the core.
//
//go:embed specnet_residual.h
var ResidualHeader []byte

// sources are the core's own kbuild inputs.
//
//go:embed kmod specnet_uapi.h specnet_residual.h
var sources embed.FS

// Symvers is a Module.symvers listing Exports as the core's, for modpost
// of a residual module (KBUILD_EXTRA_SYMBOLS): it resolves the residual's
// calls into the core and records the dependency ("depends=specnet"). The
// specbed kernels have no CONFIG_MODVERSIONS, so every CRC is 0.
func Symvers() []byte {
	var b strings.Builder
	for _, s := range Exports {
		fmt.Fprintf(&b, "0x00000000\t%s\t%s\tEXPORT_SYMBOL_GPL\t\n", s, ModuleName)
	}
	return []byte(b.String())
}

// genericDir is the generic send path the core compiles in.
func genericDir(b *images.Builder) string {
	return filepath.Join(b.Repo, "images", "specnet", "generic")
}

// Build builds the signed core module for kernel k (cached by kernel and
// sources, see images.Builder.Module) and returns the .ko's path.
func Build(ctx context.Context, b *images.Builder, k *images.Kernel) (string, error) {
	tmp, err := os.MkdirTemp("", "specnet-core-")
	if err != nil {
		return "", fmt.Errorf("core: %w", err)
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, ModuleName)
	own, err := fs.Sub(sources, "kmod")
	if err != nil {
		return "", err
	}
	headers, err := fs.Sub(sources, ".")
	if err != nil {
		return "", err
	}
	if err := stage(src, own, headers, os.DirFS(genericDir(b))); err != nil {
		return "", fmt.Errorf("core: %w", err)
	}
	ko, err := b.Module(ctx, k, src)
	if err != nil {
		return "", fmt.Errorf("core: %w", err)
	}
	return ko, nil
}

// stage copies the kbuild inputs of the core (C sources, headers, Kbuild)
// from the top of each folder into dst.
func stage(dst string, dirs ...fs.FS) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, dir := range dirs {
		entries, err := fs.ReadDir(dir, ".")
		if err != nil {
			return err
		}
		for _, e := range entries {
			n := e.Name()
			if !e.Type().IsRegular() || !(strings.HasSuffix(n, ".c") || strings.HasSuffix(n, ".h") || n == "Kbuild") {
				continue
			}
			if _, err := os.Stat(filepath.Join(dst, n)); err == nil {
				return fmt.Errorf("%s is in two source folders", n)
			}
			data, err := fs.ReadFile(dir, n)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dst, n), data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
