package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"specbed/qemu"
)

// ErrNotBuilt is wrapped by CachedKernel's error when the cache lacks the
// kernel the current inputs call for.
var ErrNotBuilt = errors.New("kernel not built")

// kernelBuildBytes is the free space a kernel build needs: the kbuild
// output folder (about 0.5 GiB for x86, more for collie) plus the cached
// artefacts, with margin.
const kernelBuildBytes = 1 << 30

// reproducibleBuildEnv fixes what kbuild would take from the clock and
// the host (the version string of uname -v and the boot log), so that the
// same inputs give the same kernel on every machine.
var reproducibleBuildEnv = []string{
	"KBUILD_BUILD_TIMESTAMP=2020-01-01 00:00:00 UTC",
	"KBUILD_BUILD_USER=specbed",
	"KBUILD_BUILD_HOST=specbed",
}

// builderSymbol is the kconfig symbol the builder sets itself, because its
// value is a cache path; fragments must leave it alone.
const builderSymbol = "CONFIG_MODULE_SIG_KEY"

// Kernel is a built kernel in the cache.
type Kernel struct {
	Platform string
	// Key is the SHA-256 (hex) of the KernelInputs that produced it.
	Key string
	// Dir is cache/kernels/<platform>-<key[:16]>/, holding the files below.
	Dir       string
	Image     string // boot image (bzImage or zImage)
	Vmlinux   string
	SystemMap string
	Config    string // the final .config
	// BuildDir is the kbuild output folder of the platform, kept between
	// builds: modules are built against it. It holds this kernel while its
	// stamp file names Key.
	BuildDir  string
	SourceDir string
	// Release is the kernel's uname -r.
	Release string
	// ConfigHash is the SHA-256 (hex) of Config.
	ConfigHash string
	// SigningKey and SigningCert are the module signing key files whose
	// certificate the kernel trusts.
	SigningKey  string
	SigningCert string
	// BuildSeconds is the wall-clock time of the build (seconds).
	BuildSeconds float64
}

// KernelInputs is everything a kernel build depends on. Its hash is the
// kernel's cache key: changing any field builds a new kernel.
type KernelInputs struct {
	Platform     string `json:"platform"`
	Arch         string `json:"arch"`
	CrossCompile string `json:"cross_compile"`
	BaseConfig   string `json:"base_config"`
	ImageTarget  string `json:"image"`
	// SourceVersion is the linux-source-6.1 package version (dpkg).
	SourceVersion string `json:"source_version"`
	// PatchesSHA256 covers the names, order and bytes of the patches.
	PatchesSHA256  string `json:"patches_sha256"`
	FragmentSHA256 string `json:"fragment_sha256"`
	// Compiler and Linker are the first lines of '<cc> --version' and
	// '<ld> --version' of the toolchain the build uses.
	Compiler          string `json:"compiler"`
	Linker            string `json:"linker"`
	SigningCertSHA256 string `json:"signing_cert_sha256"`
}

// Key is the SHA-256 (hex) of the inputs' JSON encoding.
func (in KernelInputs) Key() string {
	data, err := json.Marshal(in)
	if err != nil {
		panic(fmt.Sprintf("KernelInputs is plain data and always encodes: %v", err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// KernelRecord is kernel.json: how a cached kernel was made.
type KernelRecord struct {
	// Dir is the kernel's cache folder (not stored: the file is in it).
	Dir        string       `json:"-"`
	Key        string       `json:"key"`
	Inputs     KernelInputs `json:"inputs"`
	Release    string       `json:"release"`
	ConfigHash string       `json:"config_sha256"`
	// BuildSeconds is the wall-clock build time (seconds) with Jobs
	// parallel jobs; Incremental tells whether kbuild reused objects of an
	// earlier build (false: a cold build from an empty folder).
	BuildSeconds float64   `json:"build_seconds"`
	Jobs         int       `json:"jobs"`
	Incremental  bool      `json:"incremental"`
	BuiltAt      time.Time `json:"built_at"`
	// ImageBytes is the size of the boot image (bytes).
	ImageBytes int64 `json:"image_bytes"`
}

// kernelInputs gathers the inputs of p's kernel, and the fragments its
// .config must satisfy: the platform's, then the builder's own lines.
func (b *Builder) kernelInputs(ctx context.Context, p *qemu.Platform, key *SigningKey) (KernelInputs, []fragment, error) {
	in := KernelInputs{
		Platform:          p.Name,
		Arch:              p.Kernel.Arch,
		CrossCompile:      p.Kernel.CrossCompile,
		BaseConfig:        p.Kernel.BaseConfig,
		ImageTarget:       p.Kernel.Image,
		SigningCertSHA256: key.CertHash,
	}
	var err error
	if in.SourceVersion, err = SourceVersion(ctx); err != nil {
		return in, nil, err
	}
	ps, err := b.patches()
	if err != nil {
		return in, nil, err
	}
	in.PatchesSHA256 = patchesHash(ps)
	fragData, err := os.ReadFile(filepath.Join(b.Repo, fragmentPath(p)))
	if err != nil {
		return in, nil, fmt.Errorf("%s kernel fragment: %w", p.Name, err)
	}
	in.FragmentSHA256 = sha256Hex(fragData)
	if in.Compiler, err = firstLine(ctx, p.Kernel.CrossCompile+"gcc", "--version"); err != nil {
		return in, nil, err
	}
	if in.Linker, err = firstLine(ctx, p.Kernel.CrossCompile+"ld", "--version"); err != nil {
		return in, nil, err
	}
	builderLines := fmt.Sprintf("%s=%q\n", builderSymbol, key.Key)
	frags := []fragment{
		{name: fragmentPath(p), data: fragData},
		{name: "(builder)", data: []byte(builderLines)},
	}
	return in, frags, nil
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// firstLine runs a version query and returns its first line.
func firstLine(ctx context.Context, name string, args ...string) (string, error) {
	out, err := output(ctx, name, args...)
	if err != nil {
		return "", fmt.Errorf("toolchain (run 'specbed setup'): %w", err)
	}
	return strings.SplitN(out, "\n", 2)[0], nil
}

// kernelDir is the cache folder of the kernel with the given key.
func (b *Builder) kernelDir(p *qemu.Platform, key string) string {
	return filepath.Join(b.Cache, "kernels", p.Name+"-"+key[:16])
}

// buildDir is the platform's kbuild output folder, kept between builds.
func (b *Builder) buildDir(p *qemu.Platform) string { return filepath.Join(b.Cache, "build", p.Name) }

// jobs is kbuild's -j: Builder.Jobs, at least 1.
func (b *Builder) jobs() int { return max(b.Jobs, 1) }

// buildStamp names the kernel whose objects a build folder holds.
const buildStamp = "specbed-kernel.key"

// Kernel returns p's kernel for the current inputs, building it when the
// cache lacks it. Builds of one platform are serialized by a lock; the
// artefacts appear in the cache only when complete.
func (b *Builder) Kernel(ctx context.Context, p *qemu.Platform) (*Kernel, error) {
	key, err := b.SigningKey(ctx)
	if err != nil {
		return nil, err
	}
	in, frags, err := b.kernelInputs(ctx, p, key)
	if err != nil {
		return nil, err
	}
	if k, err := b.loadKernel(p, in.Key(), key); err == nil {
		return k, nil
	}
	b.logf("%s: kernel %s not in the cache, waiting for the %s build lock", p.Name, in.Key()[:16], p.Name)
	unlock, err := b.lock(ctx, "kernel-"+p.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if k, err := b.loadKernel(p, in.Key(), key); err == nil {
		return k, nil // Built by another process while we waited.
	}
	if err := b.buildKernel(ctx, p, in, frags); err != nil {
		return nil, err
	}
	return b.loadKernel(p, in.Key(), key)
}

// CachedKernel returns p's kernel for the current inputs without building
// it: its error wraps ErrNotBuilt when the cache lacks it.
func (b *Builder) CachedKernel(ctx context.Context, p *qemu.Platform) (*Kernel, error) {
	notBuilt := fmt.Errorf("no %s kernel in %s: run 'specbed images build --platform %s': %w", p.Name, b.Cache, p.Name, ErrNotBuilt)
	if !fileExists(filepath.Join(b.keysDir(), "signing_key.pem")) {
		return nil, notBuilt
	}
	key, err := b.SigningKey(ctx)
	if err != nil {
		return nil, err
	}
	in, _, err := b.kernelInputs(ctx, p, key)
	if err != nil {
		return nil, err
	}
	k, err := b.loadKernel(p, in.Key(), key)
	if errors.Is(err, os.ErrNotExist) {
		return nil, notBuilt
	}
	return k, err
}

// loadKernel reads a cached kernel's record.
func (b *Builder) loadKernel(p *qemu.Platform, key string, sk *SigningKey) (*Kernel, error) {
	dir := b.kernelDir(p, key)
	data, err := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if err != nil {
		return nil, err
	}
	var rec KernelRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "kernel.json"), err)
	}
	if rec.Key != key {
		return nil, fmt.Errorf("%s records key %s, want %s", dir, rec.Key, key)
	}
	src, err := b.sourceDir(rec.Inputs.SourceVersion, rec.Inputs.PatchesSHA256)
	if err != nil {
		return nil, err
	}
	return &Kernel{
		Platform:     p.Name,
		Key:          key,
		Dir:          dir,
		Image:        filepath.Join(dir, filepath.Base(p.Kernel.Image)),
		Vmlinux:      filepath.Join(dir, "vmlinux"),
		SystemMap:    filepath.Join(dir, "System.map"),
		Config:       filepath.Join(dir, ".config"),
		BuildDir:     b.buildDir(p),
		SourceDir:    src,
		Release:      rec.Release,
		ConfigHash:   rec.ConfigHash,
		SigningKey:   sk.Key,
		SigningCert:  sk.Cert,
		BuildSeconds: rec.BuildSeconds,
	}, nil
}

// buildKernel configures and compiles p's kernel in its build folder and
// copies the artefacts into the cache. The caller holds the platform lock.
func (b *Builder) buildKernel(ctx context.Context, p *qemu.Platform, in KernelInputs, frags []fragment) error {
	src, err := b.Source(ctx)
	if err != nil {
		return err
	}
	buildDir := b.buildDir(p)
	if err := ensureFreeSpace(filepath.Join(b.Cache, "build"), kernelBuildBytes, p.Name+" kernel build"); err != nil {
		return err
	}
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return err
	}
	// The folder is about to change: until the build succeeds it holds no
	// kernel that modules could be built against.
	if err := os.Remove(filepath.Join(buildDir, buildStamp)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	incremental := fileExists(filepath.Join(buildDir, "vmlinux"))
	log, err := b.openLog("kernel-" + p.Name)
	if err != nil {
		return err
	}
	defer log.Close()
	log.printf("inputs: %+v", in)
	start := time.Now()
	b.logf("%s: configuring in %s (log %s)", p.Name, buildDir, log.path)
	if err := b.configure(ctx, log, p, src, buildDir, frags); err != nil {
		return err
	}
	b.logf("%s: compiling with -j%d", p.Name, b.jobs())
	log.watch = &compileCounter{b: b, platform: p.Name}
	err = log.run(ctx, buildDir, reproducibleBuildEnv, "make", append(b.makeArgs(p, src, buildDir), fmt.Sprintf("-j%d", b.jobs()))...)
	log.watch = nil
	if err != nil {
		return fmt.Errorf("%s kernel build: %w", p.Name, err)
	}
	rec := KernelRecord{
		Key:          in.Key(),
		Inputs:       in,
		BuildSeconds: time.Since(start).Seconds(),
		Jobs:         b.jobs(),
		Incremental:  incremental,
		BuiltAt:      time.Now().UTC(),
	}
	if err := b.storeKernel(p, buildDir, &rec); err != nil {
		return fmt.Errorf("%s kernel: %w", p.Name, err)
	}
	if err := os.WriteFile(filepath.Join(buildDir, buildStamp), []byte(rec.Key+"\n"), 0o644); err != nil {
		return err
	}
	kind := "cold"
	if incremental {
		kind = "incremental"
	}
	b.logf("%s: built %s in %.0f s (%s build), image %d bytes", p.Name, rec.Release, rec.BuildSeconds, kind, rec.ImageBytes)
	return nil
}

// storeKernel copies the artefacts into a temporary folder beside the
// kernel's cache folder, writes kernel.json, and renames it into place.
func (b *Builder) storeKernel(p *qemu.Platform, buildDir string, rec *KernelRecord) error {
	release, err := os.ReadFile(filepath.Join(buildDir, "include", "config", "kernel.release"))
	if err != nil {
		return err
	}
	rec.Release = strings.TrimSpace(string(release))
	config, err := os.ReadFile(filepath.Join(buildDir, ".config"))
	if err != nil {
		return err
	}
	rec.ConfigHash = sha256Hex(config)
	parent := filepath.Join(b.Cache, "kernels")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := makeTempDir(parent, ".store-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, f := range []string{p.Kernel.Image, "vmlinux", "System.map", ".config"} {
		if err := copyFile(filepath.Join(buildDir, f), filepath.Join(tmp, filepath.Base(f))); err != nil {
			return err
		}
	}
	st, err := os.Stat(filepath.Join(tmp, filepath.Base(p.Kernel.Image)))
	if err != nil {
		return err
	}
	rec.ImageBytes = st.Size()
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "kernel.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	dir := b.kernelDir(p, rec.Key)
	// A folder left by a build whose kernel.json was unreadable is stale.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// copyFile copies a regular file, keeping its permission bits.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// compileCounter reports kbuild's progress (one line per compiled file)
// every compileReportEvery files, so a long build shows it is alive.
type compileCounter struct {
	b        *Builder
	platform string
	partial  []byte
	files    int
}

const compileReportEvery = 250

func (c *compileCounter) Write(p []byte) (int, error) {
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		if bytes.HasPrefix(c.partial[:i], []byte("  CC ")) {
			c.files++
			if c.files%compileReportEvery == 0 {
				c.b.logf("%s: compiled %d files", c.platform, c.files)
			}
		}
		c.partial = c.partial[i+1:]
	}
	return len(p), nil
}
