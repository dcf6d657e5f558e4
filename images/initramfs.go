package images

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/u-root/u-root/pkg/cpio"

	"specbed/qemu"
)

// File is a file that a caller adds to an initramfs.
type File struct {
	// Path is where the guest sees it, absolute and clean
	// ("/lib/modules/oops.ko"). Missing parent folders are created.
	Path string
	// Mode holds the permission bits; 0 means 0644.
	Mode uint32
	// Data is the content, unless Source names a host file to read it
	// from. Exactly one of them is used: Data must be nil when Source is
	// set.
	Data   []byte
	Source string
}

// consoleMajor and consoleMinor are /dev/console's device number. The
// kernel opens it for init's stdin, stdout and stderr before running
// /init, so it must exist before devtmpfs is mounted.
const (
	consoleMajor = 5
	consoleMinor = 1
)

// initramfsEntry is one record of the archive before it is written.
type initramfsEntry struct {
	name string // relative to the root, as cpio stores it
	mode uint64 // file type and permission bits
	data []byte
	dev  [2]uint64 // major and minor of a device node
}

// baseEntries is the layout every agent initramfs has besides /init.
func baseEntries() []initramfsEntry {
	return []initramfsEntry{
		{name: "dev", mode: cpio.S_IFDIR | 0o755},
		{name: "dev/console", mode: cpio.S_IFCHR | 0o600, dev: [2]uint64{consoleMajor, consoleMinor}},
		{name: "lib", mode: cpio.S_IFDIR | 0o755},
		{name: "lib/modules", mode: cpio.S_IFDIR | 0o755},
		{name: "proc", mode: cpio.S_IFDIR | 0o555},
		{name: "sys", mode: cpio.S_IFDIR | 0o555},
		{name: "tmp", mode: cpio.S_IFDIR | 0o1777},
	}
}

// initramfsLayout returns the entries of an initramfs holding agent as
// /init plus extra, sorted by name (which puts every folder before what
// it holds). It checks the extra paths.
func initramfsLayout(agent []byte, extra []File) ([]initramfsEntry, error) {
	entries := map[string]initramfsEntry{}
	for _, e := range baseEntries() {
		entries[e.name] = e
	}
	entries["init"] = initramfsEntry{name: "init", mode: cpio.S_IFREG | 0o755, data: agent}
	for _, f := range extra {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return nil, fmt.Errorf("initramfs file %q: want an absolute, clean path", f.Path)
		}
		if f.Mode&^0o7777 != 0 {
			return nil, fmt.Errorf("initramfs file %s: mode %#o has more than permission bits", f.Path, f.Mode)
		}
		data, err := f.content()
		if err != nil {
			return nil, err
		}
		name := f.Path[1:]
		if _, ok := entries[name]; ok {
			return nil, fmt.Errorf("initramfs file %s: the path is already in the archive", f.Path)
		}
		mode := uint64(f.Mode)
		if mode == 0 {
			mode = 0o644
		}
		entries[name] = initramfsEntry{name: name, mode: cpio.S_IFREG | mode, data: data}
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := entries[dir]; !ok {
				entries[dir] = initramfsEntry{name: dir, mode: cpio.S_IFDIR | 0o755}
			}
		}
	}
	out := make([]initramfsEntry, 0, len(entries))
	for _, e := range entries {
		if dir := path.Dir(e.name); dir != "." && entries[dir].mode&cpio.S_IFMT != cpio.S_IFDIR {
			return nil, fmt.Errorf("initramfs file /%s: /%s is not a folder", e.name, dir)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func (f File) content() ([]byte, error) {
	if f.Source == "" {
		return f.Data, nil
	}
	if f.Data != nil {
		return nil, fmt.Errorf("initramfs file %s: both Data and Source (%s) are set", f.Path, f.Source)
	}
	data, err := os.ReadFile(f.Source)
	if err != nil {
		return nil, fmt.Errorf("initramfs file %s: %w", f.Path, err)
	}
	return data, nil
}

// writeInitramfs writes entries as a newc archive. Every record has
// mtime 0, owner root and an inode number from its position, so equal
// entries give equal bytes.
func writeInitramfs(entries []initramfsEntry) ([]byte, error) {
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	for i, e := range entries {
		info := cpio.Info{
			Name:   e.name,
			Mode:   e.mode,
			Ino:    uint64(i + 1),
			NLink:  1,
			Rmajor: e.dev[0],
			Rminor: e.dev[1],
		}
		if e.mode&cpio.S_IFMT == cpio.S_IFDIR {
			info.NLink = 2
		}
		if err := w.WriteRecord(cpio.StaticRecord(e.data, info)); err != nil {
			return nil, fmt.Errorf("initramfs: %w", err)
		}
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	return buf.Bytes(), nil
}

// Initramfs returns an initramfs (uncompressed newc cpio) for p: the
// agent as /init, /dev/console, the mount points /dev, /proc and /sys,
// /tmp, /lib/modules, and extra. Archives are stored under their content
// hash in cache/initramfs, so equal inputs give the same file, byte for
// byte.
func (b *Builder) Initramfs(ctx context.Context, p *qemu.Platform, extra []File) (string, error) {
	agentPath, err := b.Agent(ctx, p)
	if err != nil {
		return "", err
	}
	agent, err := os.ReadFile(agentPath)
	if err != nil {
		return "", fmt.Errorf("%s initramfs: %w", p.Name, err)
	}
	entries, err := initramfsLayout(agent, extra)
	if err != nil {
		return "", fmt.Errorf("%s initramfs: %w", p.Name, err)
	}
	data, err := writeInitramfs(entries)
	if err != nil {
		return "", fmt.Errorf("%s initramfs: %w", p.Name, err)
	}
	return b.storeByContent(filepath.Join(b.Cache, "initramfs"), ".cpio", data)
}

// AgentInitramfs is the initramfs with the agent and nothing else.
func (b *Builder) AgentInitramfs(ctx context.Context, p *qemu.Platform) (string, error) {
	return b.Initramfs(ctx, p, nil)
}

// storeByContent writes data to dir/<sha256[:16]><ext> unless that file
// exists, through a temporary file and a rename, so readers never see a
// partial file and concurrent writers of the same bytes do not collide.
func (b *Builder) storeByContent(dir, ext string, data []byte) (string, error) {
	dst := filepath.Join(dir, sha256Hex(data)[:16]+ext)
	if fileExists(dst) {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("store %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("store %s: %w", dst, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("store %s: %w", dst, err)
	}
	return dst, nil
}
