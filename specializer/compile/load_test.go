package compile

import (
	"slices"
	"strings"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/guesttest"
	"specbed/images/specnet"
	"specbed/images/specnet/core"
	"specbed/qemu"
)

// Errno values of finit_module for a module whose signature does not
// verify (i386 and arm alike).
const (
	errnoEBADMSG      = 74
	errnoEKEYREJECTED = 129
)

// TestModuleLoads boots every platform's kernel with the core module, a
// residual module the driver built and the same module with one byte
// flipped: the kernel must refuse the altered one (its signature check)
// and load the built one, whose init registers with the core and prints
// the residual entry's name and its own.
func TestModuleLoads(t *testing.T) {
	b := guesttest.Builder(t)
	for _, platform := range qemu.Names() {
		t.Run(platform, func(t *testing.T) {
			d, u := testDriver(t, platform)
			res := residualOf(t, u, specnet.Contexts()[0])
			m, err := d.Build(t.Context(), res)
			if err != nil {
				t.Fatal(err)
			}
			altered := slices.Clone(m.Ko)
			altered[len(altered)/3] ^= 0x01
			coreFile, err := core.GuestFile(t.Context(), b, d.kernel)
			if err != nil {
				t.Fatal(err)
			}
			g := &guesttest.Guest{B: b, P: d.platform, K: d.kernel}
			initrd := g.Initrd(t, []images.File{
				coreFile,
				{Path: "/lib/modules/altered.ko", Data: altered},
				{Path: "/lib/modules/residual.ko", Data: m.Ko},
			})
			r := g.Boot(t, qemu.Config{
				Boot: qemu.Boot{Kernel: d.kernel.Image, Initrd: initrd},
				Plan: []string{qemu.InsmodStep{Path: core.GuestPath}.String(), "insmod,path=/lib/modules/altered.ko",
					"insmod,path=/lib/modules/residual.ko"},
				Timeout: 2 * time.Minute,
			})
			if r.Steps[0].Insmod == nil || r.Steps[1].Insmod == nil || r.Steps[2].Insmod == nil {
				t.Fatalf("steps %+v, want three insmod results", r.Steps)
			}
			if e := r.Steps[0].Insmod.Errno; e != 0 {
				t.Fatalf("core module: errno %d, want 0", e)
			}
			if e := r.Steps[1].Insmod.Errno; e != errnoEKEYREJECTED && e != errnoEBADMSG {
				t.Errorf("altered module: errno %d, want EKEYREJECTED (%d) or EBADMSG (%d)", e, errnoEKEYREJECTED, errnoEBADMSG)
			}
			if e := r.Steps[2].Insmod.Errno; e != 0 {
				t.Errorf("built module: errno %d, want 0", e)
			}
			t.Logf("altered module refused with errno %d; built module (%d bytes) loaded", r.Steps[1].Insmod.Errno, len(m.Ko))
			if want := "specnet residual " + res.Entry + " loaded as " + m.Name; !strings.Contains(r.Console, want) {
				t.Errorf("console lacks %q:\n%s", want, r.Console)
			}
		})
	}
}
