// Package specnet builds and runs the generic UDP/IPv4 send path of
// images/specnet/generic against the recording mock of images/specnet/mock,
// alone or beside a residual the specializer made from it, with the
// 32-bit cross compiler the guests use (so sizes and pointer widths match
// the guest). Its tests are the differential harness of issue 3.
package specnet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"specbed/specializer/ctxschema"
)

// Toolchain is the 32-bit cross toolchain.
type Toolchain struct {
	CC   string // i686-linux-gnu-gcc
	Gcov string // i686-linux-gnu-gcov
	NM   string // i686-linux-gnu-nm
	Size string // i686-linux-gnu-size
}

// DefaultToolchain is Debian's gcc-i686-linux-gnu and its binutils.
func DefaultToolchain() Toolchain {
	return Toolchain{CC: "i686-linux-gnu-gcc", Gcov: "i686-linux-gnu-gcov",
		NM: "i686-linux-gnu-nm", Size: "i686-linux-gnu-size"}
}

// cflags are those of every harness compile: the guest's ABI, warnings the
// kernel also uses, user-space mock.
var cflags = []string{"-m32", "-march=i486", "-std=gnu11", "-Wall", "-Wno-sign-compare",
	"-Wno-unused-parameter", "-Wno-unused-function", "-DSPECBED_USER", "-fno-strict-aliasing"}

// GenericSources are the layer files of the generic path, in the order the
// declarations name them.
var GenericSources = []string{"socket.c", "udp.c", "ip.c", "dev.c"}

// Harness compiles the generic path, the mock and the driver once, then a
// driver per context (the context's world, and a residual if any).
type Harness struct {
	// Src is images/specnet (generic/ and mock/ below it).
	Src string
	// Dir is a scratch directory for objects and binaries.
	Dir string
	TC  Toolchain
	// Coverage compiles the generic path with --coverage at -O0, so that a
	// gcov branch count belongs to one source condition.
	Coverage bool

	once sync.Once
	objs []string
	err  error
}

func (h *Harness) cc(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, h.TC.CC, append(append([]string{}, cflags...), args...)...)
	cmd.Dir = h.Dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", h.TC.CC, strings.Join(args, " "), err, out.String())
	}
	return nil
}

// objects compiles the shared objects once.
func (h *Harness) objects(ctx context.Context) ([]string, error) {
	h.once.Do(func() {
		h.objs, h.err = h.compile(ctx, GenericSources, []string{"mock.c", "driver.c"})
	})
	return h.objs, h.err
}

// compile compiles the generic sources (with coverage when asked) and
// the mock's, and returns their objects in Dir.
func (h *Harness) compile(ctx context.Context, generic, mock []string) ([]string, error) {
	// The compiler runs in Dir: sources (and the drivers' include
	// folders) by absolute path from here on.
	src, err := filepath.Abs(h.Src)
	if err != nil {
		return nil, err
	}
	h.Src = src
	gen := []string{"-O2"}
	if h.Coverage {
		gen = []string{"-O0", "--coverage"}
	}
	var objs []string
	for _, f := range generic {
		obj := filepath.Join(h.Dir, "generic_"+strings.TrimSuffix(f, ".c")+".o")
		if err := h.cc(ctx, append(append([]string{}, gen...), "-c", filepath.Join(src, "generic", f), "-o", obj)...); err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	for _, f := range mock {
		obj := filepath.Join(h.Dir, strings.TrimSuffix(f, ".c")+".o")
		if err := h.cc(ctx, "-O2", "-c", filepath.Join(src, "mock", f), "-o", obj); err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

var entryRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Residual is specializer output to link beside the generic path.
type Residual struct {
	C     []byte // the residual C file
	Entry string // its entry function
}

// Driver links a driver for one context (named name, unique in h.Dir)
// and returns its path. With r, the driver runs the residual and falls
// back to the generic path when a guard fails.
func (h *Harness) Driver(ctx context.Context, name string, c *ctxschema.Context, r *Residual) (string, error) {
	objs, err := h.objects(ctx)
	if err != nil {
		return "", err
	}
	world, err := WorldC(c)
	if err != nil {
		return "", err
	}
	base := filepath.Join(h.Dir, name)
	if err := os.WriteFile(base+"_world.c", world, 0o644); err != nil {
		return "", err
	}
	inc := "-I" + filepath.Join(h.Src, "mock")
	args := []string{"-O2", inc, "-o", base + "_driver", base + "_world.c"}
	if r != nil {
		// The driver calls the residual by a fixed name.
		if !entryRE.MatchString(r.Entry) {
			return "", fmt.Errorf("context %s: residual entry %q is not a C identifier", name, r.Entry)
		}
		alias := fmt.Sprintf("\nint specnet_residual_entry(struct sn_inst *inst, u8 __user *buf, u32 len, u32 flags)\n"+
			"{\n\treturn %s(inst, buf, len, flags);\n}\n", r.Entry)
		if err := os.WriteFile(base+"_residual.c", append(append([]byte{}, r.C...), alias...), 0o644); err != nil {
			return "", err
		}
		args = append(args, "-I"+filepath.Join(h.Src, "generic"), base+"_residual.c")
	}
	args = append(args, objs...)
	args = append(args, "-static")
	if h.Coverage {
		args = append(args, "--coverage")
	}
	if err := h.cc(ctx, args...); err != nil {
		return "", fmt.Errorf("context %s: %w", name, err)
	}
	return base + "_driver", nil
}

// RunConfig says what a driver run sends.
type RunConfig struct {
	Residual bool   // run the residual (the driver must have one)
	Seed     uint64 // inputs and tape
	Inputs   int
	ADU      uint32
	Flags    uint32
}

// Run runs a driver and parses its effect log.
func Run(ctx context.Context, driver string, rc RunConfig) (*Log, error) {
	mode := "generic"
	if rc.Residual {
		mode = "residual"
	}
	cmd := exec.CommandContext(ctx, driver, mode, strconv.FormatUint(rc.Seed, 10), strconv.Itoa(rc.Inputs),
		strconv.FormatUint(uint64(rc.ADU), 10), strconv.FormatUint(uint64(rc.Flags), 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", filepath.Base(driver), mode, err, stderr.String())
	}
	return ParseLog(out)
}
