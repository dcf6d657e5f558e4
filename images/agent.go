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

	"specbed/qemu"
)

// agentCFlags are the flags of every agent build besides the platform's
// own: a static program without a C library (the kernel's nolibc supplies
// the system call stubs and _start), no stack protector or PIC (nothing
// at run time would set them up), and warnings as errors.
var agentCFlags = []string{
	"-static", "-nostdlib", "-ffreestanding", "-fno-stack-protector",
	"-fno-pic", "-no-pie", "-O2", "-Wall", "-Wextra", "-Werror",
	// No .eh_frame: nothing unwinds, and the binary stays smaller.
	"-fno-asynchronous-unwind-tables",
}

// agentExitDefines maps a platform's exit method to the agent's
// compile-time switch (images/agent/exit.c).
var agentExitDefines = map[qemu.ExitMethod]string{
	qemu.ExitReboot:      "AGENT_EXIT_REBOOT",
	qemu.ExitSemihosting: "AGENT_EXIT_SEMIHOSTING",
}

// agentBinary is the file name of the agent in its cache folder.
const agentBinary = "agent"

// sourceFile is one input file of a build, by base name.
type sourceFile struct {
	name string
	data []byte
}

// agentSourceDir is images/agent in the checkout.
func (b *Builder) agentSourceDir() string { return filepath.Join(b.Repo, "images", "agent") }

// readSources reads the files of dir whose names end in one of exts, in
// name order.
func readSources(dir string, exts ...string) ([]sourceFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []sourceFile
	for _, e := range entries {
		if !e.Type().IsRegular() || !hasSuffix(e.Name(), exts) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, sourceFile{name: e.Name(), data: data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s files in %s", strings.Join(exts, " or "), dir)
	}
	return out, nil
}

func hasSuffix(name string, exts []string) bool {
	for _, ext := range exts {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// hashSources hashes file names and contents, in order.
func hashSources(files []sourceFile) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.name, len(f.data))
		h.Write(f.data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// agentUAPIHeaders are the headers of kernel modules the agent talks to,
// relative to the checkout; the build puts them beside the agent's sources.
var agentUAPIHeaders = []string{"images/specnet/core/specnet_uapi.h"}

// agentSources reads the agent's C sources and headers, and the UAPI
// headers it includes.
func (b *Builder) agentSources() ([]sourceFile, error) {
	files, err := readSources(b.agentSourceDir(), ".c", ".h")
	if err != nil {
		return nil, fmt.Errorf("agent sources: %w", err)
	}
	for _, rel := range agentUAPIHeaders {
		data, err := os.ReadFile(filepath.Join(b.Repo, rel))
		if err != nil {
			return nil, fmt.Errorf("agent sources: %w", err)
		}
		files = append(files, sourceFile{name: filepath.Base(rel), data: data})
	}
	return files, nil
}

// AgentVersion is the agent= field of the agent's ready line: the first
// 12 hex digits of the SHA-256 of its sources, the same on every
// platform. A runner compares it to make sure a guest runs this checkout's
// agent.
func (b *Builder) AgentVersion() (string, error) {
	files, err := b.agentSources()
	if err != nil {
		return "", err
	}
	return hashSources(files)[:12], nil
}

// agentBuild is everything that determines an agent binary.
type agentBuild struct {
	spec     qemu.AgentSpec
	compiler string // the compiler's --version line
	sources  []sourceFile
	nolibc   []sourceFile
	version  string
	flags    []string // compiler flags, without paths
}

func (b *Builder) agentInputs(ctx context.Context, p *qemu.Platform, nolibcDir string) (*agentBuild, error) {
	in := &agentBuild{spec: p.Agent}
	var err error
	if in.sources, err = b.agentSources(); err != nil {
		return nil, err
	}
	if in.nolibc, err = readSources(nolibcDir, ".h"); err != nil {
		return nil, fmt.Errorf("nolibc: %w", err)
	}
	if in.compiler, err = firstLine(ctx, p.Agent.CC, "--version"); err != nil {
		return nil, err
	}
	in.version = hashSources(in.sources)[:12]
	exit, ok := agentExitDefines[p.Exit]
	if !ok {
		return nil, fmt.Errorf("platform %s: the agent cannot end the VM by %q", p.Name, p.Exit)
	}
	in.flags = append(append([]string(nil), p.Agent.CFlags...), agentCFlags...)
	in.flags = append(in.flags, "-D"+exit, fmt.Sprintf("-DAGENT_VERSION=%q", in.version))
	if !p.Agent.LinkLibgcc {
		in.flags = append(in.flags, "-DAGENT_NO_LIBGCC")
	}
	return in, nil
}

// key identifies the binary: sources, nolibc, flags, compiler and the
// instruction check it must pass. The leading tag stands for the rest of
// buildAgent's command line: change it when that changes.
func (in *agentBuild) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "agent v2\x00%s\x00%q\x00%t\x00%s\x00", in.compiler, in.flags, in.spec.LinkLibgcc, in.spec.ForbiddenInsns)
	fmt.Fprintf(h, "sources %s\x00nolibc %s\x00", hashSources(in.sources), hashSources(in.nolibc))
	return hex.EncodeToString(h.Sum(nil))
}

// agentDir is the cache folder of an agent binary.
func (b *Builder) agentDir(p *qemu.Platform, key string) string {
	return filepath.Join(b.Cache, "agent", p.Kernel.Arch+"-"+key[:16])
}

// Agent returns the guest agent binary for p (images/agent, built as a
// static program on the kernel's nolibc), building it when the cache
// lacks one for the current inputs. A binary holding an instruction that
// p's CPU lacks is rejected (see CheckInstructions).
func (b *Builder) Agent(ctx context.Context, p *qemu.Platform) (string, error) {
	src, err := b.Source(ctx)
	if err != nil {
		return "", err
	}
	in, err := b.agentInputs(ctx, p, filepath.Join(src, "tools", "include", "nolibc"))
	if err != nil {
		return "", err
	}
	key := in.key()
	dir := b.agentDir(p, key)
	path := filepath.Join(dir, agentBinary)
	if fileExists(path) {
		return path, nil
	}
	unlock, err := b.lock(ctx, "agent-"+key[:16])
	if err != nil {
		return "", err
	}
	defer unlock()
	if fileExists(path) { // Another process built it while we waited.
		return path, nil
	}
	if err := b.buildAgent(ctx, p, in, dir); err != nil {
		return "", fmt.Errorf("%s agent: %w", p.Name, err)
	}
	return path, nil
}

// buildAgent compiles the agent in a scratch folder beside dir from copies
// of the hashed inputs (so that an edit during the build cannot produce a
// binary under the wrong key), checks it and renames the folder into place.
func (b *Builder) buildAgent(ctx context.Context, p *qemu.Platform, in *agentBuild, dir string) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	for _, set := range []struct {
		dir   string
		files []sourceFile
	}{{"src", in.sources}, {"nolibc", in.nolibc}} {
		if err := writeFiles(filepath.Join(tmp, set.dir), set.files); err != nil {
			return err
		}
	}
	log, err := b.openLog("agent-" + p.Kernel.Arch)
	if err != nil {
		return err
	}
	defer log.Close()
	b.logf("building the %s agent (log %s)", p.Kernel.Arch, log.path)

	args := append([]string(nil), in.flags...)
	// -isystem: nolibc's own warnings are not the agent's to fix.
	args = append(args, "-isystem", filepath.Join(tmp, "nolibc"), "-o", filepath.Join(tmp, agentBinary))
	for _, f := range in.sources {
		if strings.HasSuffix(f.name, ".c") {
			args = append(args, filepath.Join(tmp, "src", f.name))
		}
	}
	if in.spec.LinkLibgcc {
		args = append(args, "-lgcc")
	}
	if err := log.run(ctx, tmp, nil, in.spec.CC, args...); err != nil {
		return err
	}
	if err := CheckInstructions(ctx, in.spec.ObjdumpPrefix, in.spec.ForbiddenInsns, filepath.Join(tmp, agentBinary)); err != nil {
		log.printf("%v", err)
		return err
	}
	for _, d := range []string{"src", "nolibc"} {
		if err := os.RemoveAll(filepath.Join(tmp, d)); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("store agent: %w", err)
	}
	return nil
}

func writeFiles(dir string, files []sourceFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
