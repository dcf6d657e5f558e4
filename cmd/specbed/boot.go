package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"specbed/images"
	"specbed/qemu"
)

// The default plan of 'specbed boot': the send cost at the paper's two
// payload sizes (bytes), over this many timed sends after a warm-up.
var (
	defaultSendSizes  = []int{64, 1024}
	defaultSendCount  = 1000
	defaultSendWarmup = 100
)

type bootOptions struct {
	platform string
	mode     string
	timeout  time.Duration
	json     bool
	keepLog  bool
	console  bool
}

func newBootCmd() *cobra.Command {
	var opts bootOptions
	cmd := &cobra.Command{
		Use:   "boot --platform P [flags] [-- step...]",
		Short: "Boot one platform's cached kernel under QEMU and run the guest agent's plan",
		Long: `boot starts the platform's kernel from the cache (build it first with 'specbed images
build') with the guest agent as /init, runs the plan and prints the agent's results.

The plan is the steps given after '--' (syntax: images/agent/PROTOCOL.md). The default
times 1000 UDP sends of 64 and of 1024 payload bytes on dummy0's driver-less send path:

  udp,dev=dummy0,src=10.0.0.1,dst=10.0.0.2,port=9,size=64,count=1000,warmup=100

In count mode (the default) every guest instruction advances the guest clock by
2^shift ns and nothing depends on host time, so the results are instruction counts,
identical on every run. In network mode the guest's clock follows the host's while it
waits, and the results are virtual nanoseconds.`,
		Example: `  specbed boot --platform i486
  specbed boot --platform sa1100 --json
  specbed boot --platform p3 -- 'udp,dev=dummy0,src=10.0.0.1,dst=10.0.0.2,port=9,size=512,count=100'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBoot(cmd.Context(), opts, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.platform, "platform", "", "platform to boot: "+strings.Join(qemu.Names(), ", "))
	f.StringVar(&opts.mode, "mode", qemu.CountMode.Name, "clock mode: count (instruction counts) or network (host-timed)")
	f.DurationVar(&opts.timeout, "timeout", qemu.DefaultTimeout, "wall-clock limit of the whole run")
	f.BoolVar(&opts.json, "json", false, "print the results as JSON")
	f.BoolVar(&opts.keepLog, "keep-log", false, "keep the console log of a successful run (failed runs keep theirs)")
	f.BoolVar(&opts.console, "console", false, "copy the guest console to stderr as it runs")
	return cmd
}

func runBoot(ctx context.Context, opts bootOptions, plan []string, stdout, stderr io.Writer) error {
	if opts.platform == "" {
		return fmt.Errorf("--platform is required: choose one of %s", strings.Join(qemu.Names(), ", "))
	}
	p, err := qemu.Lookup(opts.platform)
	if err != nil {
		return err
	}
	mode, err := qemu.ParseMode(opts.mode)
	if err != nil {
		return err
	}
	if _, err := p.LookBinary(); err != nil {
		return err
	}
	b, err := images.NewBuilder()
	if err != nil {
		return err
	}
	k, err := b.CachedKernel(ctx, p)
	if err != nil {
		return err
	}
	if len(plan) == 0 {
		plan = qemu.DummySendPlan(defaultSendSizes, defaultSendCount, defaultSendWarmup)
	}
	cfg, err := guestConfig(ctx, b, p, k, nil)
	if err != nil {
		return err
	}
	cfg.Mode = mode
	cfg.Plan = plan
	cfg.Timeout = opts.timeout
	cfg.KeepLog = opts.keepLog
	if opts.console {
		cfg.Echo = stderr
	}
	res, err := runGuest(ctx, cfg)
	if res != nil && (len(res.Steps) > 0 || opts.json) {
		if werr := writeResults(stdout, opts.json, []*qemu.Result{res}); werr != nil {
			return werr
		}
	}
	if err != nil {
		printExcerpt(stderr, err)
	}
	return err
}

// guestConfig is the configuration that boots k on p with the agent as
// /init, and extra files in its initramfs, with the System.map for crash
// reports.
func guestConfig(ctx context.Context, b *images.Builder, p *qemu.Platform, k *images.Kernel, extra []images.File) (qemu.Config, error) {
	cfg := qemu.Config{
		Platform:  p,
		Boot:      qemu.Boot{Kernel: k.Image},
		SystemMap: k.SystemMap,
	}
	initrd, err := b.Initramfs(ctx, p, extra)
	if err != nil {
		return cfg, err
	}
	cfg.Boot.Initrd = initrd
	return cfg, nil
}

// runGuest boots one guest and waits for its results.
func runGuest(ctx context.Context, cfg qemu.Config) (*qemu.Result, error) {
	in, err := qemu.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return in.Wait()
}

// printExcerpt prints the console tail a guest error carries, so that the
// one-line error that follows it has its evidence above it.
func printExcerpt(w io.Writer, err error) {
	var (
		boot  *qemu.BootError
		crash *qemu.CrashError
		hang  *qemu.HangError
		agent *qemu.AgentError
		out   qemu.Output
	)
	switch {
	case errors.As(err, &crash):
		fmt.Fprintf(w, "crash report (%s):\n", crash.Title)
		for _, l := range crash.Report {
			fmt.Fprintf(w, "  | %s\n", l)
		}
		return
	case errors.As(err, &boot):
		out = boot.Output
	case errors.As(err, &hang):
		out = hang.Output
	case errors.As(err, &agent):
		out = agent.Output
	default:
		return
	}
	fmt.Fprintf(w, "last console lines:\n%s", out.Excerpt())
}

// writeResults prints results as a table, or as JSON.
func writeResults(w io.Writer, asJSON bool, results []*qemu.Result) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if len(results) == 1 {
			return enc.Encode(results[0])
		}
		return enc.Encode(results)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PLATFORM\tMODE\tSHIFT\tSTEP\tKIND\tSIZE (B)\tCOUNT\tINSTRUCTIONS/SEND\tVIRTUAL NS/SEND\tRESULT\t")
	for _, r := range results {
		for _, s := range r.Steps {
			size, count, insns, ns, outcome := "-", "-", "-", "-", "ok"
			switch {
			case s.UDP != nil:
				u := s.UDP
				size, count = fmt.Sprint(u.Size), fmt.Sprint(u.Count)
				if r.Mode.Counts {
					insns = fmt.Sprintf("%.1f", u.InstructionsPerSend)
				}
				ns = fmt.Sprintf("%.1f", u.NsPerSend)
				if u.Errors > 0 {
					outcome = fmt.Sprintf("errors=%d errno=%d", u.Errors, u.Errno)
				}
			case s.Insmod != nil:
				outcome = fmt.Sprintf("errno=%d", s.Insmod.Errno)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
				r.Platform, r.Mode, r.IcountShift, s.Step, s.Kind, size, count, insns, ns, outcome)
		}
	}
	return tw.Flush()
}
