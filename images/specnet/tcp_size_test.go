package specnet

import (
	"context"
	"strings"
	"testing"

	"specbed/images"
	"specbed/results"
)

// tcpSizeContext is the context the TCP size figures are for: two MSS per
// send on a socket without GSO.
const tcpSizeContext = "tcp-typical"

// tcpPaperRatio is the target for TCP: the residual's code at most
// a thirtieth of the kernel functions it replaces (the paper's TCP
// residual was under 3% of the original). This rendering does not reach
// it (images/specnet/README.md, "TCP"): every kernel effect is a call of
// its own, a guard costs a compare and a branch, and each unrolled skb
// keeps its allocation, entail, copy call and push decision (the transmit
// engine behind the push is one outlined copy: tcp.decl).
const tcpPaperRatio = 1.0 / 30

// TestTCPSizeRatio measures the TCP residual against the kernel functions
// it replaces and against the compiled generic path.
func TestTCPSizeRatio(t *testing.T) {
	r := measureSizes(t, t.Context(), tcpSized, map[string]bool{tcpSizeContext: true, "tcp-one-mss": true, "tcp-8mss": true})
	t.Logf("TCP residual %d bytes (one MSS %d, eight %d), kernel TCP send functions %d bytes (%d functions), generic %d bytes: 1/%.1f of the kernel's, 1/%.1f of the generic",
		r.ResidualBytes, r.PerContext["tcp-one-mss"], r.PerContext["tcp-8mss"], r.KernelBytes, len(r.KernelFunctions), r.GenericBytes, 1/r.KernelRatio, 1/r.GenericRatio)
	if r.KernelRatio > TCPMaxKernelRatio {
		t.Errorf("TCP residual is %.3f of the kernel functions it replaces, want at most %.3f", r.KernelRatio, TCPMaxKernelRatio)
	}
	if r.KernelRatio > tcpPaperRatio {
		t.Logf("the issue's target, 1/%.0f of the kernel functions, is not met (1/%.1f)", 1/tcpPaperRatio, 1/r.KernelRatio)
	}
}

// BenchmarkTCPResidualSize writes the TCP sizes of every context to
// out/bench/tcp-size.json.
func BenchmarkTCPResidualSize(b *testing.B) {
	all := map[string]bool{}
	for _, c := range TCPContexts() {
		all[c.Name] = true
	}
	var r *SizeReport
	for i := 0; i < b.N; i++ {
		r = measureSizes(b, context.Background(), tcpSized, all)
	}
	b.ReportMetric(float64(r.ResidualBytes), "residual-bytes")
	b.ReportMetric(float64(r.KernelBytes), "kernel-bytes")
	b.ReportMetric(float64(r.GenericBytes), "generic-bytes")
	b.ReportMetric(r.KernelRatio, "residual/kernel")
	repo, err := images.FindRepo()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := results.WriteBench(repo, "tcp-size.json", r); err != nil {
		b.Fatal(err)
	}
}

// TestTCPEngineOutlined checks what keeps the residual's size independent
// of the number of push sites: in every TCP context the per-segment
// transmit (the one call of the kernel's __tcp_transmit_skb) is in one
// outlined copy at most (tcp.decl "outline"), and the eight-MSS residual,
// with a push site per skb, has it exactly once.
func TestTCPEngineOutlined(t *testing.T) {
	u := loadTCPUnit(t)
	for _, c := range TCPContexts() {
		out, err := u.Specialize(loadContext(t, c))
		if err != nil {
			t.Fatalf("context %s: %v", c.Name, err)
		}
		n := strings.Count(string(out.C), "shim_tcp_transmit_skb(")
		if n > 1 || c.Name == "tcp-8mss" && (n != 1 || len(out.Residual.Outlined) < 2) {
			t.Errorf("context %s: %d calls of the kernel's transmit and %d outlined functions in the residual, want one copy of the engine", c.Name, n, len(out.Residual.Outlined))
		}
	}
}
