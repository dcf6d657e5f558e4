package repro

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"specbed/images"
	"specbed/qemu"
	"specbed/results"
	"specbed/specializer/server"
	"specbed/vnet"
)

// Guest paths and the flow of the overhead boot.
const (
	overheadContext = "/tmp/context.json"
	coldModule      = "/tmp/cold.ko"
	cachedModule    = "/tmp/cached.ko"
	// networkTimeout bounds a network-mode boot (host wall time): the
	// SA-1110's SLIP line takes seconds per module.
	networkTimeout = 5 * time.Minute
)

// Phases of figure 4(c), in the order a request goes through them.
const (
	PhaseCollect  = "collect context"
	PhaseUpload   = "upload"
	PhaseDownload = "download"
	PhaseLoad     = "load"
)

// Fetches of figure 4(c).
const (
	FetchCold   = "cold"
	FetchCached = "cached"
)

// Remote is one resident specialization server that every platform's
// overhead boot asks, with a fresh module cache so that each platform's
// first request is cold.
type Remote struct {
	srv *server.Server
	mu  sync.Mutex
	// served are the server's reports by kernel id, in order.
	served map[string][]server.Served
}

// NewRemote starts a server for the kernels with a module cache in
// cacheDir (empty: a new one) and prepares its compile recipes, so that
// no request pays for them.
func NewRemote(ctx context.Context, repo string, kernels []*images.Kernel, cacheDir string) (*Remote, error) {
	r := &Remote{served: map[string][]server.Served{}}
	srv, err := server.New(server.Config{
		Kernels:  kernels,
		Decls:    server.DefaultDecls(repo),
		CacheDir: cacheDir,
		Observe: func(sv server.Served) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.served[sv.Kernel] = append(r.served[sv.Kernel], sv)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("overhead: %w", err)
	}
	if err := srv.Prepare(ctx); err != nil {
		return nil, fmt.Errorf("overhead: %w", err)
	}
	r.srv = srv
	return r, nil
}

func (r *Remote) take(kernel string) []server.Served {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.served[kernel]
	delete(r.served, kernel)
	return out
}

// overheadSteps collect the context of the SizeFlow flow to the sink,
// fetch its module (cold), load it and fetch it again (cached). The flow
// is the UDP stream's at SizeFlow (streamFlow), so that an x86 guest's
// stream boot at that size can begin with these steps.
func overheadSteps(k *images.Kernel) []string {
	fetch := func(out string) string {
		return qemu.FetchStep{Server: vnet.ServerIP, Port: vnet.ServerPort, Build: server.KernelID(k),
			Decl: protocolUDP, Context: overheadContext, Out: out}.String()
	}
	flow := streamFlow(SizeFlow)
	flow.Out = overheadContext
	return []string{flow.String(), fetch(coldModule), qemu.InsmodStep{Path: coldModule}.String(), fetch(cachedModule)}
}

// netPlan loads the core module and brings up the guest's links with the
// default topology's addresses; the sink gets a static ARP entry, so the
// context holds its resolved neighbour.
func netPlan(p *qemu.Platform) []string {
	insmodCore := qemu.InsmodStep{Path: coreGuestPath}.String()
	if p.Link == qemu.LinkSLIP {
		return []string{insmodCore, qemu.NetStep{Dev: "sl0", Addr: vnet.GuestSLIPIP, Prefix: 32,
			Peer: vnet.RouterSLIPIP, Gateway: vnet.RouterSLIPIP, TTY: p.SLIPTTY, Baud: vnet.SLIPRate}.String()}
	}
	return []string{
		insmodCore,
		qemu.NetStep{Dev: "eth0", Addr: vnet.GuestSpecIP, Prefix: vnet.PrefixLen}.String(),
		qemu.NetStep{Dev: "eth1", Addr: vnet.GuestDataIP, Prefix: vnet.PrefixLen, Neigh: vnet.SinkIP, LLAddr: vnet.SinkMAC}.String(),
	}
}

// coreGuestPath is where the overhead boot's initramfs holds the core.
const coreGuestPath = "/lib/modules/specnet.ko"

// MeasureOverhead boots the guest in network mode on vnet's default
// topology (the specialization link at 10 Mbit/s, or the SA-1110's SLIP
// line), has it collect a context, fetch its module from r cold, load it
// and fetch it again from r's cache, and returns the phases of both
// fetches (overheadPhases). The x86 guests measure the same in their UDP
// stream boot at SizeFlow (MeasureStream).
func (e *Platform) MeasureOverhead(ctx context.Context, r *Remote) ([]results.PhaseTime, error) {
	e.step("specialization overhead (network mode)")
	boot, err := e.bootNetwork(ctx, r, e.coreFiles(), append(netPlan(e.P), overheadSteps(e.K)...), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: overhead boot: %w", e.P.Name, err)
	}
	return e.overheadPhases(boot.res, len(netPlan(e.P)), r)
}

// overheadPhases reads the results of overheadSteps, the first at step
// index first, and r's reports of the two requests: the guest's phases
// (context collection, download, load; guest clock, virtual ns) and the
// server's (upload = receiving the request, analysis, specialization,
// compile, sign; host wall time).
func (e *Platform) overheadPhases(res *qemu.Result, first int, r *Remote) ([]results.PhaseTime, error) {
	served := r.take(server.KernelID(e.K))
	steps := res.Steps
	if len(steps) < first+4 || steps[first].Customize == nil || steps[first+1].Fetch == nil ||
		steps[first+2].Insmod == nil || steps[first+3].Fetch == nil {
		return nil, fmt.Errorf("%s: overhead: results %+v do not follow the plan", e.P.Name, steps)
	}
	collect, cold, load, cached := steps[first].Customize, steps[first+1].Fetch, steps[first+2].Insmod, steps[first+3].Fetch
	switch {
	case cold.Status != 0 || cold.CacheHit || cached.Status != 0 || !cached.CacheHit:
		return nil, fmt.Errorf("%s: fetches %+v and %+v: want a miss, then a hit", e.P.Name, cold, cached)
	case load.Errno != 0:
		return nil, fmt.Errorf("%s: loading the fetched module: errno %d", e.P.Name, load.Errno)
	case len(served) != 2:
		return nil, fmt.Errorf("%s: the server answered %d requests, want 2", e.P.Name, len(served))
	}
	// The guest's byte counts go into figure 4(c)'s sizes: the server's
	// own count of the module must agree.
	for i, f := range []*qemu.FetchResult{cold, cached} {
		if f.ModuleBytes != served[i].ModuleBytes || f.RequestBytes <= 0 {
			return nil, fmt.Errorf("%s: fetch %d: guest got %d module bytes, server sent %d; request %d bytes",
				e.P.Name, i, f.ModuleBytes, served[i].ModuleBytes, f.RequestBytes)
		}
	}
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	var out []results.PhaseTime
	for i, f := range []*qemu.FetchResult{cold, cached} {
		fetch := []string{FetchCold, FetchCached}[i]
		add := func(phase string, v float64, bytes int) {
			out = append(out, results.PhaseTime{Platform: e.P.Name, Fetch: fetch, Phase: phase, Ms: v, Bytes: bytes})
		}
		add(PhaseCollect, ms(collect.NS), 0)
		sv := served[i]
		add(PhaseUpload, ms(sv.Phases[server.PhaseReceive].Nanoseconds()), f.RequestBytes)
		for _, p := range []server.Phase{server.PhaseAnalysis, server.PhaseSpecialization, server.PhaseCompile, server.PhaseSign} {
			add(p.String(), ms(sv.Phases[p].Nanoseconds()), 0)
		}
		add(PhaseDownload, ms(f.ReplyNS), f.ModuleBytes)
		// One load: the cached module is the cold one's bytes.
		add(PhaseLoad, ms(load.NS), 0)
	}
	return out, nil
}

// coreFiles are the initramfs files of a boot with the core module only.
func (e *Platform) coreFiles() []images.File {
	return []images.File{{Path: coreGuestPath, Source: e.Core}}
}

// sinkService runs on the sink host beside the sink (on another port) for
// one network boot: start is called once the network is up, before the
// guest starts; settle once the guest ended, before the network closes.
type sinkService interface {
	start(ctx context.Context, sinkHost *vnet.Host) error
	settle()
}

// netBoot is what a network-mode boot gave.
type netBoot struct {
	res *qemu.Result
	// sink is the sink's report, taken once the guest's links settled
	// and the sink went quiet.
	sink vnet.SinkReport
	// marks are when each step's result reached the host.
	marks *qemu.StepClock
	// data is the data link's traffic away from the guest (after settling).
	data vnet.DirStats
}

// SinkQuiet is how long (host wall time) the sink must receive nothing
// before its report is taken, once the guest's links have delivered or
// dropped every frame offered: the sink host's netstack then still hands
// queued datagrams to the sink's socket, which takes well under it.
const SinkQuiet = 200 * time.Millisecond

// bootNetwork runs plan on the guest in network mode with files in its
// initramfs, attached to a fresh default topology whose server host runs
// r's server (none if r is nil) and whose sink host runs the sink and svc
// (if not nil); it returns the sink's report and the steps' host-time
// marks too.
func (e *Platform) bootNetwork(ctx context.Context, r *Remote, files []images.File, plan []string, svc sinkService) (*netBoot, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	topo, err := vnet.DefaultTopology(e.P.Name, e.P.Link)
	if err != nil {
		return nil, err
	}
	n, err := vnet.Start(ctx, topo)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	served := make(chan error, 1)
	if r != nil {
		l, err := n.Host(vnet.ServerHost).Listen(ctx, "tcp", fmt.Sprintf(":%d", vnet.ServerPort))
		if err != nil {
			return nil, err
		}
		go func() { served <- r.srv.Serve(ctx, l) }()
	} else {
		served <- nil
	}
	// Datagrams to a closed port would bring ICMP errors back into the
	// guest; the sink takes and counts them.
	sink, err := vnet.StartSink(ctx, n.Host(vnet.SinkHost), vnet.SinkPort)
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	if svc != nil {
		if err := svc.start(ctx, n.Host(vnet.SinkHost)); err != nil {
			return nil, err
		}
	}
	initrd, err := e.B.Initramfs(ctx, e.P, files)
	if err != nil {
		return nil, err
	}
	var console bytes.Buffer
	marks := &qemu.StepClock{Tee: &console}
	cfg := qemu.Config{
		Platform:       e.P,
		Mode:           qemu.NetworkMode,
		Boot:           qemu.Boot{Kernel: e.K.Image, Initrd: initrd},
		Plan:           plan,
		SystemMap:      e.K.SystemMap,
		RunRoot:        e.RunRoot,
		Timeout:        networkTimeout,
		SilenceTimeout: bootSilence,
		Echo:           marks,
	}
	in, err := vnet.StartQEMU(ctx, n, &topo, cfg)
	if err != nil {
		return nil, err
	}
	res, err := in.Wait()
	if err == nil {
		err = settleSink(ctx, n, &topo, sink)
	}
	if svc != nil && err == nil {
		svc.settle()
	}
	out := &netBoot{res: res, sink: sink.Report(), marks: marks, data: n.Link(vnet.DataLink).Stats().AToB}
	cancel()
	if serr := <-served; serr != nil && err == nil {
		err = fmt.Errorf("server: %w", serr)
	}
	if err != nil {
		tail := console.Bytes()
		tail = tail[max(0, len(tail)-consoleTail):]
		return out, fmt.Errorf("%w\nconsole (last %d bytes):\n%s", err, len(tail), tail)
	}
	return out, nil
}

// settleSink waits until every frame the guest offered to topo's links
// was delivered or dropped (a SLIP line runs seconds behind its guest),
// then until the sink went quiet: its report then holds every datagram
// that will ever arrive, the last round's tail included.
func settleSink(ctx context.Context, n *vnet.Network, topo *vnet.Topology, sink *vnet.Sink) error {
	ctx, cancel := context.WithTimeout(ctx, networkSettle)
	defer cancel()
	var links []string
	for _, l := range topo.Links {
		links = append(links, l.Name)
	}
	if _, err := n.Settle(ctx, links...); err != nil {
		return err
	}
	return sink.WaitQuiet(ctx, SinkQuiet)
}

// networkSettle bounds settleSink (host wall time): a full 64 KiB queue on
// the 230400 bit/s SLIP line takes 2.3 s to drain.
const networkSettle = 30 * time.Second

// consoleTail is how much of the console a failed boot's error quotes (bytes).
const consoleTail = 3000
