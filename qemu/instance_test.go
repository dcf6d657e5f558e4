package qemu

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the real QEMU on text guests (guest_test.go).

// startText boots a text guest on the i486 platform.
func startText(t *testing.T, ctx context.Context, text string, end guestEnd, configure func(*Config)) *Instance {
	t.Helper()
	cfg := Config{
		Platform:       mustLookup(t, "i486"),
		Boot:           Boot{Kernel: textGuest(t, text, end)},
		RunRoot:        t.TempDir(),
		Timeout:        20 * time.Second,
		SilenceTimeout: 10 * time.Second,
	}
	if configure != nil {
		configure(&cfg)
	}
	in, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// serial turns lines into what a Linux serial console sends.
func serial(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// assertGone fails unless QEMU's whole process group has ended.
func assertGone(t *testing.T, in *Instance) {
	t.Helper()
	if err := syscall.Kill(-in.info.QEMUPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("QEMU's process group %d still exists (kill 0: %v)", in.info.QEMUPID, err)
	}
}

func TestRunResult(t *testing.T) {
	in := startText(t, context.Background(), serial(
		"Run /init as init process",
		"@@specbed ready agent=0123456789ab arch=i386",
		"@@specbed result step=0 kind=udp dev=dummy0 size=64 count=1000 warmup=100 ns=156604776 errors=0 errno=0",
		"@@specbed result step=1 kind=insmod path=/lib/modules/oops.ko errno=129",
		"@@specbed done status=0",
		"reboot: Restarting system",
	), endReset, nil)
	res, err := in.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Platform != "i486" || res.Mode != CountMode || res.IcountShift != 5 || res.Agent != "0123456789ab" ||
		res.Arch != "i386" || res.Status != 0 || len(res.Steps) != 2 {
		t.Fatalf("result %+v", res)
	}
	if got, want := res.Steps[0].UDP.InstructionsPerSend, 156604776.0/1000/32; got != want {
		t.Errorf("instructions per send %v, want %v", got, want)
	}
	if res.Steps[1].Insmod.Errno != 129 {
		t.Errorf("insmod %+v", res.Steps[1].Insmod)
	}
	if res.ReadySeconds <= 0 || res.ReadySeconds > 20 {
		t.Errorf("ready after %v s", res.ReadySeconds)
	}
	if _, err := os.Stat(in.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run directory of a successful run remains: %v", err)
	}
	assertGone(t, in)
}

func TestKeepLog(t *testing.T) {
	text := serial("@@specbed ready agent=x arch=i386", "@@specbed done status=0")
	in := startText(t, context.Background(), text, endReset, func(c *Config) { c.KeepLog = true })
	if _, err := in.Wait(); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(in.LogPath)
	if err != nil || string(log) != text {
		t.Errorf("console log %q, %v; want %q", log, err, text)
	}
	g, err := readGuestInfo(in.Dir)
	if err != nil || g.State != StateFinished || g.Outcome != "ok" || g.Alive() {
		t.Errorf("guest.json %+v, %v", g, err)
	}
}

func TestAgentFailure(t *testing.T) {
	in := startText(t, context.Background(), serial(
		"@@specbed ready agent=x arch=i386",
		"@@specbed error step=0 msg=udp: SIOCSIFADDR dummy0: errno 19",
		"@@specbed done status=1",
	), endReset, nil)
	res, err := in.Wait()
	var agent *AgentError
	if !errors.As(err, &agent) {
		t.Fatalf("error %v, want an AgentError", err)
	}
	var boot *BootError
	if errors.As(err, &boot) {
		t.Errorf("a test failure is reported as a boot failure: %v", err)
	}
	if res == nil || res.Status != 1 || agent.Status != 1 ||
		!reflect.DeepEqual(agent.Errors, []StepError{{Step: 0, Msg: "udp: SIOCSIFADDR dummy0: errno 19"}}) {
		t.Errorf("result %+v, error %+v", res, agent)
	}
	if !strings.Contains(err.Error(), "step 0: udp: SIOCSIFADDR dummy0: errno 19") || !strings.Contains(err.Error(), in.LogPath) {
		t.Errorf("message %q lacks the agent's error or the log", err)
	}
	g, gerr := readGuestInfo(in.Dir)
	if gerr != nil || g.State != StateFinished || g.Outcome != err.Error() {
		t.Errorf("guest.json of a failed run %+v, %v", g, gerr)
	}
}

func TestBootErrorWhenGuestResets(t *testing.T) {
	in := startText(t, context.Background(), serial("early boot message"), endReset, nil)
	res, err := in.Wait()
	var boot *BootError
	if !errors.As(err, &boot) || res != nil {
		t.Fatalf("result %v, error %v; want a BootError", res, err)
	}
	if !strings.Contains(boot.Reason, "exited with status 0") || len(boot.Tail) != 1 || boot.Tail[0] != "early boot message" {
		t.Errorf("BootError %+v", boot)
	}
}

func TestBootErrorWhenQEMUFails(t *testing.T) {
	in := startText(t, context.Background(), "", endReset, func(c *Config) {
		c.Boot.Kernel = filepath.Join(t.TempDir(), "missing-bzImage")
	})
	_, err := in.Wait()
	var boot *BootError
	if !errors.As(err, &boot) || !strings.Contains(boot.Reason, "missing-bzImage") {
		t.Fatalf("error %v; want a BootError quoting QEMU's complaint", err)
	}
}

func TestSilentGuestKilled(t *testing.T) {
	start := time.Now()
	in := startText(t, context.Background(), "", endSpin, func(c *Config) { c.SilenceTimeout = time.Second })
	_, err := in.Wait()
	var hang *HangError
	var boot *BootError
	if !errors.As(err, &hang) || !errors.As(err, &boot) {
		t.Fatalf("error %v; want a HangError inside a BootError", err)
	}
	if !hang.Silent || hang.Timeout != time.Second || !strings.Contains(err.Error(), "printed nothing for 1s") {
		t.Errorf("HangError %+v: %v", hang, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("killed after %v, want about 1s", d)
	}
	assertGone(t, in)
}

func TestHungGuestKilledAtTimeout(t *testing.T) {
	ready := "@@specbed ready agent=x arch=i386"
	in := startText(t, context.Background(), serial(ready), endSpin, func(c *Config) { c.Timeout = time.Second })
	res, err := in.Wait()
	var hang *HangError
	if !errors.As(err, &hang) || hang.Silent || hang.LastLine != ready {
		t.Fatalf("error %v; want a HangError at the overall timeout after the ready line", err)
	}
	var boot *BootError
	if errors.As(err, &boot) {
		t.Errorf("a guest that was ready is reported as not booted: %v", err)
	}
	if res == nil || res.Agent != "x" {
		t.Errorf("result %+v; want the ready line's fields", res)
	}
	assertGone(t, in)
}

func TestCancelKills(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := startText(t, ctx, "", endSpin, nil)
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := in.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	assertGone(t, in)
}

func TestFollowConsole(t *testing.T) {
	runRoot := t.TempDir()
	in := startText(t, context.Background(), serial("hello from the guest"), endSpin,
		func(c *Config) { c.RunRoot = runRoot })
	guests, err := ListGuests(runRoot)
	if err != nil || len(guests) != 1 || guests[0].ID != in.ID || !guests[0].Alive() {
		t.Fatalf("ListGuests = %+v, %v; want the running guest", guests, err)
	}
	var out bytes.Buffer
	followed := make(chan error, 1)
	go func() { followed <- FollowConsole(context.Background(), runRoot, in.ID[:len(in.ID)-2], &out) }()
	// Close only once the guest has printed: on a loaded host QEMU can take
	// longer than any fixed sleep to get there.
	waitForFile(t, guests[0].Log, "hello from the guest", time.Minute)
	in.Close()
	select {
	case err := <-followed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("FollowConsole did not return after the guest ended")
	}
	if !strings.Contains(out.String(), "hello from the guest") {
		t.Errorf("followed console %q", out.String())
	}
	if _, err := FindGuest(runRoot, "nosuch"); err == nil || !strings.Contains(err.Error(), "specbed console") {
		t.Errorf("FindGuest(nosuch) error %v", err)
	}
}

// waitForFile waits until the file at path contains want, failing the test
// after timeout.
func waitForFile(t *testing.T, path, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		data, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(data), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not contain %q after %v (read error %v)", path, want, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
