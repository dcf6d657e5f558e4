package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"specbed/images"
	"specbed/qemu"
)

func newImagesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build, list and remove the cached guest kernels",
		Long: `images manages the kernels in the cache: Debian's linux-source-6.1 with
images/kernel/patches and a config fragment per platform, built out of tree, with a
module signing key that is generated once into the cache.`,
	}
	cmd.AddCommand(newImagesBuildCmd(), newImagesListCmd(), newImagesCleanCmd())
	return cmd
}

// platformsFlag resolves --platform: one platform, or all when empty.
func platformsFlag(name string) ([]*qemu.Platform, error) {
	if name == "" {
		return qemu.All(), nil
	}
	p, err := qemu.Lookup(name)
	if err != nil {
		return nil, err
	}
	return []*qemu.Platform{p}, nil
}

func newImagesBuildCmd() *cobra.Command {
	var platform string
	var jobs int
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the kernel of a platform, or of every platform one after another",
		Long: `build builds each platform's kernel unless the cache already holds one for the
current inputs (source package, patches, fragment, toolchain and signing certificate).
The full build output goes to a log in the cache; a failure prints its last lines and
its path.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			platforms, err := platformsFlag(platform)
			if err != nil {
				return err
			}
			b, err := images.NewBuilder()
			if err != nil {
				return err
			}
			if jobs > 0 {
				b.Jobs = jobs
			}
			return buildKernels(cmd.Context(), b, platforms, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "platform to build ("+strings.Join(qemu.Names(), ", ")+"; all when omitted)")
	cmd.Flags().IntVarP(&jobs, "jobs", "j", 0, "kbuild parallel jobs (default: the number of CPUs)")
	return cmd
}

// buildKernels builds the kernels one after another, with a progress
// display on a terminal and plain progress lines otherwise, and prints one
// line per kernel to out.
func buildKernels(ctx context.Context, b *images.Builder, platforms []*qemu.Platform, out, errOut io.Writer) error {
	progress := newBuildProgress(ctx, errOut)
	defer progress.wait()
	for _, p := range platforms {
		b.Log = progress.start(p.Name)
		k, err := b.Kernel(ctx, p)
		if err != nil {
			progress.finish("failed")
			return err
		}
		progress.finish(fmt.Sprintf("%s ready", k.Release))
		fmt.Fprintf(out, "%s\t%s\t%s\n", p.Name, k.Release, k.Image)
	}
	return nil
}

// buildProgress shows the builder's progress lines: on a terminal as one
// spinner per platform with the latest line, elsewhere as plain lines.
type buildProgress struct {
	plain io.Writer     // nil on a terminal
	mpb   *mpb.Progress // nil when plain
	bar   *mpb.Bar      // the platform being built
	line  *progressLine // its latest progress line
}

func newBuildProgress(ctx context.Context, w io.Writer) *buildProgress {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f) {
		return &buildProgress{plain: w}
	}
	return &buildProgress{mpb: mpb.NewWithContext(ctx, mpb.WithOutput(f), mpb.WithWidth(16))}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// start returns the progress writer of one platform's build.
func (bp *buildProgress) start(name string) io.Writer {
	if bp.mpb == nil {
		return bp.plain
	}
	bp.line = &progressLine{text: "checking the cache"}
	bp.bar = bp.mpb.New(0, mpb.SpinnerStyle(),
		mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR), decor.Elapsed(decor.ET_STYLE_MMSS, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return bp.line.get() })),
		mpb.BarFillerClearOnComplete())
	return bp.line
}

// finish completes the current platform's spinner with a last status.
func (bp *buildProgress) finish(status string) {
	if bp.bar == nil {
		return
	}
	fmt.Fprintln(bp.line, status)
	bp.bar.SetTotal(-1, true)
	bp.bar.Wait()
	bp.bar = nil
}

func (bp *buildProgress) wait() {
	if bp.mpb != nil {
		bp.mpb.Wait()
	}
}

// progressLine keeps the last complete line written to it.
type progressLine struct {
	mu      sync.Mutex
	text    string
	partial []byte
}

func (l *progressLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		// Drop the "platform: " prefix: the spinner names the platform.
		line := string(l.partial[:i])
		if _, rest, ok := strings.Cut(line, ": "); ok {
			line = rest
		}
		l.text = line
		l.partial = l.partial[i+1:]
	}
}

func (l *progressLine) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text
}

func newImagesListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the kernels in the cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := images.NewBuilder()
			if err != nil {
				return err
			}
			recs, err := b.Kernels()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PLATFORM\tKEY\tRELEASE\tCONFIG SHA256\tBUILD (s)\tBUILT\tPATH")
			for _, r := range recs {
				kind := "cold"
				if r.Incremental {
					kind = "incr"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f %s\t%s\t%s\n", r.Inputs.Platform, r.Key[:16], r.Release,
					r.ConfigHash[:16], r.BuildSeconds, kind, r.BuiltAt.Local().Format(time.DateTime), r.Dir)
			}
			return tw.Flush()
		},
	}
}

func newImagesCleanCmd() *cobra.Command {
	var platform string
	var keys bool
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove cached kernels, kbuild folders and modules",
		Long: `clean removes the cached kernels, kbuild output folders and built modules of one
platform, or of all platforms (and then also the extracted source and the build logs).
The module signing key in the cache is kept unless --keys is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var p *qemu.Platform
			if platform != "" {
				var err error
				if p, err = qemu.Lookup(platform); err != nil {
					return err
				}
			}
			b, err := images.NewBuilder()
			if err != nil {
				return err
			}
			b.Log = cmd.ErrOrStderr()
			return b.Clean(cmd.Context(), p, keys)
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "platform to clean ("+strings.Join(qemu.Names(), ", ")+"; all when omitted)")
	cmd.Flags().BoolVar(&keys, "keys", false, "also remove the module signing key")
	return cmd
}
