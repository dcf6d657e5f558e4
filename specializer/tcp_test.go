package specializer_test

import (
	"path/filepath"
	"testing"

	"specbed/images/specnet"
	"specbed/specializer"
	"specbed/specializer/ctxschema"
	"specbed/specializer/spec"
)

func loadTCP(t testing.TB) *specializer.Unit {
	t.Helper()
	u, err := specializer.Load(filepath.Join(genericDir, "tcp.decl"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func tcpContext(t testing.TB, name string) *ctxschema.Context {
	t.Helper()
	for _, c := range specnet.TCPContexts() {
		if c.Name == name {
			ctx, err := ctxschema.Load(c.JSON)
			if err != nil {
				t.Fatal(err)
			}
			return ctx
		}
	}
	t.Fatalf("no TCP context %s", name)
	return nil
}

// The segment loop of the straight path unrolls once per skb: an ADU of k MSS on a socket
// without GSO and with its PMTU settled takes k iterations. The MSS, size goal and options
// are static where the specialization met them, the payload dynamic; every residual reparses
// in the subset. With GSO, or a PMTU change pending (tcp_sync_mss), half the peer's largest
// window bounds the size goal or the MSS; the window is dynamic state (tcp.decl), so the loop
// stays a loop there (iterations 0). The kernel side turns GSO off and customizes a socket
// whose PMTU is settled.
func TestTCPUnroll(t *testing.T) {
	u := loadTCP(t)
	for _, c := range []struct {
		ctx        string
		iterations int // of the unrolled segment loop; 0: not unrolled
	}{
		{"tcp-one-mss", 1}, {"tcp-typical", 2}, {"tcp-8mss", 8}, {"tcp-20mss", 20},
		{"tcp-gso", 0}, {"tcp-no-ts", 2}, {"tcp-pmtu", 0},
	} {
		out, err := u.Specialize(tcpContext(t, c.ctx))
		if err != nil {
			t.Fatalf("%s: %v", c.ctx, err)
		}
		if c.iterations == 0 {
			if out.Stats.LoopsUnrolled != 0 {
				t.Errorf("%s: %d loops unrolled (%d iterations), want none: the peer's window bounds the size goal",
					c.ctx, out.Stats.LoopsUnrolled, out.Stats.Iterations)
			}
			reparse(t, filepath.Join(genericDir), out.C)
			continue
		}
		if out.Stats.LoopsUnrolled != 1 || out.Stats.Iterations != c.iterations {
			t.Errorf("%s: %d loops unrolled, %d iterations; want the segment loop, %d iterations",
				c.ctx, out.Stats.LoopsUnrolled, out.Stats.Iterations, c.iterations)
		}
		for _, k := range []struct {
			fn, name string
			want     spec.Outcome
		}{
			{"sn_tcp_current_mss", "mss_now", spec.WentTrue},
			{"sn_tcp_current_mss", "header_len", spec.WentTrue},
			{"sn_tcp_established_options", "eff_sacks", spec.WentTrue},
			{"sn_tcp_xmit_size_goal", "size_goal", spec.WentTrue},
			{"sn_tcp_sendmsg_locked", "buf", spec.WentFalse},
		} {
			if got := observed(u, out.Residual, k.fn, k.name); got&k.want == 0 {
				t.Errorf("%s: %s in %s observed %d, want %d (1 static, 2 dynamic)", c.ctx, k.name, k.fn, got, k.want)
			}
		}
		reparse(t, filepath.Join(genericDir), out.C)
	}
}

// Specialization of the TCP path for the typical context (two MSS per send), CPU time per
// specialization as for UDP.
func BenchmarkSpecializeTCP(b *testing.B) {
	benchmarkSpecializeTCP(b, "tcp-typical")
}

// The same for twenty MSS per send: twenty unrolled iterations.
func BenchmarkSpecializeTCP20MSS(b *testing.B) {
	benchmarkSpecializeTCP(b, "tcp-20mss")
}

func benchmarkSpecializeTCP(b *testing.B, name string) {
	u := loadTCP(b)
	ctx := tcpContext(b, name)
	var lines int
	start := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := u.Specialize(ctx)
		if err != nil {
			b.Fatal(err)
		}
		lines = out.Lines
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(lines), "residual-lines")
}

// Loading the TCP path: parsing, declarations, binding-time analysis.
func BenchmarkLoadTCP(b *testing.B) {
	for i := 0; i < b.N; i++ {
		loadTCP(b)
	}
}
