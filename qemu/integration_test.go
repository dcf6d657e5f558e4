package qemu_test

// Integration tests: the real kernels from the cache (make test runs
// 'specbed images build' first; Builder.Kernel builds what is missing),
// booted under the real QEMU with the real guest agent.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"specbed/images"
	"specbed/qemu"
)

// Errno values the guest kernel returns.
const errnoEKEYREJECTED = 129

// sendPlan is the send-cost measurement the tests repeat: sizes in bytes.
var sendPlan = qemu.DummySendPlan([]int{64, 1024}, 1000, 100)

type env struct {
	b *images.Builder

	mu      sync.Mutex
	kernels map[string]*images.Kernel
}

// newEnv returns the image builder of the checkout, or skips under -short.
func newEnv(t testing.TB) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("short mode: boots real kernels")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	return &env{b: b, kernels: map[string]*images.Kernel{}}
}

// kernel returns p's kernel, building it when the cache lacks it.
func (e *env) kernel(t testing.TB, p *qemu.Platform) *images.Kernel {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if k := e.kernels[p.Name]; k != nil {
		return k
	}
	k, err := e.b.Kernel(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	e.kernels[p.Name] = k
	return k
}

// module builds a module source folder for k, signed or not, and returns
// the initramfs file that puts it at guestPath.
func (e *env) module(t *testing.T, k *images.Kernel, src, guestPath string, signed bool) images.File {
	t.Helper()
	build := e.b.Module
	if !signed {
		build = e.b.UnsignedModule
	}
	ko, err := build(context.Background(), k, src)
	if err != nil {
		t.Fatal(err)
	}
	return images.File{Path: guestPath, Source: ko}
}

// config is the configuration that boots p's kernel with the agent, extra
// files in its initramfs and the plan, in count mode, logging into a test
// folder.
func (e *env) config(t testing.TB, p *qemu.Platform, plan []string, extra ...images.File) qemu.Config {
	t.Helper()
	k := e.kernel(t, p)
	cfg := qemu.Config{
		Platform:  p,
		Mode:      qemu.CountMode,
		Boot:      qemu.Boot{Kernel: k.Image},
		Plan:      plan,
		SystemMap: k.SystemMap,
		RunRoot:   t.TempDir(),
		Timeout:   2 * time.Minute,
	}
	initrd, err := e.b.Initramfs(context.Background(), p, extra)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Boot.Initrd = initrd
	return cfg
}

func run(t testing.TB, cfg qemu.Config) (*qemu.Result, error) {
	t.Helper()
	in, err := qemu.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return in.Wait()
}

// logExcerpt prints the console evidence of a guest error.
func logExcerpt(t *testing.T, err error) {
	t.Helper()
	var boot *qemu.BootError
	var crash *qemu.CrashError
	var hang *qemu.HangError
	var agent *qemu.AgentError
	switch {
	case errors.As(err, &crash):
		t.Logf("crash report:\n%s", strings.Join(crash.Report, "\n"))
	case errors.As(err, &boot):
		t.Logf("console tail:\n%s", boot.Excerpt())
	case errors.As(err, &hang):
		t.Logf("console tail:\n%s", hang.Excerpt())
	case errors.As(err, &agent):
		t.Logf("console tail:\n%s", agent.Excerpt())
	}
}

// TestCountModeIsDeterministic boots every platform twice in count mode:
// the instructions per UDP send must be identical, and plausible.
func TestCountModeIsDeterministic(t *testing.T) {
	e := newEnv(t)
	for _, p := range qemu.All() {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			var runs [2]*qemu.Result
			for i := range runs {
				res, err := run(t, e.config(t, p, sendPlan))
				if err != nil {
					logExcerpt(t, err)
					t.Fatalf("boot %d: %v", i+1, err)
				}
				runs[i] = res
			}
			for i, want := range []int{64, 1024} {
				var insns [2]float64
				for r, res := range runs {
					if len(res.Steps) != 2 || res.Steps[i].UDP == nil {
						t.Fatalf("boot %d: steps %+v, want two udp results", r+1, res.Steps)
					}
					u := res.Steps[i].UDP
					if u.Size != want || u.Count != 1000 || u.Errors != 0 {
						t.Fatalf("boot %d: %+v, want %d B x 1000 without errors", r+1, u, want)
					}
					insns[r] = u.InstructionsPerSend
				}
				t.Logf("%s %s shift %d: %d B: %.3f instructions per send (%d virtual ns / 1000 sends)",
					p.Name, runs[0].Mode, runs[0].IcountShift, want, insns[0], runs[0].Steps[i].UDP.NS)
				if insns[0] != insns[1] {
					t.Errorf("%d B: %.3f then %.3f instructions per send: count mode is not deterministic",
						want, insns[0], insns[1])
				}
				// A UDP send through the kernel is thousands of
				// instructions; zero or millions means a broken clock.
				if insns[0] < 1000 || insns[0] > 100000 {
					t.Errorf("%d B: %.3f instructions per send is implausible", want, insns[0])
				}
			}
		})
	}
}

// TestOopsModuleCrash loads images/modules/oops, whose init dereferences
// NULL in specbed_oops_fault: the run must end in a CrashError naming it.
func TestOopsModuleCrash(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(e.b.Repo, "images", "modules", "oops")
	for _, p := range qemu.All() {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			k := e.kernel(t, p)
			ko := e.module(t, k, src, "/lib/modules/oops.ko", true)
			start := time.Now()
			_, err := run(t, e.config(t, p, []string{"insmod,path=/lib/modules/oops.ko"}, ko))
			var crash *qemu.CrashError
			if !errors.As(err, &crash) {
				logExcerpt(t, err)
				t.Fatalf("error %v, want a CrashError", err)
			}
			logExcerpt(t, err)
			if crash.Fault.Function != "specbed_oops_fault" || !strings.Contains(err.Error(), "specbed_oops_fault") {
				t.Errorf("crash %q in %+v, want it in specbed_oops_fault", crash.Title, crash.Fault)
			}
			var boot *qemu.BootError
			if errors.As(err, &boot) {
				t.Errorf("an oops after the agent was ready is reported as a boot failure: %v", err)
			}
			t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestHangKilled runs the agent's hang step: the guest spins silently and
// must be killed at the no-output timeout with a HangError.
func TestHangKilled(t *testing.T) {
	e := newEnv(t)
	// Longer than the silent firmware and decompression stretch of an x86
	// boot on a loaded machine (over 3 s when the test packages run in
	// parallel), so the silence that kills is the agent's.
	const silence = 10 * time.Second
	for _, p := range qemu.All() {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			cfg := e.config(t, p, []string{"hang"})
			cfg.SilenceTimeout = silence
			start := time.Now()
			res, err := run(t, cfg)
			elapsed := time.Since(start)
			var hang *qemu.HangError
			if !errors.As(err, &hang) {
				logExcerpt(t, err)
				t.Fatalf("error %v, want a HangError", err)
			}
			want := fmt.Sprintf("%s guest hung: it printed nothing for %v and was killed", p.Name, silence)
			if !strings.Contains(err.Error(), want) || res == nil {
				t.Errorf("error %q, result %v; want %q after the agent was ready", err, res, want)
			}
			if elapsed > time.Minute {
				t.Errorf("killed after %v", elapsed)
			}
		})
	}
}

// TestModuleSignatureEnforced loads a module unsigned, which the kernel
// must refuse with EKEYREJECTED, then signed, which must load.
func TestModuleSignatureEnforced(t *testing.T) {
	e := newEnv(t)
	src, err := filepath.Abs(filepath.Join("testdata", "modules", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range qemu.All() {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			k := e.kernel(t, p)
			unsigned := e.module(t, k, src, "/lib/modules/unsigned.ko", false)
			signed := e.module(t, k, src, "/lib/modules/signed.ko", true)
			res, err := run(t, e.config(t, p, []string{
				"insmod,path=/lib/modules/unsigned.ko",
				"insmod,path=/lib/modules/signed.ko",
			}, unsigned, signed))
			if err != nil {
				logExcerpt(t, err)
				t.Fatal(err)
			}
			if len(res.Steps) != 2 || res.Steps[0].Insmod == nil || res.Steps[1].Insmod == nil {
				t.Fatalf("steps %+v, want two insmod results", res.Steps)
			}
			if got := res.Steps[0].Insmod.Errno; got != errnoEKEYREJECTED {
				t.Errorf("unsigned module: errno %d, want %d (EKEYREJECTED)", got, errnoEKEYREJECTED)
			}
			if got := res.Steps[1].Insmod.Errno; got != 0 {
				t.Errorf("signed module: errno %d, want 0", got)
			}
		})
	}
}

// TestEthernetLink attaches the x86 guests' two NICs to sockets
// (Config.Link, Config.DataLink) and sends UDP through eth0 and eth1: the
// host must read each NIC's frames on its own socket, each after its
// 4-byte big-endian length, as IPv4 UDP datagrams to the port sent to.
func TestEthernetLink(t *testing.T) {
	e := newEnv(t)
	for _, p := range qemu.All() {
		if p.Link != qemu.LinkEthernet {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			const sends, size = 20, 200
			links := []struct {
				dev, src, dst string
				port          int
				host, guest   *os.File
			}{
				{dev: "eth0", src: "10.1.0.2", dst: "10.1.0.1", port: 4242},
				{dev: "eth1", src: "10.2.0.2", dst: "10.2.0.1", port: 4343},
			}
			var plan []string
			for i := range links {
				l := &links[i]
				fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				l.host = os.NewFile(uintptr(fds[0]), l.dev+"-host")
				l.guest = os.NewFile(uintptr(fds[1]), l.dev+"-guest")
				defer l.host.Close()
				step := qemu.UDPStep{Dev: l.dev, Src: l.src, Dst: l.dst, Port: l.port, Size: size, Count: sends}
				plan = append(plan, step.String()+",arp=52:54:00:00:00:02")
			}
			// The final pause lets the NICs' transmit rings drain before
			// the agent ends the VM (e1000 lost the last 5 of 20 without
			// it).
			plan = append(plan, "sleep,ms=1000")
			cfg := e.config(t, p, plan)
			cfg.Link, cfg.DataLink = links[0].guest, links[1].guest
			in, err := qemu.Start(context.Background(), cfg)
			for _, l := range links {
				l.guest.Close() // QEMU holds its own copy
			}
			if err != nil {
				t.Fatal(err)
			}
			frames := make([]chan int, len(links))
			for i, l := range links {
				frames[i] = make(chan int, 1)
				go func(l *os.File, port int, out chan<- int) { out <- countUDPFrames(l, port, size) }(l.host, l.port, frames[i])
			}
			res, err := in.Wait()
			if err != nil {
				logExcerpt(t, err)
				t.Fatal(err)
			}
			for i, l := range links {
				if u := res.Steps[i].UDP; u == nil || u.Errors != 0 {
					t.Errorf("%s: udp result %+v", l.dev, res.Steps[i])
				}
				if got := <-frames[i]; got != sends {
					t.Errorf("%s: host read %d UDP frames to port %d of %d bytes, want %d", l.dev, got, l.port, size, sends)
				}
			}
		})
	}
}

// countUDPFrames reads length-prefixed Ethernet frames until the link
// closes and counts IPv4 UDP datagrams to port with size payload bytes.
func countUDPFrames(r io.Reader, port, size int) int {
	n := 0
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return n
		}
		frame := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(r, frame); err != nil {
			return n
		}
		const eth = 14
		if len(frame) < eth+20+8 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
			continue
		}
		ip := frame[eth:]
		ihl := int(ip[0]&0x0f) * 4
		if ip[9] != 17 || len(ip) < ihl+8 {
			continue
		}
		udp := ip[ihl:]
		if int(binary.BigEndian.Uint16(udp[2:])) == port && int(binary.BigEndian.Uint16(udp[4:]))-8 == size {
			n++
		}
	}
}
