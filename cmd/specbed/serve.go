package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"specbed/images"
	"specbed/qemu"
	"specbed/specializer/server"
)

type serveOptions struct {
	listen      string
	platforms   []string
	readTimeout time.Duration
	maxConns    int
	maxCompiles int
	quiet       bool
}

func newServeCmd() *cobra.Command {
	var opts serveOptions
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--platform P,...]",
		Short: "Run the specialization server on a host TCP port",
		Long: `serve runs the specialization server: a device sends its kernel build id, a
declaration id ("udp") and its specialization context, and gets back the residual send
path compiled into a kernel module of its own kernel, signed with the key that kernel
trusts (protocol: specializer/server/PROTOCOL.md).

The server stays resident: declarations are parsed and analysed once, each kernel's
module build is recorded once at start (one kbuild, a few seconds), and modules are cached
under $XDG_CACHE_HOME/specbed/specializer by kernel, generic sources, declaration and
context without its per-instance values (a new socket with the same invariants is a
cache hit).

This is the paper's "specialize locally" case when the client runs on the same host: the
server is reached over an unshaped link. The guests themselves cannot run a compiler; in
the experiments the orchestrator embeds the same server on the virtual network's server
host, behind the 10 Mbit/s specialization link.

It serves the cached kernels of the platforms given (default: every platform whose kernel
is in the cache; build them with 'specbed images build'). Each request is logged on
stderr with its status and per-phase times. Stop it with Ctrl-C.`,
		Example: `  specbed serve --listen 127.0.0.1:7070
  specbed serve --platform i486,sa1100 --max-compiles 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), opts, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.listen, "listen", "127.0.0.1:7070", "TCP address to listen on (host:port)")
	f.StringSliceVar(&opts.platforms, "platform", nil, "platforms whose kernels to serve ("+strings.Join(qemu.Names(), ", ")+"; default: all with a cached kernel)")
	f.DurationVar(&opts.readTimeout, "read-timeout", server.DefaultReadTimeout, "limit for receiving one request; slower clients get a timeout response")
	f.IntVar(&opts.maxConns, "max-conns", server.DefaultMaxConns, "connections served at once; more get a busy response")
	f.IntVar(&opts.maxCompiles, "max-compiles", server.DefaultMaxCompiles, "specializations and compiles run at once")
	f.BoolVar(&opts.quiet, "quiet", false, "do not log each request")
	return cmd
}

func runServe(ctx context.Context, opts serveOptions, log io.Writer) error {
	b, err := images.NewBuilder()
	if err != nil {
		return err
	}
	kernels, err := serveKernels(ctx, b, opts.platforms, log)
	if err != nil {
		return err
	}
	cfg := server.Config{
		Kernels:     kernels,
		Decls:       server.DefaultDecls(b.Repo),
		ReadTimeout: opts.readTimeout,
		MaxConns:    opts.maxConns,
		MaxCompiles: opts.maxCompiles,
		Log:         log,
	}
	if opts.quiet {
		cfg.Log = nil
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := srv.Prepare(ctx); err != nil {
		return err
	}
	fmt.Fprintf(log, "specbed serve: declarations analysed and module builds recorded in %.1f s\n", time.Since(start).Seconds())
	l, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	for _, k := range kernels {
		fmt.Fprintf(log, "specbed serve: kernel %s = %s (%s)\n", server.KernelID(k), k.Platform, k.Release)
	}
	fmt.Fprintf(log, "specbed serve: listening on %s\n", l.Addr())
	return srv.Serve(ctx, l)
}

// serveKernels returns the cached kernels of the named platforms, or of
// every platform that has one when none is named.
func serveKernels(ctx context.Context, b *images.Builder, names []string, log io.Writer) ([]*images.Kernel, error) {
	all := len(names) == 0
	if all {
		names = qemu.Names()
	}
	var kernels []*images.Kernel
	for _, name := range names {
		p, err := qemu.Lookup(name)
		if err != nil {
			return nil, err
		}
		k, err := b.CachedKernel(ctx, p)
		if all && errors.Is(err, images.ErrNotBuilt) {
			fmt.Fprintf(log, "specbed serve: no cached %s kernel, not serving it\n", name)
			continue
		}
		if err != nil {
			return nil, err
		}
		kernels = append(kernels, k)
	}
	if len(kernels) == 0 {
		return nil, errors.New("serve: no cached kernel to serve: run 'specbed images build'")
	}
	return kernels, nil
}
