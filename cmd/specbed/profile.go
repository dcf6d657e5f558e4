package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"specbed/images"
	"specbed/images/specnet/paths"
	"specbed/qemu"
	"specbed/qemu/plugin/attrib"
	"specbed/qemu/plugin/profile"
	"specbed/results/repro"
)

type profileOptions struct {
	platform string
	paths    bool
	server   bool
	sizes    []int
	files    []string
	top      int
	timeout  time.Duration
	json     bool
}

func newProfileCmd() *cobra.Command {
	var opts profileOptions
	cmd := &cobra.Command{
		Use:   "profile --platform P (--paths [--size N]... | --server | [--file GUEST=HOST]... [-- step...])",
		Short: "Count a plan's instructions per function and per network-stack layer with a QEMU TCG plugin",
		Long: `profile boots the platform's cached kernel in count mode with specbed's TCG plugin
(qemu/plugin: inline per-instruction counters, built with the host gcc against the
installed QEMU's qemu-plugin.h, fetched once from Debian's qemu source package) and says
where the instructions of every timed send loop went: per function (vmlinux, the loaded
modules at the addresses the guest reports, the agent) and per layer (socket, udp, tcp,
ip, device, memory, residual, other; rules in qemu/plugin/attrib/layers.rules). Next to
each loop's count is the guest's own (icount) instructions per send for the same loop.

--paths runs the four send paths of images/specnet/paths (kernel sendto and send, the
core module's generic path, a specialized residual) with their checks, one boot per
size. --server is figure 1's workload: network mode, the agent's web server
(httpd step) serving 1000 connections to 100 concurrent host clients; it prints
the functions with the most entries (calls) in the serving window, their
instructions and instructions per byte of code. Otherwise the plan is the steps
after '--' (default: the kernel's sendto on
dummy0, as 'specbed boot'), with --file adding files to the initramfs; a .ko file gets
a sections step after its insmod so that its functions have names.`,
		Example: `  specbed profile --platform i486
  specbed profile --platform sa1100 --paths --size 64 --top 15
  specbed profile --platform i486 --server --top 20
  specbed profile --platform p3 --file /lib/modules/m.ko=./m.ko -- insmod,path=/lib/modules/m.ko 'udp,dev=dummy0,src=10.0.0.1,dst=10.0.0.2,port=9,size=64,count=1000,warmup=100'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProfile(cmd.Context(), opts, args, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.platform, "platform", "", "platform: "+strings.Join(qemu.Names(), ", "))
	f.BoolVar(&opts.paths, "paths", false, "profile the four send paths of images/specnet/paths")
	f.BoolVar(&opts.server, "server", false, "profile the kernel while the guest serves 100 concurrent HTTP clients (figure 1)")
	f.IntSliceVar(&opts.sizes, "size", paths.Sizes(), "payload sizes (bytes) for --paths")
	f.StringArrayVar(&opts.files, "file", nil, "GUEST=HOST: put host file HOST into the initramfs at GUEST")
	f.IntVar(&opts.top, "top", 10, "functions listed per timed loop")
	f.DurationVar(&opts.timeout, "timeout", 10*time.Minute, "wall-clock limit of one guest run")
	f.BoolVar(&opts.json, "json", false, "print the profile as JSON")
	return cmd
}

func runProfile(ctx context.Context, opts profileOptions, plan []string, stdout io.Writer) error {
	if opts.platform == "" {
		return fmt.Errorf("--platform is required: choose one of %s", strings.Join(qemu.Names(), ", "))
	}
	p, err := qemu.Lookup(opts.platform)
	if err != nil {
		return err
	}
	b, err := images.NewBuilder()
	if err != nil {
		return err
	}
	if opts.server {
		if opts.paths || len(plan) > 0 || len(opts.files) > 0 {
			return fmt.Errorf("--server runs its own plan: no --paths, steps or --file")
		}
		return profileServer(ctx, b, p, opts, stdout)
	}
	if opts.paths {
		if len(plan) > 0 || len(opts.files) > 0 {
			return fmt.Errorf("--paths runs its own plan: no steps or --file")
		}
		runs, err := profile.MeasurePaths(ctx, b, p, opts.sizes)
		var layers []profile.LayerCounts
		for _, r := range runs {
			layers = append(layers, r.Layers...)
		}
		if werr := writeLayerCounts(stdout, opts, layers); werr != nil {
			return werr
		}
		return err
	}
	prof, err := profilePlan(ctx, b, p, opts, plan)
	if prof != nil {
		if werr := writeProfile(stdout, opts, prof); werr != nil {
			return werr
		}
	}
	return err
}

// profilePlan runs a plan of the user's under the plugin.
func profilePlan(ctx context.Context, b *images.Builder, p *qemu.Platform, opts profileOptions, plan []string) (*profile.Profile, error) {
	k, err := b.CachedKernel(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(plan) == 0 {
		plan = qemu.DummySendPlan(defaultSendSizes, defaultSendCount, defaultSendWarmup)
	}
	var files []images.File
	byGuestPath, byName := map[string]string{}, map[string]string{}
	for _, spec := range opts.files {
		guest, host, ok := strings.Cut(spec, "=")
		if !ok || guest == "" || host == "" {
			return nil, fmt.Errorf("--file %q: want GUEST=HOST", spec)
		}
		files = append(files, images.File{Path: guest, Source: host})
		if !strings.HasSuffix(host, ".ko") {
			continue
		}
		ko, err := os.ReadFile(host)
		if err != nil {
			return nil, err
		}
		name, err := paths.ModuleName(ko)
		if err != nil {
			return nil, fmt.Errorf("--file %s: %w", host, err)
		}
		byGuestPath[guest], byName[name] = name, host
	}
	initrd, err := b.Initramfs(ctx, p, files)
	if err != nil {
		return nil, err
	}
	return profile.Execute(ctx, profile.Run{
		Platform: p, Kernel: k, Initrd: initrd,
		Plan: profile.WithSections(plan, byGuestPath), Modules: byName, Timeout: opts.timeout,
	}, b.Cache)
}

func writeProfile(w io.Writer, opts profileOptions, prof *profile.Profile) error {
	if opts.json {
		return writeJSON(w, prof)
	}
	fmt.Fprintf(w, "%s, count mode, icount shift %d: %d timed loops; the run executed %d instructions in all\n",
		prof.Platform, prof.IcountShift, len(prof.Windows), prof.Total.Instructions)
	for _, win := range prof.Windows {
		title := fmt.Sprintf("step %d %s", win.Step, win.Kind)
		if win.Path != "" {
			title += " " + string(win.Path)
		}
		n := float64(win.Sends)
		byLayer := map[string]float64{}
		for l, c := range win.ByLayer {
			byLayer[l] = float64(c) / n
		}
		funcs := make([]profile.FuncPerSend, 0, len(win.Functions))
		for _, f := range win.Functions {
			funcs = append(funcs, profile.FuncPerSend{Function: f.Function, Layer: f.Layer, Instructions: float64(f.Instructions) / n})
		}
		writeLoop(w, opts.top, title, win.SizeBytes, win.PerSend(), win.GuestPerSend, byLayer, funcs)
	}
	return nil
}

func writeLayerCounts(w io.Writer, opts profileOptions, layers []profile.LayerCounts) error {
	if opts.json {
		return writeJSON(w, layers)
	}
	for _, l := range layers {
		title := fmt.Sprintf("%s %s (shift %d)", l.Platform, l.Path, l.IcountShift)
		writeLoop(w, opts.top, title, l.SizeBytes, l.Total, l.GuestPerSend, l.ByLayer, l.Functions)
	}
	return nil
}

// writeLoop prints one timed loop: instructions per send by layer, then
// the top functions.
func writeLoop(w io.Writer, top int, title string, size int, perSend, guest float64, byLayer map[string]float64, funcs []profile.FuncPerSend) {
	fmt.Fprintf(w, "\n%s, %d-byte sends: %.1f instructions per send (guest icount %.1f)\n", title, size, perSend, guest)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "LAYER\tINSTRUCTIONS/SEND\tSHARE\t")
	for _, layer := range attrib.Layers() {
		if c, ok := byLayer[layer]; ok {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f%%\t\n", layer, c, 100*c/perSend)
		}
	}
	tw.Flush()
	sort.SliceStable(funcs, func(i, j int) bool { return funcs[i].Instructions > funcs[j].Instructions })
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  INSTRUCTIONS/SEND\tLAYER\tFUNCTION")
	for i, f := range funcs {
		if i == top {
			break
		}
		fmt.Fprintf(tw, "  %17.1f\t%s\t%s\n", f.Instructions, f.Layer, f.Function)
	}
	tw.Flush()
}

// profileServer runs figure 1's workload under the plugin and prints the
// functions with the most entries.
func profileServer(ctx context.Context, b *images.Builder, p *qemu.Platform, opts profileOptions, stdout io.Writer) error {
	k, err := b.CachedKernel(ctx, p)
	if err != nil {
		return err
	}
	load := repro.ProfileLoad
	load.Timeout = opts.timeout
	prof, err := profile.MeasureServer(ctx, b, p, k, load)
	if err != nil {
		return err
	}
	if opts.json {
		return writeJSON(stdout, prof)
	}
	fmt.Fprintf(stdout, "%s, network mode: the guest served %s connections (%s bad, %s failed) to %d clients, "+
		"who got %d responses; %d instructions in the serving window\n",
		prof.Platform, prof.Served["conns"], prof.Served["bad"], prof.Served["failed"], load.Clients,
		prof.Clients.Responses, prof.Instructions)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ENTRIES\tINSTRUCTIONS\tINSNS/BYTE\tLAYER\tFUNCTION")
	for i, f := range prof.Functions {
		if i == opts.top {
			break
		}
		fmt.Fprintf(tw, "  %d\t%d\t%.1f\t%s\t%s\n", f.Entries, f.Instructions, f.InstructionsPerByte(), f.Layer, f.Function)
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
