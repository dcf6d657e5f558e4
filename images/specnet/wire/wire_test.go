package wire

// The guest test of issue 5's faithfulness promise: on every platform, in
// network mode on vnet's default topology, the guest customizes a flow to
// the sink (10.2.0.1:9), fetches the residual of its context from the
// specialization server, loads it, and sends the same payloads through
// the kernel's sendto(), the core module's generic path and the residual
// (each through the ioctl and through customized_send), interleaved. The
// capture of the guest's data path (the data link, or the SLIP line) must
// hold, for every payload, one datagram per path, all agreeing in every
// field (Compare), with IDs from one generator (IDSequence).
// Everything is real: kernels, QEMU, the agent, the specialization
// server with its compiler, gVisor netstacks.

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"specbed/images"
	"specbed/images/specnet/core"
	"specbed/qemu"
	"specbed/results"
	"specbed/specializer/server"
	"specbed/vnet"
)

// Sizes are the UDP payloads compared, in bytes: 1472 fills an Ethernet
// MTU (1500 = 1472 + 8 + 20); on the SLIP line (MTU 296) every size but
// 64 is fragmented.
func Sizes() []int { return []int{64, 512, 1024, 1472} }

// The compared paths, in the order each round sends through them: the
// kernel's sendto() first (the reference), then the core's generic path
// and the token's residual, each through /dev/specnet's ioctl and through
// the customized_send system call.
var comparedPaths = []qemu.SendPath{qemu.PathSendto, qemu.PathGeneric, qemu.PathSpecial,
	qemu.PathCustomized, qemu.PathCustomizedGeneric}

// pathCounter is the core's counter a send through path adds to ("" for
// the kernel's own sendto()).
func pathCounter(path qemu.SendPath) string {
	switch path {
	case qemu.PathSpecial, qemu.PathCustomized:
		return "sends_specialized"
	case qemu.PathGeneric, qemu.PathCustomizedGeneric:
		return "sends_generic"
	}
	return ""
}

const (
	// flowSrcPort is the flow socket's source port (fixed, as in every
	// specnet test, so that contexts repeat).
	flowSrcPort = 5000
	coreModule  = core.GuestPath
	tokenSlot   = 0
	// ethernetRounds and slipRounds: sends per path and size. The SLIP
	// line carries 230400 bit/s, so it gets fewer.
	ethernetRounds = 8
	slipRounds     = 3
	// guestClockFactor bounds how much faster than host time the guest's
	// clock (and so its jiffies) can run: in network mode it follows host
	// time while the guest idles and advances 2^shift ns per instruction
	// while it runs, which TCG can execute several times faster than the
	// shift's rate (i486: 31 million instructions per second).
	guestClockFactor = 16
	// captureSlack bounds how late the sink can capture a datagram after
	// the guest sent it (host time: the links and a loaded host's
	// scheduling).
	captureSlack = 500 * time.Millisecond
)

// timeouts in host wall time: a cold fetch compiles the residual while
// other builds share the two cores.
const (
	bootTimeout    = 30 * time.Minute
	silenceTimeout = 10 * time.Minute
	lineTimeout    = 10 * time.Minute
)

// wireEnv is what the platforms' runs share.
type wireEnv struct {
	b *images.Builder
}

// newServer starts a specialization server for kernel k with a fresh
// cache, its declaration analysis and compile recipe done ahead.
func (e *wireEnv) newServer(t *testing.T, k *images.Kernel) *server.Server {
	t.Helper()
	srv, err := server.New(server.Config{Kernels: []*images.Kernel{k}, Decls: server.DefaultDecls(e.b.Repo), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestWire compares the paths' datagrams on every platform, one
// boot each, in parallel. It keeps each platform's capture and console in
// out/wire/<platform>/ and writes out/bench/wire.json.
func TestWire(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: boots every platform in network mode and compiles residuals")
	}
	b, err := images.NewBuilder()
	if err != nil {
		t.Fatal(err)
	}
	e := &wireEnv{b: b}
	reports := make([][]sizeReport, len(qemu.All()))
	t.Run("platforms", func(t *testing.T) {
		for i, p := range qemu.All() {
			t.Run(p.Name, func(t *testing.T) {
				t.Parallel()
				reports[i] = e.platform(t, p)
			})
		}
	})
	var all []sizeReport
	for _, r := range reports {
		all = append(all, r...)
	}
	if len(all) > 0 {
		if _, err := results.WriteBench(e.b.Repo, "wire.json", all); err != nil {
			t.Fatal(err)
		}
	}
}

// sizeReport is one line of out/bench/wire.json: what was compared for
// one payload size on one platform.
type sizeReport struct {
	Platform string `json:"platform"`
	Link     string `json:"link"`
	Size     int    `json:"size_bytes"`
	// Rounds: each sent the same payload through every compared path.
	Rounds int `json:"rounds"`
	// Fragments is the number of IPv4 packets per datagram on the link.
	Fragments int `json:"fragments"`
	// Compared counts the datagrams compared with the kernel's (per
	// round, the generic and the specialized path's); Mismatches the
	// fields that differed.
	Compared   int `json:"compared"`
	Mismatches int `json:"mismatches"`
	// IDSteps counts the IP ID steps from one path's datagram to the next
	// path's within a round; IDStepsOfOne those of exactly 1. MaxIDStep
	// is the largest step between any two consecutive datagrams.
	IDSteps      int `json:"id_steps"`
	IDStepsOfOne int `json:"id_steps_of_one"`
	MaxIDStep    int `json:"max_id_step"`
	// SpecializedSends and GenericSends are the core's counter increases
	// over the rounds.
	SpecializedSends int64 `json:"specialized_sends"`
	GenericSends     int64 `json:"generic_sends"`
	// Residual is the module the server built for the size's context.
	Residual string `json:"residual"`
}

// dataPath is where a platform's datagrams to the sink are captured:
// the data link for an Ethernet guest, the SLIP line (IPv4 packets, no
// Ethernet header) for the SA-1110.
func dataPath(p *qemu.Platform) (link string, flow Flow) {
	sink := netip.MustParseAddr(vnet.SinkIP)
	if p.Link == qemu.LinkSLIP {
		return vnet.SLIPLink, Flow{Src: netip.MustParseAddr(vnet.GuestSLIPIP), Dst: sink}
	}
	return vnet.DataLink, Flow{Src: netip.MustParseAddr(vnet.GuestDataIP), Dst: sink}
}

// netPlan loads the core module and brings up the guest's links with the
// default topology's addresses. The sink gets a static ARP entry, so the
// context holds its resolved neighbour and no ARP exchange sits between
// the compared sends.
func netPlan(p *qemu.Platform) []string {
	insmodCore := qemu.InsmodStep{Path: coreModule}.String()
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

// run is what one platform's boot left behind.
type run struct {
	res       *qemu.Result
	console   string
	pcap      string
	flow      Flow
	delivered int64 // datagrams the sink got from the flow
	residual  map[int]string
}

func (e *wireEnv) platform(t *testing.T, p *qemu.Platform) []sizeReport {
	outDir := filepath.Join(e.b.Repo, "out", "wire", p.Name)
	if err := os.RemoveAll(outDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	k, err := e.b.CachedKernel(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	r := e.boot(t, p, k, outDir)
	if err := os.WriteFile(filepath.Join(outDir, "console.log"), []byte(r.console), 0o644); err != nil {
		t.Fatal(err)
	}
	reports := check(t, p, k, r)
	for _, rep := range reports {
		t.Logf("%s %4d B: %d rounds, %d fragment(s) per datagram, %d datagrams compared with the kernel's, %d mismatches; "+
			"IP ID steps within rounds: %d of %d exactly 1, largest step %d; residual %s",
			p.Name, rep.Size, rep.Rounds, rep.Fragments, rep.Compared, rep.Mismatches, rep.IDStepsOfOne, rep.IDSteps, rep.MaxIDStep, rep.Residual)
	}
	return reports
}

func rounds(p *qemu.Platform) int {
	if p.Link == qemu.LinkSLIP {
		return slipRounds
	}
	return ethernetRounds
}

// seed is the payload seed of a round: unique per size and round, so
// that the capture says which round a datagram belongs to.
func seed(sizeIndex, round, rounds int) int { return 1 + sizeIndex*rounds + round }

// boot runs the platform's guest through every size in one boot.
func (e *wireEnv) boot(t *testing.T, p *qemu.Platform, k *images.Kernel, outDir string) *run {
	srv := e.newServer(t, k)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	link, flow := dataPath(p)
	out := &run{pcap: filepath.Join(outDir, link+"-ingress.pcap"), flow: flow, residual: map[int]string{}}
	topo, err := vnet.DefaultTopology(p.Name, p.Link)
	if err != nil {
		t.Fatal(err)
	}
	topo.Link(link).IngressPcap = out.pcap
	if link != vnet.DataLink {
		// What the router forwarded to the sink, for the record.
		topo.Link(vnet.DataLink).Pcap = filepath.Join(outDir, vnet.DataLink+".pcap")
	}
	n, err := vnet.Start(ctx, topo)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	l, err := n.Host(vnet.ServerHost).Listen(ctx, "tcp", fmt.Sprintf(":%d", vnet.ServerPort))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	sink, err := vnet.StartSink(ctx, n.Host(vnet.SinkHost), vnet.SinkPort)
	if err != nil {
		t.Fatal(err)
	}

	coreFile, err := core.GuestFile(ctx, e.b, k)
	if err != nil {
		t.Fatal(err)
	}
	initrd, err := e.b.Initramfs(ctx, p, []images.File{coreFile})
	if err != nil {
		t.Fatal(err)
	}
	con := newConsole()
	runRoot := t.TempDir()
	cfg := qemu.Config{
		Platform:       p,
		Mode:           qemu.NetworkMode,
		Boot:           qemu.Boot{Kernel: k.Image, Initrd: initrd},
		Plan:           append(netPlan(p), "ctl"),
		SystemMap:      k.SystemMap,
		RunRoot:        runRoot,
		Timeout:        bootTimeout,
		SilenceTimeout: silenceTimeout,
		Echo:           con,
	}
	in, err := vnet.StartQEMU(ctx, n, &topo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	sessionErr := session(ctx, p, k, in, con, out)
	if sessionErr == nil {
		_, sessionErr = (&ctlSession{con: con, control: in.Control(), lineTimeout: lineTimeout}).run(ctx, "end")
	}
	if sessionErr != nil {
		in.Close()
	}
	out.res, err = in.Wait()
	out.console = con.String()
	// The guest has ended; its last datagrams can still be on a slow line
	// (the SLIP line runs seconds behind the guest): wait for the links the
	// flow crosses to deliver them before reading the sink.
	crossed := []string{link}
	if link != vnet.DataLink {
		crossed = append(crossed, vnet.DataLink)
	}
	settleCtx, cancelSettle := context.WithTimeout(ctx, time.Minute)
	if _, serr := n.Settle(settleCtx, crossed...); serr != nil {
		t.Errorf("vnet: %v", serr)
	}
	cancelSettle()
	// Stop serving, flush the capture.
	cancel()
	if err := <-served; err != nil {
		t.Errorf("server: %v", err)
	}
	for _, f := range sink.Report().UDP {
		if strings.HasPrefix(f.Source, flow.Src.String()+":") {
			out.delivered += f.Datagrams
		}
	}
	if err := n.Close(); err != nil {
		t.Errorf("vnet: %v", err)
	}
	if sessionErr != nil || err != nil {
		os.WriteFile(filepath.Join(outDir, "console.log"), []byte(out.console), 0o644)
		t.Fatalf("%s guest: session: %v; run: %v\nconsole in %s", p.Name, sessionErr, err, outDir)
	}
	return out
}

// session drives the agent's ctl step: per size, customize the flow to
// the sink (context saved to a file), fetch its residual, load it, send
// the rounds, check the counters, unload.
func session(ctx context.Context, p *qemu.Platform, k *images.Kernel, in *qemu.Instance, con *console, out *run) error {
	select {
	case <-in.Listening():
	case <-ctx.Done():
		return ctx.Err()
	}
	s := &ctlSession{con: con, control: in.Control(), lineTimeout: lineTimeout}
	nRounds := rounds(p)
	for i, size := range Sizes() {
		ctxFile := fmt.Sprintf("/tmp/context-%d.json", size)
		ko := fmt.Sprintf("/tmp/residual-%d.ko", size)
		if _, err := s.run(ctx, qemu.CustomizeStep{Dst: vnet.SinkIP, Port: vnet.SinkPort, SrcPort: flowSrcPort,
			ADU: size, Out: ctxFile}.String()); err != nil {
			return err
		}
		if _, err := s.run(ctx, qemu.FetchStep{Server: vnet.ServerIP, Port: vnet.ServerPort,
			Build: server.KernelID(k), Decl: "udp", Context: ctxFile, Out: ko}.String()); err != nil {
			return err
		}
		lines, err := s.run(ctx, qemu.InsmodStep{Path: ko}.String())
		if err != nil {
			return err
		}
		name := residualName(lines)
		if name == "" {
			return fmt.Errorf("%d B: the residual did not announce its name (\"specnet residual ... loaded as ...\")", size)
		}
		out.residual[size] = name
		// refuse: a send the residual declines fails instead of falling
		// back to the generic path, whose datagrams would pass for it.
		if _, err := s.run(ctx, qemu.LoadStep{Slot: tokenSlot, Name: name, Policy: "refuse"}.String()+";counters"); err != nil {
			return err
		}
		for r := range nRounds {
			if _, err := s.run(ctx, roundLine(p, size, seed(i, r, nRounds))); err != nil {
				return err
			}
		}
		if _, err := s.run(ctx, strings.Join([]string{qemu.CountersStep{}.String(),
			qemu.ReleaseStep{Slot: tokenSlot}.String(), qemu.RmmodStep{Name: name}.String()}, ";")); err != nil {
			return err
		}
	}
	return nil
}

// roundLine sends one payload through every compared path, back to back
// in one control line so that the sends fall within a jiffy or two. On
// the SLIP line the agent waits between them for the line to carry the
// datagram: SLIP keeps 10 packets in its queue, fewer than two 1472-byte
// datagrams' fragments.
func roundLine(p *qemu.Platform, size, seed int) string {
	var steps []string
	for i, path := range comparedPaths {
		if i > 0 && p.Link == qemu.LinkSLIP {
			steps = append(steps, fmt.Sprintf("sleep,ms=%d", slipDrainMs(size)))
		}
		steps = append(steps, qemu.SendStep{Path: path, Slot: tokenSlot, Size: size, Count: 1, Seed: seed}.String())
	}
	return strings.Join(steps, ";")
}

// slipDrainMs is twice the time the SLIP line takes for one datagram of
// size payload bytes in fragments of at most 296 bytes, in ms (escapes
// ignored: the ramp payload holds few of SLIP's END and ESC bytes).
func slipDrainMs(size int) int {
	const mtu, header = 296, 20
	body := size + 8
	perFragment := (mtu - header) &^ 7
	frags := (body + perFragment - 1) / perFragment
	wireBytes := body + frags*(header+2) // each fragment: IP header, two END bytes
	return 2*wireBytes*8*1000/vnet.SLIPRate + 20
}

// residualName finds the name the residual module announced when it was
// loaded ("specnet residual <entry> loaded as <name>").
func residualName(lines []string) string {
	const marker = " loaded as "
	for _, l := range lines {
		if i := strings.Index(l, "specnet residual "); i >= 0 {
			if j := strings.Index(l[i:], marker); j >= 0 {
				return strings.Fields(l[i+j+len(marker):])[0]
			}
		}
	}
	return ""
}

// kernelHZ reads CONFIG_HZ (timer ticks per second) from k's .config.
func kernelHZ(k *images.Kernel) (int, error) {
	f, err := os.Open(k.Config)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CONFIG_HZ="); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("%s: no CONFIG_HZ", k.Config)
}

// check reads the boot's results and capture and compares the paths.
func check(t *testing.T, p *qemu.Platform, k *images.Kernel, r *run) []sizeReport {
	hz, err := kernelHZ(k)
	if err != nil {
		t.Fatal(err)
	}
	nRounds := rounds(p)
	reports := checkSteps(t, p, r.res, nRounds)
	ds, err := ReadCapture(r.pcap, r.flow)
	if err != nil {
		t.Fatal(err)
	}
	want := len(Sizes()) * nRounds * len(comparedPaths)
	if len(ds) != want {
		t.Errorf("%s holds %d datagrams of %v, want %d", r.pcap, len(ds), r.flow, want)
	}
	// The capture by round: a round's datagrams carry its seed's ramp.
	type roundKey struct{ size, seed int }
	byRound := map[roundKey][]*Datagram{}
	for _, d := range ds {
		if !d.Complete || len(d.Payload) == 0 {
			t.Errorf("datagram with IP ID %d at %v: incomplete (%d fragments captured)", d.ID(), d.At(), len(d.Fragments))
			continue
		}
		k := roundKey{len(d.Payload), int(d.Payload[0])}
		byRound[k] = append(byRound[k], d)
	}
	// One sequence: every datagram of the flow, in capture order (the
	// agent sends one at a time and the link keeps the order). The IDs
	// themselves differ from run to run: the kernel fills its ID buckets
	// with random numbers at boot, keys their hash with a random siphash
	// key per network namespace, and jumps a bucket by a random amount
	// below the jiffies it sat idle, which in network mode follow host
	// time. Only their steps are checked.
	var seq []IDSample
	label := map[*Datagram]string{}
	for i, size := range Sizes() {
		rep := &reports[i]
		rep.Residual = r.residual[size]
		for round := range nRounds {
			sd := seed(i, round, nRounds)
			got := byRound[roundKey{size, sd}]
			if len(got) != len(comparedPaths) {
				t.Errorf("%d B round %d: the capture holds %d datagrams with its payload, want %d (%v)", size, round, len(got), len(comparedPaths), comparedPaths)
				continue
			}
			payload := ramp(size, byte(sd))
			kernel := got[0]
			for _, d := range Check(kernel, payload) {
				t.Errorf("kernel's sendto(), %d B, round %d: %v", size, round, d)
				rep.Mismatches++
			}
			if int(kernel.UDP.SrcPort) != flowSrcPort || int(kernel.UDP.DstPort) != vnet.SinkPort {
				t.Errorf("kernel's sendto(), %d B, round %d: ports %d -> %d, want %d -> %d", size, round,
					kernel.UDP.SrcPort, kernel.UDP.DstPort, flowSrcPort, vnet.SinkPort)
			}
			if eth := kernel.Fragments[0].Eth; eth != nil && (eth.SrcMAC.String() != vnet.GuestMAC(0, vnet.DataNIC) || eth.DstMAC.String() != vnet.SinkMAC) {
				t.Errorf("kernel's sendto(), %d B, round %d: Ethernet %v -> %v, want %s -> %s", size, round,
					eth.SrcMAC, eth.DstMAC, vnet.GuestMAC(0, vnet.DataNIC), vnet.SinkMAC)
			}
			rep.Fragments = len(kernel.Fragments)
			for j, path := range comparedPaths {
				label[got[j]] = fmt.Sprintf("%s, %d B, round %d", path, size, round)
				if j == 0 {
					continue
				}
				rep.Compared++
				for _, d := range Compare(kernel, got[j]) {
					t.Errorf("%s path, %d B, round %d: %s: kernel %s, %s %s", path, size, round, d.Field, d.Want, path, d.Got)
					rep.Mismatches++
				}
				step := int(got[j].ID() - got[j-1].ID())
				rep.IDSteps++
				if step == 1 {
					rep.IDStepsOfOne++
				}
			}
		}
	}
	for _, d := range ds {
		if label[d] == "" {
			label[d] = fmt.Sprintf("unexpected datagram of %d B", len(d.Payload))
		}
		seq = append(seq, IDSample{Label: label[d], ID: d.ID(), At: d.At()})
	}
	// The sink must get every datagram: vnet's routers forward fragments
	// unchanged (vnet/README.md) and the links were settled before counting.
	if r.delivered != int64(want) {
		t.Errorf("the sink got %d datagrams from %s, want every one of %d", r.delivered, r.flow.Src, want)
	}
	t.Logf("%s: the sink got %d of the %d datagrams", p.Name, r.delivered, want)
	// The gap is between captures at the sink, which a loaded host can
	// make late by up to captureSlack after the send (seen: 27 jiffies
	// between two datagrams captured moments apart, with three CPU burners
	// beside the guests). The window stays a few dozen IDs of 65536 wide,
	// so a path with an ID generator of its own still falls outside it.
	maxJump := func(gap time.Duration) int {
		return int(math.Ceil(gap.Seconds()*float64(hz)*guestClockFactor+captureSlack.Seconds()*float64(hz))) + 2
	}
	for _, msg := range IDSequence(seq, maxJump) {
		t.Errorf("%s: %s", p.Name, msg)
	}
	sizeOf := map[int]int{}
	for i, s := range Sizes() {
		sizeOf[s] = i
	}
	for i := 1; i < len(ds); i++ {
		if si, ok := sizeOf[len(ds[i].Payload)]; ok {
			reports[si].MaxIDStep = max(reports[si].MaxIDStep, int(ds[i].ID()-ds[i-1].ID()))
		}
	}
	return reports
}

// checkSteps reads the agent's results: per size a load, the counters
// before and after the rounds, every send without error, a release and
// an unload; the specialized path must have served exactly its sends.
func checkSteps(t *testing.T, p *qemu.Platform, res *qemu.Result, nRounds int) []sizeReport {
	var reports []sizeReport
	var loads []*qemu.LoadResult
	var counters []map[string]int64
	sends := 0
	for _, s := range res.Steps {
		switch s.Kind {
		case "load":
			loads = append(loads, s.Load)
		case "counters":
			counters = append(counters, s.Counters)
		case "send":
			sends++
			if s.Send.Errors != 0 {
				t.Errorf("step %d: send through %s: %d errors (errno %d)", s.Step, s.Send.Path, s.Send.Errors, s.Send.Errno)
			}
		case "release":
			if s.Release.Errno != 0 {
				t.Errorf("step %d: release: errno %d", s.Step, s.Release.Errno)
			}
		case "rmmod":
			if s.Rmmod.Errno != 0 {
				t.Errorf("step %d: rmmod: errno %d", s.Step, s.Rmmod.Errno)
			}
		}
	}
	if want := len(Sizes()) * nRounds * len(comparedPaths); sends != want {
		t.Errorf("%d send results, want %d", sends, want)
	}
	if len(loads) != len(Sizes()) || len(counters) != 2*len(Sizes()) {
		t.Fatalf("%d load and %d counters results, want %d and %d", len(loads), len(counters), len(Sizes()), 2*len(Sizes()))
	}
	for i, size := range Sizes() {
		if loads[i].Token == 0 || loads[i].Errno != 0 {
			t.Errorf("%d B: load of %s: errno %d", size, loads[i].Name, loads[i].Errno)
		}
		before, after := counters[2*i], counters[2*i+1]
		delta := func(name string) int64 { return after[name] - before[name] }
		rep := sizeReport{Platform: p.Name, Link: string(p.Link), Size: size, Rounds: nRounds,
			SpecializedSends: delta("sends_specialized"), GenericSends: delta("sends_generic")}
		want := map[string]int64{}
		for _, path := range comparedPaths {
			if c := pathCounter(path); c != "" {
				want[c] += int64(nRounds)
			}
		}
		if rep.SpecializedSends != want["sends_specialized"] || rep.GenericSends != want["sends_generic"] {
			t.Errorf("%d B: the counters rose by %d specialized and %d generic sends, want %d and %d",
				size, rep.SpecializedSends, rep.GenericSends, want["sends_specialized"], want["sends_generic"])
		}
		if delta("fallbacks") != 0 || delta("refused") != 0 {
			t.Errorf("%d B: %d fallbacks and %d refusals, want none", size, delta("fallbacks"), delta("refused"))
		}
		reports = append(reports, rep)
	}
	return reports
}
