package images

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"specbed/qemu"
)

func TestKernelInputsKeyCoversEveryInput(t *testing.T) {
	base := KernelInputs{
		Platform: "i486", Arch: "i386", CrossCompile: "", BaseConfig: "tinyconfig",
		ImageTarget: "arch/x86/boot/bzImage", SourceVersion: "6.1.192-2",
		PatchesSHA256: "p0", FragmentSHA256: "f0", Compiler: "gcc (Debian 12.2.0-14) 12.2.0",
		Linker: "GNU ld (GNU Binutils for Debian) 2.40", SigningCertSHA256: "c0",
	}
	tests := []struct {
		field  string
		change func(*KernelInputs)
	}{
		{"Platform", func(in *KernelInputs) { in.Platform = "p3" }},
		{"Arch", func(in *KernelInputs) { in.Arch = "arm" }},
		{"CrossCompile", func(in *KernelInputs) { in.CrossCompile = "arm-linux-gnueabi-" }},
		{"BaseConfig", func(in *KernelInputs) { in.BaseConfig = "allnoconfig" }},
		{"ImageTarget", func(in *KernelInputs) { in.ImageTarget = "arch/arm/boot/zImage" }},
		{"SourceVersion", func(in *KernelInputs) { in.SourceVersion = "6.1.193-1" }},
		{"PatchesSHA256", func(in *KernelInputs) { in.PatchesSHA256 = "p1" }},
		{"FragmentSHA256", func(in *KernelInputs) { in.FragmentSHA256 = "f1" }},
		{"Compiler", func(in *KernelInputs) { in.Compiler = "gcc (Debian 12.2.0-15) 12.2.0" }},
		{"Linker", func(in *KernelInputs) { in.Linker = "GNU ld (GNU Binutils for Debian) 2.41" }},
		{"SigningCertSHA256", func(in *KernelInputs) { in.SigningCertSHA256 = "c1" }},
	}
	covered := map[string]bool{}
	seen := map[string]string{base.Key(): "base"}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			in := base
			tt.change(&in)
			if reflect.DeepEqual(in, base) {
				t.Fatalf("change of %s left the inputs equal", tt.field)
			}
			key := in.Key()
			if prev, dup := seen[key]; dup {
				t.Errorf("changing %s gives the key of %s: %s", tt.field, prev, key)
			}
			seen[key] = tt.field
			if again := in.Key(); again != key {
				t.Errorf("Key() not deterministic: %s then %s", key, again)
			}
		})
		covered[tt.field] = true
	}
	typ := reflect.TypeOf(base)
	for i := 0; i < typ.NumField(); i++ {
		if !covered[typ.Field(i).Name] {
			t.Errorf("KernelInputs.%s has no case in this test", typ.Field(i).Name)
		}
	}
}

// TestKernelInputsFollowFiles checks that the inputs read from the checkout
// change with the fragment and the patch series.
func TestKernelInputsFollowFiles(t *testing.T) {
	repo := t.TempDir()
	for _, d := range []string{"images/kernel/fragments", "images/kernel/patches"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p, err := qemu.Lookup("i486")
	if err != nil {
		t.Fatal(err)
	}
	frag := filepath.Join(repo, fragmentPath(p))
	b := &Builder{Cache: t.TempDir(), Repo: repo, Jobs: 1}
	sk := &SigningKey{Key: "/k/signing_key.pem", Cert: "/k/signing_cert.pem", CertHash: "c0"}
	tests := []struct {
		name   string
		change func() error
	}{
		{"fragment line added", func() error { return os.WriteFile(frag, []byte("CONFIG_NET=y\nCONFIG_INET=y\n"), 0o644) }},
		{"patch added", func() error {
			return os.WriteFile(filepath.Join(repo, "images/kernel/patches/0001-a.patch"), []byte("--- a\n+++ b\n"), 0o644)
		}},
		{"patch renamed", func() error {
			return os.Rename(filepath.Join(repo, "images/kernel/patches/0001-a.patch"), filepath.Join(repo, "images/kernel/patches/0002-a.patch"))
		}},
		{"other signing cert", func() error { sk.CertHash = "c1"; return nil }},
	}
	if err := os.WriteFile(frag, []byte("CONFIG_NET=y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, frags, err := b.kernelInputs(context.Background(), p, sk)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(frags[1].data); got != `CONFIG_MODULE_SIG_KEY="/k/signing_key.pem"`+"\n" {
		t.Errorf("builder lines = %q", got)
	}
	prev := in.Key()
	for _, tt := range tests {
		if err := tt.change(); err != nil {
			t.Fatal(err)
		}
		in, _, err := b.kernelInputs(context.Background(), p, sk)
		if err != nil {
			t.Fatal(err)
		}
		if in.Key() == prev {
			t.Errorf("%s: kernel key unchanged", tt.name)
		}
		prev = in.Key()
	}
}

func TestLockExclusion(t *testing.T) {
	b := &Builder{Cache: t.TempDir()}
	ctx := context.Background()
	release, err := b.lock(ctx, "kernel-i486")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		lock    string
		blocked bool
	}{
		{"same name waits", "kernel-i486", true},
		{"other name proceeds", "kernel-p3", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			unlock, err := b.lock(ctx, tt.lock)
			if tt.blocked {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("lock(%s) while held = %v, want a deadline error", tt.lock, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("lock(%s) = %v", tt.lock, err)
			}
			unlock()
		})
	}
	// Once released, a waiter gets the lock.
	got := make(chan error, 1)
	go func() {
		unlock, err := b.lock(ctx, "kernel-i486")
		if err == nil {
			unlock()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("waiter got the lock while it was held (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter did not get the released lock")
	}
}

func TestBuildLogFailureShowsTail(t *testing.T) {
	b := &Builder{Cache: t.TempDir()}
	log, err := b.openLog("test")
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	err = log.run(context.Background(), t.TempDir(), nil, "sh", "-c", "i=1; while [ $i -le 100 ]; do echo line$i; i=$((i+1)); done; exit 3")
	if err == nil {
		t.Fatal("failing command returned no error")
	}
	msg := err.Error()
	for _, want := range []string{log.path, "line61\n", "line100", "exit status 3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "line60\n") {
		t.Errorf("error holds more than the last %d lines:\n%s", logTailLines, msg)
	}
	full, _ := os.ReadFile(log.path)
	if !bytes.Contains(full, []byte("line1\n")) {
		t.Errorf("log %s lacks the start of the output", log.path)
	}
}

func TestCachedKernelNotBuilt(t *testing.T) {
	repo, err := FindRepo()
	if err != nil {
		t.Fatal(err)
	}
	b := &Builder{Cache: t.TempDir(), Repo: repo, Jobs: 1}
	for _, p := range qemu.All() {
		_, err := b.CachedKernel(context.Background(), p)
		if !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "specbed images build --platform "+p.Name) {
			t.Errorf("%s: CachedKernel on an empty cache = %v, want ErrNotBuilt with the command to run", p.Name, err)
		}
	}
}

// TestKernels builds each platform's kernel, or takes it from the cache
// ('make test' runs 'specbed images build' first).
func TestKernels(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: builds kernels on a cold cache")
	}
	b := testBuilder(t)
	for _, p := range qemu.All() {
		t.Run(p.Name, func(t *testing.T) {
			k, err := b.Kernel(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			config, err := os.ReadFile(k.Config)
			if err != nil {
				t.Fatal(err)
			}
			values := parseConfig(config)
			for sym, want := range map[string]string{
				"CONFIG_MODULE_SIG_FORCE": "y",
				"CONFIG_DUMMY":            "y",
				"CONFIG_MODULE_SIG_KEY":   `"` + k.SigningKey + `"`,
			} {
				if values[sym] != want {
					t.Errorf("%s: %s=%q, want %q", k.Config, sym, values[sym], want)
				}
			}
			if sha256Hex(config) != k.ConfigHash {
				t.Errorf("%s does not hash to the recorded %s", k.Config, k.ConfigHash)
			}
			if st, err := os.Stat(k.Image); err != nil || st.Size() < 512<<10 {
				t.Errorf("boot image %s: %v (want a file of at least 512 KiB)", k.Image, err)
			}
			sysmap, err := os.ReadFile(k.SystemMap)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(sysmap, []byte(" udp_sendmsg\n")) {
				t.Errorf("%s lacks udp_sendmsg", k.SystemMap)
			}
			if !strings.HasPrefix(k.Release, "6.1.") {
				t.Errorf("release %q, want 6.1.*", k.Release)
			}
			cached, err := b.CachedKernel(context.Background(), p)
			if err != nil || !reflect.DeepEqual(cached, k) {
				t.Errorf("CachedKernel = %+v, %v; want %+v", cached, err, k)
			}
		})
	}
}
