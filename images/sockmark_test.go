package images

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"specbed/qemu"
)

// sockmarkVerdict is the prefix of the line images/modules/sockmark
// prints when its init has run every check.
const sockmarkVerdict = "specbed_sockmark: "

// TestSockmarkModule boots every platform's kernel with
// images/modules/sockmark, the self-test of the specialized-socket patches
// (images/kernel/patches): while a UDP or TCP socket carries the mark,
// setsockopt fails with EBUSY at the socket, IP, UDP and TCP levels (4 UDP
// and 3 TCP options), and works before and after; SO_ADU stores the
// committed size (1472 bytes) and refuses sizes out of range; the close
// notifier runs once per descriptor closed through filp_close (2 for a
// file with a dup), before the descriptor's reference goes, never for an
// unmarked socket or after unregistering; an IP ID reserved through the
// exported generator (ip_idents_hash, ip_idents_reserve) is followed by
// the kernel's own (step 1); customized_send refuses a second owner
// (EBUSY, 16).
func TestSockmarkModule(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: boots real kernels")
	}
	b := testBuilder(t)
	src := filepath.Join(b.Repo, "images", "modules", "sockmark")
	const want = sockmarkVerdict + "pass setsockopt_busy=7 adu=1472 close_calls=2 ip_id_step=1 second_owner_errno=16"
	for _, p := range qemu.All() {
		t.Run(p.Name, func(t *testing.T) {
			ctx := t.Context()
			k, err := b.Kernel(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			ko, err := b.Module(ctx, k, src)
			if err != nil {
				t.Fatal(err)
			}
			const guestPath = "/lib/modules/sockmark.ko"
			initrd, err := b.Initramfs(ctx, p, []File{{Path: guestPath, Source: ko}})
			if err != nil {
				t.Fatal(err)
			}
			in, err := qemu.Start(ctx, qemu.Config{
				Platform: p,
				Boot:     qemu.Boot{Kernel: k.Image, Initrd: initrd},
				Plan:     []string{qemu.InsmodStep{Path: guestPath}.String()},
				RunRoot:  t.TempDir(),
				KeepLog:  true,
				Timeout:  2 * time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			res, waitErr := in.Wait()
			console, err := os.ReadFile(in.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			if waitErr != nil {
				t.Fatalf("%v\nconsole:\n%s", waitErr, console)
			}
			if len(res.Steps) != 1 || res.Steps[0].Insmod == nil {
				t.Fatalf("steps %+v, want one insmod result", res.Steps)
			}
			if errno := res.Steps[0].Insmod.Errno; errno != 0 {
				t.Errorf("insmod: errno %d, want 0", errno)
			}
			if got := verdictLine(string(console)); got != want {
				t.Errorf("verdict %q, want %q\nconsole:\n%s", got, want, console)
			}
		})
	}
}

// verdictLine returns the sockmark module's line from a console log
// (without what the console put before it), or "" when it printed none.
func verdictLine(console string) string {
	for line := range strings.Lines(console) {
		if i := strings.Index(line, sockmarkVerdict); i >= 0 {
			return strings.TrimRight(line[i:], "\r\n")
		}
	}
	return ""
}
