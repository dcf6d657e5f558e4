// Package hostdeps installs the Debian packages specbed needs on the host,
// and does nothing when they are all present.
package hostdeps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Packages are the Debian packages every specbed command may need: QEMU for
// both guest architectures, the kernel source, the cross compilers and what
// kbuild needs to build and sign a kernel and its modules.
var Packages = []string{
	"qemu-system-x86", "qemu-system-arm", "linux-source-6.1",
	"gcc-i686-linux-gnu", "gcc-arm-linux-gnueabi",
	"bc", "bison", "flex", "libelf-dev", "libssl-dev", "openssl",
	"cpio", "kmod", "rsync", "patch", "xz-utils", "lz4", "make", "gcc",
}

// Missing returns the packages of want that dpkg does not report installed.
func Missing(ctx context.Context, want []string) ([]string, error) {
	args := append([]string{"-W", "-f=${Package} ${db:Status-Abbrev}\n"}, want...)
	out, err := exec.CommandContext(ctx, "dpkg-query", args...).Output()
	// dpkg-query exits 1 when some package is unknown; its output still
	// lists the known ones.
	if err != nil && len(out) == 0 {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return nil, fmt.Errorf("dpkg-query: %w", err)
		}
	}
	installed := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.HasPrefix(f[1], "ii") {
			installed[f[0]] = true
		}
	}
	var missing []string
	for _, p := range want {
		if !installed[p] {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// Ensure installs the missing packages with apt-get, running
// 'apt-get update' once first. It prints what it does to w.
func Ensure(ctx context.Context, w io.Writer, want []string) error {
	missing, err := Missing(ctx, want)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		fmt.Fprintf(w, "host packages: all %d present\n", len(want))
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing Debian packages %s: run 'sudo apt-get install %s' or run this as root",
			strings.Join(missing, " "), strings.Join(missing, " "))
	}
	fmt.Fprintf(w, "host packages: installing %s\n", strings.Join(missing, " "))
	if err := run(ctx, w, "apt-get", "update", "-q"); err != nil {
		return err
	}
	args := append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)
	return run(ctx, w, "apt-get", args...)
}

func run(ctx context.Context, w io.Writer, name string, args ...string) error {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		tail := buf.String()
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail)
	}
	fmt.Fprintf(w, "%s %s: done\n", name, args[0])
	return nil
}
