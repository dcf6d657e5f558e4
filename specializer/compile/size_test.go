package compile

import (
	"testing"

	"specbed/images/specnet"
	"specbed/qemu"
)

// maxShippedRatio is the size bound: the residual's code is at
// most a twentieth of the kernel functions it replaces.
const maxShippedRatio = 1.0 / 20

// TestShippedSizeRatio holds the residual as it ships (the module this
// driver builds: SPECNET_RESIDUAL, the shim's inline effects, the
// platform's compiler and flags) to its size bound on every platform:
// the .text (bytes) of the typical context's module against the sizes
// (bytes, nm -S) of the kernel functions it replaces in the platform's
// vmlinux. UDP's typical residual against specnet.KernelSendPath, within
// maxShippedRatio; TCP's against specnet.KernelTCPSendPath, within
// specnet.TCPMaxKernelRatio. specnet's TestSizeRatio and TestTCPSizeRatio
// compile the residuals without the kernel's headers, so the inline
// effects are not in their figures.
func TestShippedSizeRatio(t *testing.T) {
	for _, tc := range []struct {
		proto, decl, context string
		kernelPath           []string
		maxRatio             float64
	}{
		{"udp", "udp.decl", "typical", specnet.KernelSendPath, maxShippedRatio},
		{"tcp", "tcp.decl", "tcp-typical", specnet.KernelTCPSendPath, specnet.TCPMaxKernelRatio},
	} {
		typical, ok := specnet.ContextNamed(tc.context)
		if !ok {
			t.Fatalf("specnet has no context %s", tc.context)
		}
		for _, platform := range qemu.Names() {
			t.Run(tc.proto+"/"+platform, func(t *testing.T) {
				d, _ := testDriver(t, platform)
				m, err := d.Build(t.Context(), residualOf(t, unitOf(t, d, tc.decl), typical))
				if err != nil {
					t.Fatal(err)
				}
				text, err := specnet.ObjectText(m.Ko)
				if err != nil {
					t.Fatal(err)
				}
				nm := specnet.Toolchain{NM: d.platform.Kernel.CrossCompile + "nm"}
				sizes, err := nm.KernelSizes(t.Context(), d.Kernel().Vmlinux, tc.kernelPath)
				if err != nil {
					t.Fatal(err)
				}
				kernel := specnet.TotalBytes(sizes)
				ratio := float64(text) / float64(kernel)
				t.Logf("shipped %s residual %d bytes of .text, kernel send path %d bytes: %.1f%% (1/%.1f)", tc.context, text, kernel, 100*ratio, 1/ratio)
				if ratio > tc.maxRatio {
					t.Errorf("shipped %s residual is %.3f of the kernel's send path, want at most %.3f", tc.context, ratio, tc.maxRatio)
				}
			})
		}
	}
}
