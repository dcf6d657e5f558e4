package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"

	"specbed/images"
	"specbed/qemu"
)

func newReproduceCmd() *cobra.Command {
	var outDir string
	cmd := &cobra.Command{
		Use:   "reproduce",
		Short: "Build the three kernels, boot them in count mode and tabulate the cost of a UDP send",
		Long: `reproduce builds (or takes from the cache) the kernel of every platform, boots all of
them at once in count mode with the default plan of 'specbed boot' (1000 UDP sends of
64 and of 1024 payload bytes on dummy0) and prints the instructions per send of each
platform, with the icount shift and clock mode they were measured at. The table is also
written as udp_send.json and udp_send.csv under out/reproduce/ in the checkout.

A platform that fails does not stop the others; every failure is reported.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := images.NewBuilder()
			if err != nil {
				return err
			}
			if outDir == "" {
				outDir = filepath.Join(b.Repo, "out", "reproduce")
			}
			return runReproduce(cmd.Context(), b, qemu.All(), outDir, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&outDir, "out", "", "folder for udp_send.json and udp_send.csv (default: out/reproduce in the checkout)")
	return cmd
}

// sendCost is one row of the reproduction's table.
type sendCost struct {
	Platform    string    `json:"platform"`
	Mode        qemu.Mode `json:"mode"`
	IcountShift int       `json:"icount_shift"`
	// SizeBytes is the UDP payload per send; Count the timed sends.
	SizeBytes int `json:"size_bytes"`
	Count     int `json:"count"`
	// InstructionsPerSend: guest instructions per sendto() (count mode).
	InstructionsPerSend float64 `json:"instructions_per_send"`
	// VirtualNsPerSend: guest virtual ns per sendto().
	VirtualNsPerSend float64 `json:"virtual_ns_per_send"`
	KernelRelease    string  `json:"kernel_release"`
	KernelKey        string  `json:"kernel_key"`
	Agent            string  `json:"agent"`
}

func runReproduce(ctx context.Context, b *images.Builder, platforms []*qemu.Platform, outDir string, stdout, stderr io.Writer) error {
	// Kernel builds take both cores each: one after another, then the
	// boots, which are light, all at once.
	if err := buildKernels(ctx, b, platforms, stderr, stderr); err != nil {
		return err
	}
	plan := qemu.DummySendPlan(defaultSendSizes, defaultSendCount, defaultSendWarmup)
	results, kernels, bootErr := bootAll(ctx, b, platforms, plan, stderr)
	errs := multierror.Append(nil, bootErr)

	var rows []sendCost
	var done []*qemu.Result
	for i, res := range results {
		if res == nil {
			continue
		}
		done = append(done, res)
		for _, s := range res.Steps {
			if s.UDP == nil {
				continue
			}
			rows = append(rows, sendCost{
				Platform: res.Platform, Mode: res.Mode, IcountShift: res.IcountShift,
				SizeBytes: s.UDP.Size, Count: s.UDP.Count,
				InstructionsPerSend: s.UDP.InstructionsPerSend, VirtualNsPerSend: s.UDP.NsPerSend,
				KernelRelease: kernels[i].Release, KernelKey: kernels[i].Key, Agent: res.Agent,
			})
		}
	}
	if err := writeResults(stdout, false, done); err != nil {
		return err
	}
	if len(rows) > 0 {
		if err := writeSendCosts(outDir, rows); err != nil {
			errs = multierror.Append(errs, err)
		} else {
			fmt.Fprintf(stdout, "written: %s, %s\n", filepath.Join(outDir, "udp_send.json"), filepath.Join(outDir, "udp_send.csv"))
		}
	}
	return errs.ErrorOrNil()
}

// bootAll boots the platforms' cached kernels at once in count mode with
// plan. results[i] and kernels[i] are nil for a platform that failed;
// the error holds every failure, and their console tails go to errOut.
func bootAll(ctx context.Context, b *images.Builder, platforms []*qemu.Platform, plan []string,
	errOut io.Writer) ([]*qemu.Result, []*images.Kernel, error) {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		errs    *multierror.Error
		results = make([]*qemu.Result, len(platforms))
		kernels = make([]*images.Kernel, len(platforms))
	)
	for i, p := range platforms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, res, err := bootCached(ctx, b, p, plan)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				printExcerpt(errOut, err)
				errs = multierror.Append(errs, err)
				return
			}
			results[i], kernels[i] = res, k
		}()
	}
	wg.Wait()
	return results, kernels, errs.ErrorOrNil()
}

// bootCached boots p's cached kernel in count mode with plan.
func bootCached(ctx context.Context, b *images.Builder, p *qemu.Platform, plan []string) (*images.Kernel, *qemu.Result, error) {
	k, err := b.CachedKernel(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := guestConfig(ctx, b, p, k, nil)
	if err != nil {
		return nil, nil, err
	}
	cfg.Mode = qemu.CountMode
	cfg.Plan = plan
	res, err := runGuest(ctx, cfg)
	return k, res, err
}

// writeSendCosts writes the rows as udp_send.json and udp_send.csv.
func writeSendCosts(dir string, rows []sendCost) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "udp_send.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "udp_send.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"platform", "mode", "icount_shift", "size_bytes", "count",
		"instructions_per_send", "virtual_ns_per_send", "kernel_release", "kernel_key", "agent"})
	for _, r := range rows {
		w.Write([]string{r.Platform, r.Mode.Name, strconv.Itoa(r.IcountShift), strconv.Itoa(r.SizeBytes),
			strconv.Itoa(r.Count), strconv.FormatFloat(r.InstructionsPerSend, 'f', 3, 64),
			strconv.FormatFloat(r.VirtualNsPerSend, 'f', 3, 64), r.KernelRelease, r.KernelKey, r.Agent})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
