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
// platform's compiler and flags) to the size bound on every platform:
// the .text (bytes) of the typical context's module against the sizes
// (bytes, nm -S) of specnet.KernelSendPath in the platform's vmlinux.
// specnet's TestSizeRatio compiles the residual without the kernel's
// headers, so the inline effects are not in its figure.
func TestShippedSizeRatio(t *testing.T) {
	typical, ok := specnet.ContextNamed("typical")
	if !ok {
		t.Fatal("specnet has no typical context")
	}
	for _, platform := range qemu.Names() {
		t.Run(platform, func(t *testing.T) {
			d, u := testDriver(t, platform)
			m, err := d.Build(t.Context(), residualOf(t, u, typical))
			if err != nil {
				t.Fatal(err)
			}
			text, err := specnet.ObjectText(m.Ko)
			if err != nil {
				t.Fatal(err)
			}
			p, err := qemu.Lookup(platform)
			if err != nil {
				t.Fatal(err)
			}
			tc := specnet.Toolchain{NM: p.Kernel.CrossCompile + "nm"}
			sizes, err := tc.KernelSizes(t.Context(), d.Kernel().Vmlinux, specnet.KernelSendPath)
			if err != nil {
				t.Fatal(err)
			}
			kernel := specnet.TotalBytes(sizes)
			ratio := float64(text) / float64(kernel)
			t.Logf("shipped residual %d bytes of .text, kernel send path %d bytes: %.1f%% (1/%.1f)", text, kernel, 100*ratio, 1/ratio)
			if ratio > maxShippedRatio {
				t.Errorf("shipped residual is %.3f of the kernel's send path, want at most %.3f", ratio, maxShippedRatio)
			}
		})
	}
}
