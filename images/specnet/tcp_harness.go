package specnet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"

	"specbed/specializer/ctxschema"
)

// tcpWorld is the TCP mock's (mock/tcp_mock.h): the socket view is "tp",
// the route's MTU lookup "dst_mtu"; the guards' values the driver sets as
// the connection's state (gso_segs) or takes per send (adu, send_flags).
var tcpWorld = worldSpec{
	header: "#include \"tcp_mock.h\"\n\nvoid tcp_mock_apply_context(struct tcp_mock_world *w)\n{\n" +
		"\tstruct sn_tcp_sock *tp = &w->sk;\n\n\t(void)tp;\n",
	roots:    map[string]string{"tp": "tp", "dst_mtu": "w->dst_mtu"},
	driver:   map[string]bool{"adu": true, "send_flags": true, "gso_segs": true},
	pointers: map[string]bool{"tp->sk_net": true},
}

// TCPGenericSources are the files of the generic TCP path: tcp.c and
// tcp_xmit.c, which tcp.decl names, and tcp_copy.c and tcp_slow.c, which
// it leaves generic.
var TCPGenericSources = []string{"tcp.c", "tcp_xmit.c", "tcp_copy.c", "tcp_slow.c"}

// TCPWorldC returns the C of tcp_mock_apply_context for a TCP context.
func TCPWorldC(c *ctxschema.Context) ([]byte, error) { return tcpWorld.c(c) }

// TCPDriverArgs are a TCP context's driver arguments: the ADU (bytes), the
// send flags, the cached GSO segment count and the peer's largest window
// (bytes; the connection's state, not part of the context).
type TCPDriverArgs struct {
	ADU, Flags, GSOSegs, MaxWindow uint32
}

// tcpPeerWindow is the largest window the mock's peer advertises in a
// test context (by label), 65535 bytes unless the context is about it.
func tcpPeerWindow(label string) uint32 {
	switch label {
	case "tcp-gso-tiny-window":
		return 500
	case "tcp-zero-window":
		return 0
	}
	return 65535
}

// TCPArgs reads a TCP context's driver arguments.
func TCPArgs(c *ctxschema.Context) (TCPDriverArgs, error) {
	a := TCPDriverArgs{MaxWindow: tcpPeerWindow(c.Label)}
	for name, p := range map[string]*uint32{"adu": &a.ADU, "send_flags": &a.Flags, "gso_segs": &a.GSOSegs} {
		v, ok := c.Values[name]
		if !ok {
			return a, fmt.Errorf("context %s: %s is required", c.Label, name)
		}
		*p = uint32(v.Bits)
	}
	return a, nil
}

// TCPHarness compiles the generic TCP path, its mock and driver once, then
// a driver per context (its world, and a residual if any), like Harness
// does for UDP.
type TCPHarness struct {
	H *Harness // toolchain, source and scratch directories, coverage

	once sync.Once
	objs []string
	err  error
}

func (t *TCPHarness) objects(ctx context.Context) ([]string, error) {
	t.once.Do(func() {
		t.objs, t.err = t.H.compile(ctx, TCPGenericSources, []string{"tcp_mock.c", "tcp_driver.c"})
	})
	return t.objs, t.err
}

// Driver links a TCP driver for one context (named name, unique in the
// scratch directory) and returns its path; with r, it runs the residual
// and falls back to the generic path when a guard fails.
func (t *TCPHarness) Driver(ctx context.Context, name string, c *ctxschema.Context, r *Residual) (string, error) {
	objs, err := t.objects(ctx)
	if err != nil {
		return "", err
	}
	h := t.H
	world, err := TCPWorldC(c)
	if err != nil {
		return "", err
	}
	base := filepath.Join(h.Dir, name)
	if err := os.WriteFile(base+"_world.c", world, 0o644); err != nil {
		return "", err
	}
	args := []string{"-O2", "-I" + filepath.Join(h.Src, "mock"), "-o", base + "_driver", base + "_world.c"}
	if r != nil {
		if !entryRE.MatchString(r.Entry) {
			return "", fmt.Errorf("context %s: residual entry %q is not a C identifier", name, r.Entry)
		}
		alias := fmt.Sprintf("\nint specnet_tcp_residual_entry(struct sn_tcp_inst *inst, u8 __user *buf, u32 len, u32 flags)\n"+
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

// TCPRun runs a TCP driver over n inputs and returns its output.
func TCPRun(ctx context.Context, driver string, residual bool, seed uint64, n int, a TCPDriverArgs) ([]byte, error) {
	mode := "generic"
	if residual {
		mode = "residual"
	}
	u := func(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
	cmd := exec.CommandContext(ctx, driver, mode, strconv.FormatUint(seed, 10), strconv.Itoa(n),
		u(a.ADU), u(a.Flags), u(a.GSOSegs), u(a.MaxWindow))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s%s", filepath.Base(driver), mode, err, stderr.String(), tail(out))
	}
	return out, nil
}

// tail is the end of a driver's output, for an error message.
func tail(out []byte) string {
	const n = 2000
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return "\n..." + string(out)
}
