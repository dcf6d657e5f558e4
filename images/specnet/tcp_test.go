package specnet

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"specbed/images"
	"specbed/qemu"
	"specbed/specializer"
	"specbed/specializer/ctxschema"
)

// tcpInputsPerContext is how many random sends every TCP context gets.
const tcpInputsPerContext = 400

// tcpSeed is a context's seed: the peer's moves (the tape) differ from
// one context to the next, so rare events land on different sends.
func tcpSeed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return runSeed ^ h.Sum64()
}

func loadTCPUnit(t testing.TB) *specializer.Unit {
	u, err := specializer.Load(filepath.Join("generic", "tcp.decl"))
	if err != nil {
		t.Fatalf("specializer: %v", err)
	}
	return u
}

// forEachTCPContext runs f on every TCP context, two at a time.
func forEachTCPContext(t *testing.T, f func(t *testing.T, c Context, spec contextSpec, cx *ctxschema.Context, a TCPDriverArgs)) {
	specs := map[string]contextSpec{}
	for _, s := range tcpContextSpecs {
		specs[s.name] = s
	}
	for _, c := range TCPContexts() {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			cx := loadContext(t, c)
			a, err := TCPArgs(cx)
			if err != nil {
				t.Fatal(err)
			}
			f(t, c, specs[c.Name], cx, a)
		})
	}
}

// tcpSend is one input of a TCP driver's output.
type tcpSend struct {
	index    int
	input    map[string]uint64 // the I line's fields
	effects  []string          // E lines
	fallback bool
	ret      int
	bad      []string
}

func parseTCPLog(out []byte) ([]tcpSend, error) {
	var sends []tcpSend
	for n, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if strings.HasPrefix(line, "I ") {
			f := strings.Fields(line)
			s := tcpSend{input: map[string]uint64{}}
			var err error
			if s.index, err = strconv.Atoi(f[1]); err != nil {
				return nil, fmt.Errorf("line %d: %q: %w", n+1, line, err)
			}
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				if s.input[k], err = strconv.ParseUint(v, 0, 64); err != nil {
					return nil, fmt.Errorf("line %d: %q: %w", n+1, line, err)
				}
			}
			sends = append(sends, s)
			continue
		}
		if len(sends) == 0 {
			return nil, fmt.Errorf("line %d before the first input: %q", n+1, line)
		}
		s := &sends[len(sends)-1]
		switch {
		case strings.HasPrefix(line, "E "):
			s.effects = append(s.effects, line)
		case line == "F":
			s.fallback = true
		case strings.HasPrefix(line, "R "):
			v, err := strconv.Atoi(line[2:])
			if err != nil {
				return nil, fmt.Errorf("line %d: %q: %w", n+1, line, err)
			}
			s.ret = v
		case strings.HasPrefix(line, "BAD"):
			s.bad = append(s.bad, line)
		case strings.HasPrefix(line, "S "):
		default:
			return nil, fmt.Errorf("line %d: unexpected %q", n+1, line)
		}
	}
	return sends, nil
}

// tcpGuard is tcp.decl's guards on one input.
func tcpGuard(in map[string]uint64, a TCPDriverArgs) bool {
	return in["len"] == uint64(a.ADU) && in["flags"] == uint64(a.Flags) && in["state"] == tcpEstablished &&
		in["sacks"] == 0 && in["dsack"] == 0 && in["eor"] == 1 && in["push"] == 0 &&
		in["gso_segs"] == uint64(a.GSOSegs)
}

func TestTCPContextsLoad(t *testing.T) {
	u := loadTCPUnit(t)
	seen := map[string]bool{}
	for _, c := range TCPContexts() {
		if seen[c.Name] {
			t.Errorf("context %s twice", c.Name)
		}
		seen[c.Name] = true
		cx := loadContext(t, c)
		if _, err := TCPWorldC(cx); err != nil {
			t.Errorf("context %s: %v", c.Name, err)
		}
		if _, err := u.Specialize(cx); err != nil {
			t.Errorf("context %s: %v", c.Name, err)
		}
	}
}

// TestTCPDifferential is the judge of the generic TCP path and its
// specialization: for every context the residual, compiled with the
// guests' compiler against the mock, must make the same effectful shim
// calls with the same arguments and return the same values as the
// generic path over the same random sends (lengths on and off the ADU,
// other flags, short user buffers, a peer that acknowledges, sends SACK
// blocks, shrinks its window, resets), fall back exactly when one of
// tcp.decl's guards fails, and fall back without an effect. The mock
// checks both runs: the view agrees with the socket, and the bytes queued
// are the user's, in order.
func TestTCPDifferential(t *testing.T) {
	tc := needToolchain(t)
	u := loadTCPUnit(t)
	th := &TCPHarness{H: &Harness{Src: ".", Dir: t.TempDir(), TC: tc}}
	var mu sync.Mutex
	sends, fallbacks := 0, 0
	t.Run("contexts", func(t *testing.T) {
		forEachTCPContext(t, func(t *testing.T, c Context, spec contextSpec, cx *ctxschema.Context, a TCPDriverArgs) {
			ctx := t.Context()
			out, err := u.Specialize(cx)
			if err != nil {
				t.Fatalf("specialize: %v", err)
			}
			bin, err := th.Driver(ctx, c.Name, cx, &Residual{C: out.C, Entry: out.Entry})
			if err != nil {
				t.Fatal(err)
			}
			wantOut, err := TCPRun(ctx, bin, false, tcpSeed(c.Name), tcpInputsPerContext, a)
			if err != nil {
				t.Fatal(err)
			}
			gotOut, err := TCPRun(ctx, bin, true, tcpSeed(c.Name), tcpInputsPerContext, a)
			if err != nil {
				t.Fatal(err)
			}
			want, err := parseTCPLog(wantOut)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseTCPLog(gotOut)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != len(got) {
				t.Fatalf("%d sends in the generic run, %d in the residual run", len(want), len(got))
			}
			n, onGuard, failed := 0, 0, 0
			for i := range got {
				w, g := &want[i], &got[i]
				for _, b := range append(w.bad, g.bad...) {
					t.Errorf("send %d: %s", i, b)
				}
				if d := diffEffects(w.effects, g.effects); d != "" || w.ret != g.ret {
					t.Fatalf("send %d %v: residual differs from the generic path (returns %d, %d):\n%s", i, g.input, w.ret, g.ret, d)
				}
				guard := tcpGuard(g.input, a)
				if g.fallback == guard {
					t.Errorf("send %d %v: fallback %v with the guard %v", i, g.input, g.fallback, guard)
				}
				if g.fallback {
					n++
				}
				if guard {
					onGuard++
					if spec.errno != 0 && g.ret == -spec.errno {
						failed++
					}
				}
			}
			// An error context queues nothing, so a push bit the peer's
			// setsockopt left is never cleared and its guard fails for good.
			if spec.errno == 0 && onGuard < len(got)/4 {
				t.Errorf("only %d of %d sends passed the guards: the residual ran too little", onGuard, len(got))
			}
			if spec.errno != 0 && failed != onGuard {
				t.Errorf("%d of %d on-guard sends failed with -%d", failed, onGuard, spec.errno)
			}
			mu.Lock()
			sends += len(got)
			fallbacks += n
			mu.Unlock()
		})
	})
	t.Logf("%d TCP contexts, %d sends compared (%d fell back to the generic path)", len(tcpContextSpecs), sends, fallbacks)
}

// diffEffects shows where two effect lists part.
func diffEffects(want, got []string) string {
	for i := 0; i < len(want) || i < len(got); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			return fmt.Sprintf("effect %d:\n  generic:  %s\n  residual: %s", i, w, g)
		}
	}
	return ""
}

// tcpOneWay are the branches of the generic TCP path the context set and the random sends
// do not take both ways, and why.
var tcpOneWay = []struct{ fn, text, why string }{
	{"sn_tcp_established_options", "if (remaining < SN_TCPOLEN_SACK_BASE_ALIGNED +",
		"unreachable without TCP-MD5 or MPTCP options: timestamps leave 28 bytes, room for three SACK blocks"},
	{"sn_tcp_send_segments", "if (skb->len < s->size_goal || (s->flags & SN_MSG_OOB))",
		"the kernel's test for a copy the page fragment cut short: sn_tcp_copy_to_skb finishes such a copy first " +
			"(its loop is the kernel's continue), so a full skb, or the last, reaches the test"},
	{"sn_tcp_push_one", "if (st == SN_XMIT_KERNEL) {",
		"unreachable: tcp_xmit.c renders tcp_push_one only without GSO, where the size goal is the MSS, " +
			"so the tail skb it pushes holds at most one MSS"},
	{"sn_tcp_write_xmit", "if (*rest && !sent_pkts)",
		"an skb of several segments behind skbs of one needs the MSS to shrink while skbs of the larger MSS wait; " +
			"the mock's PMTU change comes at a connection's first send, with the queue empty"},
}

// TestTCPGenericCoverage runs the generic TCP path alone over every
// context (gcov build), checks what the mock found (the view against the
// socket, the bytes queued against the user's) and the error contexts'
// errors, then that every branch on a static value of tcp.c went both ways
// across the context set; dynamic branches that did not are listed.
func TestTCPGenericCoverage(t *testing.T) {
	tc := needToolchain(t)
	h := &Harness{Src: ".", Dir: t.TempDir(), TC: tc, Coverage: true}
	th := &TCPHarness{H: h}
	t.Run("contexts", func(t *testing.T) {
		forEachTCPContext(t, func(t *testing.T, c Context, spec contextSpec, cx *ctxschema.Context, a TCPDriverArgs) {
			bin, err := th.Driver(t.Context(), c.Name, cx, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := TCPRun(t.Context(), bin, false, tcpSeed(c.Name), tcpInputsPerContext, a)
			if err != nil {
				t.Fatal(err)
			}
			sends, err := parseTCPLog(out)
			if err != nil {
				t.Fatal(err)
			}
			ok := 0
			for i, s := range sends {
				for _, b := range s.bad {
					t.Errorf("send %d %v: %s", i, s.input, b)
				}
				if !tcpGuard(s.input, a) {
					continue
				}
				switch {
				case spec.errno != 0 && s.ret != -spec.errno:
					t.Errorf("send %d: returned %d, want -%d", i, s.ret, spec.errno)
				case spec.errno == 0 && s.ret == int(a.ADU):
					ok++
				}
			}
			if spec.errno == 0 && ok == 0 {
				t.Errorf("no on-guard send of %d queued the whole ADU", len(sends))
			}
		})
	})
	if t.Failed() {
		return
	}
	lines, err := h.branchCoverage(t.Context(), TCPGenericSources)
	if err != nil {
		t.Fatal(err)
	}
	u := loadTCPUnit(t)
	var outs []*specializer.Output
	for _, c := range TCPContexts() {
		out, err := u.Specialize(loadContext(t, c))
		if err != nil {
			t.Fatalf("context %s: %v", c.Name, err)
		}
		outs = append(outs, out)
	}
	static := StaticConditionLines(u, outs)
	both, nstatic, staticBoth := 0, 0, 0
	for _, l := range lines {
		if !slices.Contains(TCPGenericSources, l.File) {
			continue
		}
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
		text := strings.TrimSpace(sourceLine(t, l))
		why := ""
		for _, o := range tcpOneWay {
			if o.fn == l.Func && strings.HasPrefix(text, o.text) {
				why = o.why
			}
		}
		switch {
		case why != "":
			t.Logf("one way, expected (%s): %s", why, l)
		case isStatic:
			t.Errorf("static branch not taken both ways across the context set: %s: %s", l, text)
		default:
			t.Logf("one way, on a dynamic condition: %s: %s", l, text)
		}
	}
	t.Logf("TCP generic lines with branches: %d, all ways taken on %d; on a static condition: %d, all ways taken on %d",
		len(lines), both, nstatic, staticBoth)
}

// tcpKernelExports are the kernel functions tcp_shim_kernel.c calls that
// Linux 6.1 does not export.
var tcpKernelExports = []string{"tcp_stream_alloc_skb", "tcp_skb_entail", "sk_forced_mem_schedule",
	"__tcp_push_pending_frames", "tcp_push_one", "tcp_chrono_stop",
	// the transmit engine's steps (tcp_xmit.c, patch 0008)
	"tcp_mstamp_refresh", "tcp_small_queue_check", "__tcp_transmit_skb", "tcp_event_new_data_sent",
	"tcp_cwnd_validate", "tcp_schedule_loss_probe", "tcp_chrono_start",
	// __tcp_transmit_skb's steps (tcp_xmit.c renders its fast case, patch 0008)
	"tcp_select_window", "tcp_event_ack_sent", "tcp_event_data_sent", "tcp_update_skb_after_send",
	"tcp_rate_skb_sent"}

// TestTCPGenericBuildsAsKernelModule builds the generic TCP path with its
// kernel shim (tcp_shim_kernel.c) and the typical context's residual as an
// out-of-tree module of the cached i486 kernel, as
// TestGenericBuildsAsKernelModule does for UDP: the same
// sources compile on the real kernel functions and modpost finds every
// kernel symbol they use exported. Linux 6.1 does not export eighteen of
// them (tcp_shim_kernel.c, top): the specbed kernel must.
func TestTCPGenericBuildsAsKernelModule(t *testing.T) {
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	p, err := qemu.Lookup("i486")
	if err != nil {
		t.Fatal(err)
	}
	k, err := b.CachedKernel(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	// What the shim needs exported beyond Linux 6.1 (tcp_shim_kernel.c):
	// name them, rather than leave the reader a modpost log.
	symvers, err := os.ReadFile(filepath.Join(k.BuildDir, "Module.symvers"))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, sym := range tcpKernelExports {
		if !strings.Contains(string(symvers), "\t"+sym+"\t") {
			missing = append(missing, sym)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("kernel %s does not export %v: images/kernel/patches must (EXPORT_SYMBOL_GPL in net/ipv4/tcp.c and tcp_output.c)", k.Key[:16], missing)
	}
	src := filepath.Join(t.TempDir(), "specnet_tcp")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("generic", "*.[ch]"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("testdata", "tcpkmod", "mod.c"), filepath.Join("testdata", "tcpkmod", "Kbuild"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A residual compiles for the kernel too, against the same headers.
	for _, c := range TCPContexts() {
		if c.Name != tcpSizeContext {
			continue
		}
		out, err := loadTCPUnit(t).Specialize(loadContext(t, c))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, "residual.c"), out.C, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ko, err := b.UnsignedModule(t.Context(), k, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s", ko)
}

// TestTCPDifferentialCatchesMutants is the judge's negative control: a
// residual with one change the specializer could get wrong (a push left
// out, a guard dropped, a static value off by one) must differ from the
// generic path over the same sends.
func TestTCPDifferentialCatchesMutants(t *testing.T) {
	tc := needToolchain(t)
	u := loadTCPUnit(t)
	th := &TCPHarness{H: &Harness{Src: ".", Dir: t.TempDir(), TC: tc}}
	var c Context
	for _, x := range TCPContexts() {
		if x.Name == "tcp-typical" {
			c = x
		}
	}
	cx := loadContext(t, c)
	a, err := TCPArgs(cx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := u.Specialize(cx)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range []struct{ name, from, to string }{
		{"no push_one", out.Entry + "_sn_tcp_push_one(inst, 1448U, &s.tail);", ";"}, // tcp.decl outlines it
		{"no SACK guard", "if (!(inst->tp->num_sacks == 0)) {", "if (0) {"},
		{"MSS off by one", "sn_tcp_copy_to_skb(inst->tp, s.iov_base, &cur, 1448,", "sn_tcp_copy_to_skb(inst->tp, s.iov_base, &cur, 1447,"},
		// the rendered __tcp_transmit_skb (tcp_xmit.c): timestamps make a 32-byte header
		{"header doff 7", "rcv_nxt, 32768U | skb_", "rcv_nxt, 28672U | skb_"},
	} {
		src := string(out.C)
		if strings.Count(src, m.from) < 1 {
			t.Fatalf("%s: the residual has no %q", m.name, m.from)
		}
		mutant := strings.Replace(src, m.from, m.to, 1)
		bin, err := th.Driver(t.Context(), "mutant"+strconv.Itoa(i), cx, &Residual{C: []byte(mutant), Entry: out.Entry})
		if err != nil {
			t.Fatal(err)
		}
		want, err := TCPRun(t.Context(), bin, false, tcpSeed(c.Name), tcpInputsPerContext, a)
		if err != nil {
			t.Fatal(err)
		}
		got, err := TCPRun(t.Context(), bin, true, tcpSeed(c.Name), tcpInputsPerContext, a)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := parseTCPLog(want)
		if err != nil {
			t.Fatal(err)
		}
		gs, err := parseTCPLog(got)
		if err != nil {
			t.Fatal(err)
		}
		caught := len(ws) != len(gs)
		for i := 0; !caught && i < len(gs); i++ {
			caught = diffEffects(ws[i].effects, gs[i].effects) != "" || ws[i].ret != gs[i].ret ||
				len(gs[i].bad) > 0 || gs[i].fallback == tcpGuard(gs[i].input, a)
		}
		if !caught {
			t.Errorf("mutant %q passed the differential test", m.name)
		}
	}
}
