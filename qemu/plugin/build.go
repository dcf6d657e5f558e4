// Package plugin counts the guest instructions that QEMU executes, per
// address range and per instruction address, with a small TCG plugin
// (csrc/insncount.c): the way to see where a send path's instructions go,
// function by function, which the guest's own clock (icount) can only
// sum up.
//
// The plugin is C built with the host gcc against qemu-plugin.h of the
// installed QEMU (Header), into the cache. Options turns a run's wishes
// into QEMU arguments; ReadDump reads what the plugin wrote. Which
// function or layer an address belongs to is attrib's business.
package plugin

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed csrc/insncount.c
var source []byte

// Plugin is a built insncount plugin.
type Plugin struct {
	// Path is the shared object QEMU loads.
	Path string
}

// Build compiles the plugin with the host gcc into cacheDir, once per
// source, header and compiler.
func Build(ctx context.Context, cacheDir string) (*Plugin, error) {
	header, err := Header(ctx, cacheDir)
	if err != nil {
		return nil, err
	}
	headerData, err := os.ReadFile(header)
	if err != nil {
		return nil, fmt.Errorf("qemu plugin: %w", err)
	}
	gccVersion, err := exec.CommandContext(ctx, "gcc", "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("qemu plugin: host gcc: %w", err)
	}
	h := sha256.New()
	for _, part := range [][]byte{source, headerData, gccVersion} {
		fmt.Fprintf(h, "%d\x00", len(part))
		h.Write(part)
	}
	key := hex.EncodeToString(h.Sum(nil))[:16]
	dir := filepath.Join(cacheDir, "qemu-plugin", "build", key)
	so := filepath.Join(dir, "insncount.so")
	if _, err := os.Stat(so); err == nil {
		return &Plugin{Path: so}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("qemu plugin: %w", err)
	}
	src := filepath.Join(dir, "insncount.c")
	if err := writeAtomic(src, source); err != nil {
		return nil, fmt.Errorf("qemu plugin: %w", err)
	}
	// A temporary name and a rename: a concurrent build never loads a
	// half-written object.
	tmp := filepath.Join(dir, fmt.Sprintf(".insncount-%d.so", os.Getpid()))
	cmd := exec.CommandContext(ctx, "gcc", "-O2", "-Wall", "-Werror", "-fPIC", "-shared",
		"-I", filepath.Dir(header), "-o", tmp, src)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("qemu plugin: gcc: %w\n%s", err, out.String())
	}
	if err := os.Rename(tmp, so); err != nil {
		return nil, fmt.Errorf("qemu plugin: %w", err)
	}
	return &Plugin{Path: so}, nil
}

// Options are one run's use of the plugin.
type Options struct {
	// Out is the host file the plugin writes its snapshots to.
	Out string
	// Ranges, when set, is a file WriteRanges wrote: range i's count
	// appears as index i.
	Ranges string
	// Triggers are guest virtual addresses; each execution of the
	// instruction at one writes a snapshot (at most MaxTriggers).
	Triggers []uint64
}

// MaxTriggers is the plugin's limit on trigger addresses.
const MaxTriggers = 16

// Args returns the QEMU options that load the plugin for o.
func (p *Plugin) Args(o Options) ([]string, error) {
	if o.Out == "" {
		return nil, errors.New("qemu plugin: no output file")
	}
	if len(o.Triggers) > MaxTriggers {
		return nil, fmt.Errorf("qemu plugin: %d triggers, at most %d", len(o.Triggers), MaxTriggers)
	}
	parts := []string{p.Path, "out=" + o.Out}
	if o.Ranges != "" {
		parts = append(parts, "ranges="+o.Ranges)
	}
	for _, t := range o.Triggers {
		parts = append(parts, fmt.Sprintf("trigger=%x", t))
	}
	for _, part := range parts {
		// QEMU would read a comma as the start of the next option.
		if strings.Contains(part, ",") {
			return nil, fmt.Errorf("qemu plugin: %q contains a comma", part)
		}
	}
	return []string{"-plugin", strings.Join(parts, ",")}, nil
}

// Range is a half-open guest virtual address range [Start, End).
type Range struct{ Start, End uint64 }

// WriteRanges writes rs (sorted, disjoint, non-empty) to path in the
// plugin's format.
func WriteRanges(path string, rs []Range) error {
	var b bytes.Buffer
	for i, r := range rs {
		if r.Start >= r.End || (i > 0 && r.Start < rs[i-1].End) {
			return fmt.Errorf("qemu plugin ranges: range %d [%#x, %#x) is empty, unsorted or overlapping", i, r.Start, r.End)
		}
		fmt.Fprintf(&b, "%x %x\n", r.Start, r.End)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
