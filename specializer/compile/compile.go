// Package compile turns a residual C file (specializer.Output) into a kernel
// module of one kernel, signed with the key that kernel trusts.
//
// A kbuild of an out-of-tree module takes about 2 s on this machine, most of
// it make reading the kernel's makefiles and recompiling files that never
// change. The driver therefore runs one real kbuild per (kernel, generic
// tree) and records it (recipe.go): the objects that do not depend on the
// context (the module main) and the exact command lines kbuild ran
// for the residual, modpost, the .mod.c and the final link, and it
// precompiles the kernel headers the residual includes. A residual is
// then built by running those same commands on it (one gcc, ld, modpost,
// ld) and signed with the kernel's scripts/sign-file: the result is the
// module kbuild would have made, and the kernel's
// signature check accepts it.
package compile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"specbed/images"
	"specbed/qemu"
)

// moduleName is the name of the recorded module (kmod/Kbuild); every
// residual module is renamed to its own Module.Name (recipe.rename).
const moduleName = "specnet_residual"

// Residual is one specialization's C file.
type Residual struct {
	// C is the residual translation unit (it includes the generic headers).
	C []byte
	// Entry is the residual entry's name; the module main prints it on load.
	Entry string
	// Digest, when not 0, is ContextDigest of the context the residual was
	// specialized for: the core's LOAD then fails with ESTALE unless the
	// live socket and route still print that context.
	Digest uint64
}

// Module is a signed kernel module.
type Module struct {
	// Name is the module's name, "specnet_r_" and 16 hex digits of a hash
	// of its source and kernel: residual modules of different contexts
	// load side by side, and the core module finds each by this name.
	Name string
	// Ko is the signed .ko file's content.
	Ko []byte
	// Lines is the module before signing with the residual's DWARF line
	// table, which Ko lacks: where each instruction came from in the
	// generic sources (the residual's #line directives), for profiles.
	// The code and symbols are Ko's.
	Lines []byte
	// Compile is the wall time of compiling and linking the residual (ns
	// precision); Sign that of scripts/sign-file.
	Compile, Sign time.Duration
}

// Error is a failed build step, with the tool's output.
type Error struct {
	Step   string
	Output string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %v\n%s", e.Step, e.Err, strings.TrimSpace(e.Output))
}

func (e *Error) Unwrap() error { return e.Err }

// Driver builds residual modules for one kernel from one generic tree. It
// is safe for concurrent use: every build has its own scratch folder.
type Driver struct {
	kernel   *images.Kernel
	platform *qemu.Platform
	generic  string // folder of the generic sources (the headers residuals include)
	cache    string // where recipes live

	mu     sync.Mutex
	recipe *recipe
}

// New returns a driver for kernel k of platform p, with the generic sources
// in genericDir, keeping its recipes under cacheDir.
func New(k *images.Kernel, p *qemu.Platform, genericDir, cacheDir string) *Driver {
	return &Driver{kernel: k, platform: p, generic: genericDir, cache: cacheDir}
}

// Kernel returns the kernel the driver builds for.
func (d *Driver) Kernel() *images.Kernel { return d.kernel }

// Prepare records the kbuild recipe if it is not cached yet (one kbuild,
// a few seconds). Build prepares on first use; servers call Prepare at
// start so that no request pays for it.
func (d *Driver) Prepare(ctx context.Context) error {
	_, err := d.prepared(ctx)
	return err
}

func (d *Driver) prepared(ctx context.Context) (*recipe, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.recipe != nil {
		return d.recipe, nil
	}
	r, err := d.record(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile: recipe for %s kernel %s: %w", d.kernel.Platform, d.kernel.Key[:16], err)
	}
	d.recipe = r
	return r, nil
}

// Build compiles, links and signs res into a module.
func (d *Driver) Build(ctx context.Context, res Residual) (*Module, error) {
	if !validEntry(res.Entry) {
		return nil, fmt.Errorf("compile: entry name %q is not a C identifier", res.Entry)
	}
	r, err := d.prepared(ctx)
	if err != nil {
		return nil, err
	}
	if err := d.kernel.CheckBuildDir(); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	scratch, err := os.MkdirTemp(r.Dir, ".build-")
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	defer os.RemoveAll(scratch)

	start := time.Now()
	name := residualName(d.kernel, res)
	ko, err := r.build(ctx, d.kernel.BuildDir, scratch, res, name)
	if err != nil {
		return nil, err
	}
	lines, err := d.stripLines(ctx, ko)
	if err != nil {
		return nil, err
	}
	compiled := time.Now()
	if err := d.sign(ctx, ko); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(ko)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	if !images.IsSigned(data) {
		return nil, fmt.Errorf("compile: %s lacks the module signature marker after sign-file", ko)
	}
	return &Module{Name: name, Ko: data, Lines: lines, Compile: compiled.Sub(start), Sign: time.Since(compiled)}, nil
}

// stripLines returns the built module with its line table and strips the
// table from ko in place: the shipped module stays as small as before.
func (d *Driver) stripLines(ctx context.Context, ko string) ([]byte, error) {
	lines, err := os.ReadFile(ko)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	objcopy := d.platform.Kernel.CrossCompile + "objcopy"
	if err := run(ctx, "strip debug", filepath.Dir(ko), objcopy, "--strip-debug", ko); err != nil {
		return nil, err
	}
	return lines, nil
}

// sign signs ko in place with the kernel's sign-file and trusted key.
func (d *Driver) sign(ctx context.Context, ko string) error {
	name, args := d.kernel.SignCommand(ko)
	return run(ctx, "sign", d.kernel.BuildDir, name, args...)
}

// residualNamePrefix starts every residual module's name.
const residualNamePrefix = "specnet_r_"

// residualName is the module name of res built for kernel k.
func residualName(k *images.Kernel, res Residual) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", k.Key, res.Entry)
	if res.Digest != 0 {
		fmt.Fprintf(h, "digest %016x\x00", res.Digest)
	}
	h.Write(res.C)
	return residualNamePrefix + hex.EncodeToString(h.Sum(nil))[:16]
}

// entryTail follows the residual in its translation unit: it names the
// entry for the module main (kmod/main.c), which is compiled only once,
// and gives the entry the fixed name main.c registers (an alias: no
// extra call on the send path).
func entryTail(entry string, digest uint64) string {
	return fmt.Sprintf("\n/* Added by specbed's compile driver: the entry kmod/main.c registers. */\n"+
		"const char specnet_residual_entry[] = %q;\n"+
		"__typeof__(%s) specnet_residual_send __attribute__((alias(%q)));\n"+
		"const unsigned long long specnet_residual_ctx_digest = 0x%016xULL;\n", entry, entry, entry, digest)
}

// ContextDigest is the 64-bit FNV-1a hash of a guest context's
// environment part: its JSON (as the core module's CUSTOMIZE printed it)
// from after the "send_flags" value to the end, without the application's
// inputs fd, adu and send_flags, which the residual guards on every send.
// The core module hashes the same bytes of the context it prints at LOAD
// (images/specnet/core/kmod/ctx.c, sn_context_digest).
func ContextDigest(ctx []byte) (uint64, error) {
	const key = `"send_flags": {`
	i := bytes.Index(ctx, []byte(key))
	if i < 0 {
		return 0, fmt.Errorf("context digest: no %s in the context", key)
	}
	end := bytes.IndexByte(ctx[i:], '}')
	if end < 0 {
		return 0, fmt.Errorf("context digest: %s is not closed", key)
	}
	h := fnv.New64a()
	h.Write(ctx[i+end+1:])
	return h.Sum64(), nil
}

func validEntry(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// run runs a program in dir, returning an *Error with its output on failure.
func run(ctx context.Context, step, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// Kill the whole group (sh -c runs pipelines) when ctx ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &Error{Step: step, Output: out.String(), Err: err}
	}
	return nil
}

// genericFile reports whether a generic file goes into the module: the
// headers the residual includes. The kernel shim it calls is the core
// module's (images/specnet/core exports it).
func genericFile(name string) bool {
	return strings.HasSuffix(name, ".h")
}

var errNoCommand = errors.New("kbuild left no command for it")
