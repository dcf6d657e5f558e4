package specnet

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"specbed/images"
	"specbed/qemu"
	"specbed/results"
	"specbed/specializer"
)

// sizeContext is the context the size figures are for: the typical
// customized send (sendto() of a fixed ADU over a cached Ethernet header,
// checksum offloaded).
const sizeContext = "typical"

// maxKernelRatio is the bound: the residual's code is at most a
// twentieth of the kernel functions it replaces.
const maxKernelRatio = 1.0 / 20

// i486Vmlinux returns the cached i486 kernel's vmlinux ('make test' builds
// it before the tests run).
func i486Vmlinux(t testing.TB, ctx context.Context) string {
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	p, err := qemu.Lookup("i486")
	if err != nil {
		t.Fatal(err)
	}
	k, err := b.CachedKernel(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return k.Vmlinux
}

// sizedPath is what measureSizes needs of a send path: the kernel
// functions its residual replaces, its generic sources, its declaration's
// unit, its contexts and the context the report is for.
type sizedPath struct {
	kernelFunctions []string
	genericSources  []string
	unit            func(testing.TB) *specializer.Unit
	contexts        func() []Context
	reportContext   string
}

var (
	udpSized = sizedPath{KernelSendPath, GenericSources, loadUnit, Contexts, sizeContext}
	tcpSized = sizedPath{KernelTCPSendPath, TCPGenericSources, loadTCPUnit, TCPContexts, tcpSizeContext}
)

// measureSizes specializes the named contexts of path and compiles each
// residual and the generic path with the kernel's code generation flags;
// the report is for path.reportContext, which must be among them.
func measureSizes(t testing.TB, ctx context.Context, path sizedPath, names map[string]bool) *SizeReport {
	tc := needToolchain(t)
	vmlinux := i486Vmlinux(t, ctx)
	kernel, err := tc.KernelSizes(ctx, vmlinux, path.kernelFunctions)
	if err != nil {
		t.Fatal(err)
	}
	r := &SizeReport{Context: path.reportContext, Vmlinux: vmlinux, KernelFunctions: kernel, KernelBytes: TotalBytes(kernel), PerContext: map[string]int{}}
	dir := t.TempDir()
	gen := make([]string, len(path.genericSources))
	for i, f := range path.genericSources {
		gen[i] = filepath.Join("generic", f)
	}
	if r.GenericBytes, err = tc.TextSize(ctx, dir, nil, gen...); err != nil {
		t.Fatal(err)
	}
	u := path.unit(t)
	generic, err := filepath.Abs("generic")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range path.contexts() {
		if !names[c.Name] {
			continue
		}
		out, err := u.Specialize(loadContext(t, c))
		if err != nil {
			t.Fatalf("context %s: %v", c.Name, err)
		}
		src := filepath.Join(dir, c.Name+"_residual.c")
		if err := os.WriteFile(src, out.C, 0o644); err != nil {
			t.Fatal(err)
		}
		n, err := tc.TextSize(ctx, dir, []string{generic}, src)
		if err != nil {
			t.Fatal(err)
		}
		r.PerContext[c.Name] = n
	}
	r.ResidualBytes = r.PerContext[path.reportContext]
	r.KernelRatio = float64(r.ResidualBytes) / float64(r.KernelBytes)
	r.GenericRatio = float64(r.ResidualBytes) / float64(r.GenericBytes)
	return r
}

// TestSizeRatio checks the size claim on the typical context.
func TestSizeRatio(t *testing.T) {
	r := measureSizes(t, t.Context(), udpSized, map[string]bool{sizeContext: true})
	t.Logf("residual %d bytes, kernel send path %d bytes (%d functions), generic path %d bytes: 1/%.1f of the kernel's, 1/%.1f of the generic",
		r.ResidualBytes, r.KernelBytes, len(r.KernelFunctions), r.GenericBytes, 1/r.KernelRatio, 1/r.GenericRatio)
	if r.KernelRatio > maxKernelRatio {
		t.Errorf("residual is %.3f of the kernel functions it replaces, want at most %.3f", r.KernelRatio, maxKernelRatio)
	}
}

// BenchmarkResidualSize reports the code sizes (bytes of i486 code) of the
// residual UDP send for the typical context, of the kernel functions it
// replaces and of the compiled generic path, and writes them with the
// residual size of every context to out/bench/size.json.
func BenchmarkResidualSize(b *testing.B) {
	all := map[string]bool{}
	for _, c := range Contexts() {
		all[c.Name] = true
	}
	var r *SizeReport
	for i := 0; i < b.N; i++ {
		r = measureSizes(b, context.Background(), udpSized, all)
	}
	b.ReportMetric(float64(r.ResidualBytes), "residual-bytes")
	b.ReportMetric(float64(r.KernelBytes), "kernel-bytes")
	b.ReportMetric(float64(r.GenericBytes), "generic-bytes")
	b.ReportMetric(r.KernelRatio, "residual/kernel")
	b.ReportMetric(r.GenericRatio, "residual/generic")
	repo, err := images.FindRepo()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := results.WriteBench(repo, "size.json", r); err != nil {
		b.Fatal(err)
	}
}
