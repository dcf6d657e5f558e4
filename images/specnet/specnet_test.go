package specnet

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"specbed/specializer"
	"specbed/specializer/ctxschema"
)

// inputsPerContext is how many random dynamic inputs every context gets.
const inputsPerContext = 500

// runSeed seeds the inputs and the tape of every run.
const runSeed = 20040601

func needToolchain(t testing.TB) Toolchain {
	tc := DefaultToolchain()
	for _, p := range []string{tc.CC, tc.Gcov, tc.NM, tc.Size} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s not found (Debian package gcc-i686-linux-gnu): %v", p, err)
		}
	}
	return tc
}

func loadContext(t testing.TB, c Context) *ctxschema.Context {
	ctx, err := ctxschema.Load(c.JSON)
	if err != nil {
		t.Fatalf("context %s: %v", c.Name, err)
	}
	return ctx
}

// forEachContext runs f on every context, two at a time (the machine has
// two cores), and reports each context's failure under its name.
func forEachContext(t *testing.T, f func(t *testing.T, c Context, spec contextSpec)) {
	specs := map[string]contextSpec{}
	for _, s := range contextSpecs {
		specs[s.name] = s
	}
	for _, c := range Contexts() {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			f(t, c, specs[c.Name])
		})
	}
}

func TestContextsLoad(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Contexts() {
		if seen[c.Name] {
			t.Errorf("context %s twice", c.Name)
		}
		seen[c.Name] = true
		ctx := loadContext(t, c)
		if _, err := WorldC(ctx); err != nil {
			t.Errorf("context %s: %v", c.Name, err)
		}
	}
	if len(seen) < 20 {
		t.Errorf("%d contexts, want at least 20", len(seen))
	}
}

// TestGenericPackets runs the generic path alone over every context and
// checks what reaches the device: IPv4 headers and their checksums,
// lengths, fragment geometry, UDP length and checksum after reassembly,
// the payload, and that no skb leaks. Error contexts must fail with their
// error. The generic path is the coverage build: afterwards gcov shows
// which branches the context set took both ways.
func TestGenericPackets(t *testing.T) {
	tc := needToolchain(t)
	h := &Harness{Src: ".", Dir: t.TempDir(), TC: tc, Coverage: true}

	var mu sync.Mutex
	var packets, datagrams, fragmented int
	t.Run("contexts", func(t *testing.T) {
		forEachContext(t, func(t *testing.T, c Context, spec contextSpec) {
			ctx := t.Context()
			cx := loadContext(t, c)
			adu, flags, err := DriverArgs(cx)
			if err != nil {
				t.Fatal(err)
			}
			bin, err := h.Driver(ctx, c.Name, cx, nil)
			if err != nil {
				t.Fatal(err)
			}
			log, err := Run(ctx, bin, RunConfig{Seed: runSeed, Inputs: inputsPerContext, ADU: adu, Flags: flags})
			if err != nil {
				t.Fatal(err)
			}
			st := checkSends(t, log, cx, spec, adu, flags)
			mu.Lock()
			packets += st.packets
			datagrams += st.datagrams
			fragmented += st.fragmented
			mu.Unlock()
		})
	})
	t.Logf("%d contexts x %d inputs: %d packets, %d datagrams (%d fragmented) checked",
		len(contextSpecs), inputsPerContext, packets, datagrams, fragmented)
	if t.Failed() {
		return
	}
	lines, err := h.BranchCoverage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	u := loadUnit(t)
	var outs []*specializer.Output
	for _, c := range Contexts() {
		out, err := u.Specialize(loadContext(t, c))
		if err != nil {
			t.Fatalf("context %s: %v", c.Name, err)
		}
		outs = append(outs, out)
	}
	static := StaticConditionLines(u, outs)
	both, nstatic, staticBoth := 0, 0, 0
	for _, l := range lines {
		isStatic := static[l.File][l.Line]
		if isStatic {
			nstatic++
		}
		if l.BothWays() {
			both++
			if isStatic {
				staticBoth++
			}
			continue
		}
		if isStatic {
			// No excuse: a rendered kernel branch on a static value is reachable, so
			// some context takes it.
			t.Errorf("static branch not taken both ways across the context set: %s: %s", l, strings.TrimSpace(sourceLine(t, l)))
			continue
		}
		if why := oneWayReason(t, l); why != "" {
			t.Logf("one way, expected (%s): dynamic condition %s", why, l)
			continue
		}
		t.Logf("one way, on a dynamic condition: %s: %s", l, strings.TrimSpace(sourceLine(t, l)))
	}
	t.Logf("lines with branches: %d, all ways taken on %d; on a static condition: %d, all ways taken on %d",
		len(lines), both, nstatic, staticBoth)
}

// oneWay are the dynamic branches the inputs do not take both ways, and why. A branch on a
// static value is never excused here.
var oneWay = []struct{ file, fn, text, why string }{
	{"udp.c", "sn_udp_send_skb", "if (check == 0)", "dynamic: a UDP checksum of 0 takes one payload in 65535"},
	{"udp.c", "sn_udp_flush_pending_frames", "if (sk->up.pending)", "dynamic: called with frames pending"},
	{"udp.c", "sn_udp_sendmsg", "if (up->pending)", "dynamic: re-checked under the socket lock, a race"},
	{"udp.c", "sn_udp_sendmsg", "if (up->pending != SN_AF_INET)", "dynamic: an IPv4 socket only corks AF_INET frames"},
}

func oneWayReason(t *testing.T, l LineBranches) string {
	text := sourceLine(t, l)
	for _, o := range oneWay {
		if o.file == l.File && o.fn == l.Func && strings.HasPrefix(strings.TrimSpace(text), o.text) {
			return o.why
		}
	}
	return ""
}

func sourceLine(t *testing.T, l LineBranches) string {
	data, err := os.ReadFile(filepath.Join("generic", l.File))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if l.Line < 1 || l.Line > len(lines) {
		t.Fatalf("%s has no line %d", l.File, l.Line)
	}
	return lines[l.Line-1]
}

type sendStats struct{ packets, datagrams, fragmented int }

func checkSends(t *testing.T, log *Log, cx *ctxschema.Context, spec contextSpec, adu, flags uint32) sendStats {
	t.Helper()
	var st sendStats
	corked := flags&msgMore != 0 || cx.Values["sock->sk->up.corkflag"].Bits != 0
	onGuard, failedAsExpected := 0, 0
	for i := range log.Sends {
		s := &log.Sends[i]
		if len(s.Problems) > 0 {
			t.Errorf("send %d (%s): %v", i, s.Input, s.Problems)
		}
		dgs, err := s.Datagrams()
		if err != nil {
			t.Errorf("send %d (%s): %v", i, s.Input, err)
			continue
		}
		pkts, _ := s.Packets()
		st.packets += len(pkts)
		st.datagrams += len(dgs)
		guard := s.Len == adu && s.Flags == flags && s.FD == int(cx.Values["fd"].Bits)
		if guard {
			onGuard++
		}
		if spec.errno != 0 {
			if guard && s.Ret == -spec.errno {
				failedAsExpected++
			}
			if guard && s.Ret >= 0 {
				t.Errorf("send %d (%s): returned %d, want -%d", i, s.Input, s.Ret, spec.errno)
			}
		}
		if (spec.silent || spec.errno != 0) && guard && len(dgs) > 0 {
			t.Errorf("send %d (%s): %d datagrams from a context that sends none", i, s.Input, len(dgs))
		}
		if s.Ret >= 0 && s.Ret != int(s.Len) {
			t.Errorf("send %d (%s): returned %d, not the length", i, s.Input, s.Ret)
		}
		for _, d := range dgs {
			if d.Fragments > 1 {
				st.fragmented++
			}
			// A datagram of another length carries data an earlier
			// (off-guard, MSG_MORE) send corked.
			if !corked && guard && s.Avail == s.Len && len(d.Payload) == int(s.Len) &&
				PayloadHash(d.Payload) != s.Payload {
				t.Errorf("send %d (%s): datagram payload differs from the user's", i, s.Input)
			}
		}
	}
	if spec.errno != 0 && failedAsExpected < onGuard*9/10 {
		t.Errorf("%d of %d on-guard sends failed with -%d", failedAsExpected, onGuard, spec.errno)
	}
	if spec.errno == 0 && !spec.silent && st.datagrams == 0 {
		t.Errorf("no datagram left in %d sends", len(log.Sends))
	}
	return st
}

func TestMain(m *testing.M) {
	// The harness compiles with the cross compiler from this directory.
	if _, err := os.Stat(filepath.Join("generic", "udp.decl")); err != nil {
		fmt.Fprintln(os.Stderr, "specnet tests run from images/specnet:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// loadUnit loads the declarations and the generic path into the
// specializer (parse, resolve, binding-time analysis).
func loadUnit(t testing.TB) *specializer.Unit {
	u, err := specializer.Load(filepath.Join("generic", "udp.decl"))
	if err != nil {
		t.Fatalf("specializer: %v", err)
	}
	return u
}

// TestDifferential is the judge of the generic path and the specializer:
// for every context the residual, compiled with the guests' compiler
// against the mock, must make the same effectful shim calls with the same
// arguments, hand the same bytes to the device and return the same value
// as the generic path, over the same random inputs (payloads, lengths on
// and off the ADU guard, flags on and off the send flags, short user
// buffers, another descriptor); off-guard inputs must fall back without
// an effect.
func TestDifferential(t *testing.T) {
	tc := needToolchain(t)
	u := loadUnit(t)
	h := &Harness{Src: ".", Dir: t.TempDir(), TC: tc}
	var mu sync.Mutex
	sends, fallbacks := 0, 0
	t.Run("contexts", func(t *testing.T) {
		forEachContext(t, func(t *testing.T, c Context, spec contextSpec) {
			ctx := t.Context()
			cx := loadContext(t, c)
			adu, flags, err := DriverArgs(cx)
			if err != nil {
				t.Fatal(err)
			}
			out, err := u.Specialize(cx)
			if err != nil {
				t.Fatalf("specialize: %v", err)
			}
			// One driver holds both: the generic run and the residual run.
			bin, err := h.Driver(ctx, c.Name, cx, &Residual{C: out.C, Entry: out.Entry})
			if err != nil {
				t.Fatal(err)
			}
			rc := RunConfig{Seed: runSeed, Inputs: inputsPerContext, ADU: adu, Flags: flags}
			want, err := Run(ctx, bin, rc)
			if err != nil {
				t.Fatal(err)
			}
			rc.Residual = true
			got, err := Run(ctx, bin, rc)
			if err != nil {
				t.Fatal(err)
			}
			if d := Diff(want, got); d != "" {
				t.Fatalf("residual differs from the generic path:\n%s", d)
			}
			corking := flags&msgMore != 0 || cx.Values["sock->sk->up.corkflag"].Bits != 0
			n := 0
			for _, s := range got.Sends {
				// udp.decl's guards
				guard := s.Len == adu && s.Flags == flags && (corking || s.Pending == 0)
				if s.FD == int(cx.Values["fd"].Bits) && s.Fallback == guard {
					t.Errorf("send %d (%s): fallback %v with the guard %v", s.Index, s.Input, s.Fallback, guard)
				}
				if s.Fallback {
					n++
				}
			}
			mu.Lock()
			sends += len(got.Sends)
			fallbacks += n
			mu.Unlock()
		})
	})
	t.Logf("%d contexts, %d sends compared (%d fell back to the generic path)", len(contextSpecs), sends, fallbacks)
}
