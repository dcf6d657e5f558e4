package profile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"specbed/images"
	"specbed/qemu"
	"specbed/qemu/plugin"
	"specbed/qemu/plugin/attrib"
	"specbed/vnet"
)

// The agent's httpd step calls these right before its first accept()
// and after its last close: the server window's trigger addresses.
const (
	serverOpenSymbol  = "httpd_window_open"
	serverCloseSymbol = "httpd_window_close"
)

// ServerPort is the guest web server's TCP port.
const ServerPort = 80

// ServerLoad is the workload of a server profile (figure 1: the paper's
// in-kernel web server under 100 concurrent connections).
type ServerLoad struct {
	// Clients are the concurrent HTTP clients on the host (vnet's sink
	// host, across the data link).
	Clients int
	// Conns is the connections the guest serves before the window closes.
	Conns int
	// BodyBytes is the body of every response (bytes).
	BodyBytes int
	// Timeout bounds the boot (host wall time).
	Timeout time.Duration
}

// ServerFunc is one function's share of a server window.
type ServerFunc struct {
	// Function is "name" for the kernel, "object:name" otherwise.
	Function string `json:"function"`
	Layer    string `json:"layer"`
	// Entries are the executions of the function's first instruction:
	// its calls, plus any jump back to its start (rare in compiled C).
	Entries uint64 `json:"entries"`
	// Instructions executed in the function (guest instructions).
	Instructions uint64 `json:"instructions"`
	// SizeBytes is the function's extent: from its symbol to the next
	// one (bytes), as readprofile measures it from System.map.
	SizeBytes uint64 `json:"size_bytes"`
}

// InstructionsPerByte is our analog of readprofile's "load" (clock ticks
// per byte of the function): instructions executed per byte of its code.
func (f ServerFunc) InstructionsPerByte() float64 {
	if f.SizeBytes == 0 {
		return 0
	}
	return float64(f.Instructions) / float64(f.SizeBytes)
}

// ServerProfile is the kernel's profile while the guest served a load.
type ServerProfile struct {
	Platform    string     `json:"platform"`
	IcountShift int        `json:"icount_shift"`
	Load        ServerLoad `json:"load"`
	// Served is the agent's httpd result fields (conns, bad, failed,
	// bytes, ns); Clients what the host's clients saw.
	Served  map[string]string   `json:"served"`
	Clients vnet.HTTPLoadReport `json:"clients"`
	// Instructions is every instruction of the window; ByLayer splits it.
	Instructions uint64            `json:"instructions"`
	ByLayer      map[string]uint64 `json:"by_layer"`
	// Functions, by entries then instructions, highest first.
	Functions []ServerFunc `json:"functions"`
}

// MeasureServer boots p's kernel k in network mode on vnet's default
// topology under the insncount plugin, has the agent serve load.Conns
// HTTP connections on the data NIC while load.Clients host clients keep
// connecting, and returns every function's entries and instructions in
// the serving window. Each kernel function gets two plugin ranges, its
// first instruction and the rest, so that the first counts its entries.
func MeasureServer(ctx context.Context, b *images.Builder, p *qemu.Platform, k *images.Kernel, load ServerLoad) (*ServerProfile, error) {
	if p.Link != qemu.LinkEthernet {
		return nil, fmt.Errorf("profile: server: %s has no Ethernet data NIC", p.Name)
	}
	pl, err := plugin.Build(ctx, b.Cache)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "specbed-server-profile-")
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	defer os.RemoveAll(dir)
	kernel, err := attrib.LoadELF(k.Vmlinux, attrib.ObjectKernel, nil)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	initrd, err := b.AgentInitramfs(ctx, p)
	if err != nil {
		return nil, err
	}
	agent, err := loadAgent(initrd, dir)
	if err != nil {
		return nil, err
	}
	open, closing := symbolStart(agent, serverOpenSymbol), symbolStart(agent, serverCloseSymbol)
	if open == 0 || closing == 0 {
		return nil, fmt.Errorf("profile: the agent in %s has no %s or %s", initrd, serverOpenSymbol, serverCloseSymbol)
	}
	split := splitEntries(kernel.Funcs())
	opts := plugin.Options{
		Out:      filepath.Join(dir, "counts.txt"),
		Ranges:   filepath.Join(dir, "ranges.txt"),
		Triggers: []uint64{open, closing},
	}
	if err := plugin.WriteRanges(opts.Ranges, split.ranges); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	args, err := pl.Args(opts)
	if err != nil {
		return nil, err
	}
	served, clients, err := serveLoad(ctx, p, k, initrd, args, load)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(opts.Out)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	snaps, err := plugin.ReadDump(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	window, err := serverWindow(snaps, open, closing)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	a := &attributor{kernel: kernel, others: agent, rules: attrib.DefaultRules()}
	perFunc, entries := split.merge(window, kernel.Funcs())
	for addr, n := range window.Addrs {
		if f := agent.Lookup(addr); f != nil && f.Start == addr {
			entries[f.String()] += n
		}
	}
	w := a.window(perFunc)
	sizes := map[string]uint64{}
	for _, t := range []*attrib.Table{kernel, agent} {
		for _, f := range t.Funcs() {
			sizes[f.String()] = f.End - f.Start
		}
	}
	prof := &ServerProfile{Platform: p.Name, IcountShift: p.IcountShift, Load: load, Served: served, Clients: clients,
		Instructions: w.Instructions, ByLayer: w.ByLayer}
	for _, fc := range w.Functions {
		prof.Functions = append(prof.Functions, ServerFunc{Function: fc.Function, Layer: fc.Layer,
			Entries: entries[fc.Function], Instructions: fc.Instructions, SizeBytes: sizes[fc.Function]})
	}
	sort.SliceStable(prof.Functions, func(i, j int) bool {
		fi, fj := prof.Functions[i], prof.Functions[j]
		if fi.Entries != fj.Entries {
			return fi.Entries > fj.Entries
		}
		return fi.Instructions > fj.Instructions
	})
	return prof, nil
}

// entrySplit gives each function of a table two plugin ranges: its first
// instruction's byte, whose count is the function's entries, and the rest
// (none for a one-byte function).
type entrySplit struct {
	ranges      []plugin.Range
	entry, body []int // by function index: range index; body -1 for none
}

func splitEntries(funcs []*attrib.Func) entrySplit {
	s := entrySplit{entry: make([]int, len(funcs)), body: make([]int, len(funcs))}
	for i, f := range funcs {
		s.entry[i] = len(s.ranges)
		s.ranges = append(s.ranges, plugin.Range{Start: f.Start, End: f.Start + 1})
		s.body[i] = -1
		if f.End > f.Start+1 {
			s.body[i] = len(s.ranges)
			s.ranges = append(s.ranges, plugin.Range{Start: f.Start + 1, End: f.End})
		}
	}
	return s
}

// merge turns a window over the split ranges into one over functions
// (range i is function i, as attributor.window reads it) and the entries
// of each kernel function by name.
func (s entrySplit) merge(d *plugin.Snapshot, funcs []*attrib.Func) (*plugin.Snapshot, map[string]uint64) {
	out := &plugin.Snapshot{Seq: d.Seq, Trigger: d.Trigger, Exit: d.Exit, Total: d.Total,
		Ranges: map[int]uint64{}, Addrs: d.Addrs}
	entries := map[string]uint64{}
	for i, f := range funcs {
		n := d.Ranges[s.entry[i]]
		if s.body[i] >= 0 {
			n += d.Ranges[s.body[i]]
		}
		if n != 0 {
			out.Ranges[i] = n
		}
		if e := d.Ranges[s.entry[i]]; e != 0 {
			entries[f.String()] = e
		}
	}
	return out, entries
}

// serverWindow is the counts between the window's open and close
// snapshots.
func serverWindow(snaps []*plugin.Snapshot, open, closing uint64) (*plugin.Snapshot, error) {
	var first, last *plugin.Snapshot
	for _, s := range snaps {
		switch {
		case s.Exit:
		case s.Trigger == open && first == nil:
			first = s
		case s.Trigger == closing && first != nil && last == nil:
			last = s
		}
	}
	if first == nil || last == nil {
		return nil, errors.New("the plugin saw no serving window (httpd_window_open, then httpd_window_close)")
	}
	return last.Sub(first), nil
}

// httpdStep is the agent step that serves load (images/agent/PROTOCOL.md).
func httpdStep(load ServerLoad) string {
	return "httpd,port=" + strconv.Itoa(ServerPort) + ",conns=" + strconv.Itoa(load.Conns) +
		",size=" + strconv.Itoa(load.BodyBytes)
}

// serveLoad runs the guest's server against the host's clients: the
// data NIC up, the httpd step, the clients started when it listens.
func serveLoad(ctx context.Context, p *qemu.Platform, k *images.Kernel, initrd string, instruments []string, load ServerLoad) (map[string]string, vnet.HTTPLoadReport, error) {
	var none vnet.HTTPLoadReport
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	topo, err := vnet.DefaultTopology(p.Name, p.Link)
	if err != nil {
		return nil, none, err
	}
	n, err := vnet.Start(ctx, topo)
	if err != nil {
		return nil, none, err
	}
	defer n.Close()
	var console qemu.ConsoleCopy
	plan := []string{
		qemu.NetStep{Dev: "eth1", Addr: vnet.GuestDataIP, Prefix: vnet.PrefixLen}.String(),
		httpdStep(load),
	}
	in, err := vnet.StartQEMU(ctx, n, &topo, qemu.Config{
		Platform:       p,
		Mode:           qemu.NetworkMode,
		Boot:           qemu.Boot{Kernel: k.Image, Initrd: initrd},
		Plan:           plan,
		SystemMap:      k.SystemMap,
		Timeout:        load.Timeout,
		SilenceTimeout: load.Timeout,
		Echo:           &console,
		Instruments:    instruments,
	})
	if err != nil {
		return nil, none, fmt.Errorf("profile: %w", err)
	}
	var clients *vnet.HTTPLoad
	select {
	case <-in.Listening():
		clients = vnet.StartHTTPLoad(ctx, n.Host(vnet.SinkHost), vnet.GuestDataIP+":"+strconv.Itoa(ServerPort), load.Clients)
	case <-ctx.Done():
	}
	res, err := in.Wait()
	var report vnet.HTTPLoadReport
	if clients != nil {
		report = clients.Stop()
	}
	if err != nil {
		return nil, report, fmt.Errorf("profile: server: %w\nconsole:\n%s", err, console.String())
	}
	for _, s := range res.Steps {
		if s.Kind == "httpd" {
			return s.Fields, report, nil
		}
	}
	return nil, report, fmt.Errorf("profile: server: no httpd result\nconsole:\n%s", console.String())
}
