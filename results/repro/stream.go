package repro

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"specbed/qemu"
	"specbed/results"
	"specbed/specializer/server"
	"specbed/vnet"
)

// The UDP stream over a NIC: the flow goes from the guest's data NIC over
// the 1 Gbit/s data link to the sink, like netperf's UDP_STREAM.
const (
	// streamSrcPort is the flow socket's port (fixed: the context holds it).
	streamSrcPort = 5000
	// StreamCount timed sends per iteration and path, after StreamWarmup.
	StreamCount  = 1000
	StreamWarmup = 100
	// streamSlot holds the residual's token; its policy is refuse, so a
	// send the residual declines fails instead of passing for it.
	streamSlot = 0
	// streamSpecialized reaches the residual the paper's way: the
	// customized_send system call on the token.
	streamSpecialized = qemu.PathCustomized
)

// Confidence is netperf's -I rule: iterations go on, between Min and Max,
// until the Level confidence interval of the mean throughput is at most
// Width (its total width, a fraction of the mean). The paper asked
// +-5% at 99% for UDP: Width 0.10.
type Confidence struct {
	Level    float64
	Width    float64
	Min, Max int
}

// UDPConfidence is the paper's rule for UDP; a quick run stops at three
// iterations whatever the interval.
func UDPConfidence(quick bool) Confidence {
	c := Confidence{Level: 0.99, Width: 0.10, Min: 3, Max: 10}
	if quick {
		c.Max = 3
	}
	return c
}

// t995 is Student's t at 0.995 (a two-sided 99% interval) by degrees of
// freedom; beyond the table the normal quantile.
var t995 = []float64{0, 63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169,
	3.106, 3.055, 3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845}

// interval returns the mean of xs and the total width of its 99%
// confidence interval as a fraction of the mean.
func interval(xs []float64) (mean, width float64) {
	n := len(xs)
	for _, x := range xs {
		mean += x / float64(n)
	}
	if n < 2 || mean == 0 {
		return mean, math.Inf(1)
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / float64(n-1))
	t := 2.576
	if n-1 < len(t995) {
		t = t995[n-1]
	}
	return mean, 2 * t * sd / math.Sqrt(float64(n)) / mean
}

// apply follows the rule over the iterations in order: it returns how
// many it used, their mean, the interval's width and whether it met the
// rule.
func (c Confidence) apply(xs []float64) (n int, mean, width float64, met bool) {
	for n = min(c.Min, len(xs)); n <= min(c.Max, len(xs)); n++ {
		mean, width = interval(xs[:n])
		if width <= c.Width {
			return n, mean, width, true
		}
	}
	n = min(c.Max, len(xs))
	mean, width = interval(xs[:n])
	return n, mean, width, false
}

// StreamResult is one path's UDP stream at one size.
type StreamResult struct {
	SizeBytes int
	Path      string
	// MbitPerS is the mean sender throughput of the iterations the rule
	// used: payload bits per second of the guest's clock.
	MbitPerS float64
	// Iterations the rule used; IntervalWidth the 99% interval's total
	// width over the mean; Met whether it is within the rule's.
	Iterations    int
	IntervalWidth float64
	Met           bool
	// Samples are every iteration's throughput (Mbit/s), in order.
	Samples []float64
	// Receiver is the same rounds at the sink (UDP only, else nil).
	Receiver *ReceiverResult
}

// ReceiverResult is one path's UDP stream at one size as the sink received
// it, like netperf's UDP_STREAM receiver line: each round's datagrams are
// told apart by their payload (the round's own seed, vnet.SeedTag).
type ReceiverResult struct {
	// MbitPerS is the mean receiver throughput of the rounds netperf's
	// rule used: payload Mbit/s of host time over each round's receive
	// window, from its first arrival to its last (vnet.RoundCount).
	// Iterations, IntervalWidth, Met and Samples as for the sender.
	MbitPerS      float64
	Iterations    int
	IntervalWidth float64
	Met           bool
	Samples       []float64
	// Sent counts the datagrams the guest sent in every round (warm-up
	// included), Received those the sink counted; Lost is each round's
	// difference, in order.
	Sent, Received int64
	Lost           []int64
	// AfterResult counts the datagrams that reached the sink after the
	// guest's result line of their round reached the host.
	AfterResult int64
}

// StreamRun is a platform's UDP stream at every size.
type StreamRun struct {
	Results []StreamResult
	// Sent counts the datagrams of the flow the guest sent (warm-up
	// included), Delivered those the sink counted.
	Sent, Delivered int64
	// LinkDrops counts the frames the data link dropped on the way to the
	// sink (its queue, loss, no receiver); SinkDrops the datagrams the
	// sink host's netstack dropped because the sink's receive buffer was
	// full (whole host, every port): where the datagrams Delivered lacks
	// were lost.
	LinkDrops int64
	SinkDrops uint64
	// Overhead are figure 4(c)'s phases, when the run measured them.
	Overhead []results.PhaseTime
}

// streamFlow is the UDP stream's flow at size, the CUSTOMIZE step.
func streamFlow(size int) qemu.CustomizeStep {
	return qemu.CustomizeStep{Dst: vnet.SinkIP, Port: vnet.SinkPort, SrcPort: streamSrcPort, ADU: size}
}

// streamPlan is a measurement boot of the stream at size: the flow's
// context, its residual fetched from the server and loaded (with
// overhead, figure 4(c)'s steps: fetched cold and again cached), then
// both paths Max times, interleaved, so that a change in the host's load
// falls on both.
func (e *Platform) streamPlan(size int, c Confidence, overhead bool) []string {
	plan := netPlan(e.P)
	if overhead {
		plan = append(plan, overheadSteps(e.K)...)
		plan = append(plan, qemu.LoadStep{Slot: streamSlot, Ko: coldModule, Policy: "refuse"}.String())
	} else {
		plan = append(plan, e.fetchSteps(streamFlow(size), protocolUDP, streamSlot, "refuse")...)
	}
	for i := range c.Max {
		for j, path := range udpStreamPaths {
			plan = append(plan, qemu.SendStep{Path: path, Slot: streamSlot, Size: size, Count: StreamCount,
				Warmup: StreamWarmup, Seed: int(streamSeed(i*len(udpStreamPaths) + j))}.String())
		}
	}
	return plan
}

// streamSeed is the seed of a stream boot's round'th send step (from 0,
// in plan order): each round's datagrams carry a payload of their own, by
// which the sink tells the rounds apart (vnet.SeedTag). Seeds are 0..255:
// a boot holds at most 20 rounds (UDPConfidence's Max of 10, two paths).
func streamSeed(round int) byte { return byte(round) }

// MeasureStream measures netperf's UDP_STREAM, sender side, over the data
// NIC in network mode: one boot per size collects the flow's context,
// fetches its residual from r's server and loads it, then sends through
// sendto() and the residual in turn until the confidence rule is met or
// Max iterations ran. With overhead (not nil), the boot at SizeFlow
// fetches from overhead's server instead, cold and then cached, and also
// gives figure 4(c)'s phases (MeasureOverhead's, without a boot of its
// own). Only Ethernet platforms have a data NIC.
func (e *Platform) MeasureStream(ctx context.Context, r, overhead *Remote, sizes []int, c Confidence) (*StreamRun, error) {
	if e.P.Link != qemu.LinkEthernet {
		return nil, fmt.Errorf("%s: no data NIC (its only link is %s)", e.P.Name, e.P.Link)
	}
	out := &StreamRun{}
	for _, size := range sizes {
		server, withOverhead := r, overhead != nil && size == SizeFlow
		what := fmt.Sprintf("UDP stream: %d bytes (network mode)", size)
		if withOverhead {
			server = overhead
			what += ", after the specialization overhead's fetches"
		}
		e.step(what)
		boot, err := e.bootNetwork(ctx, server, e.coreFiles(), e.streamPlan(size, c, withOverhead), nil)
		if err == nil {
			_, err = checkFetched(boot.res)
		}
		if err == nil && withOverhead {
			out.Overhead, err = e.overheadPhases(boot.res, len(netPlan(e.P)), overhead)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: stream %d B: %w", e.P.Name, size, err)
		}
		results, sent, err := streamResults(boot.res, size, c, udpStreamPaths)
		if err != nil {
			return nil, fmt.Errorf("%s: stream %d B: %w", e.P.Name, size, err)
		}
		flow := streamSinkFlow(boot.sink)
		recv, err := receiverResults(boot.res, boot.marks, flow.Arrivals, c)
		if err != nil {
			return nil, fmt.Errorf("%s: stream %d B, receiver: %w", e.P.Name, size, err)
		}
		for i := range results {
			results[i].Receiver = recv[qemu.SendPath(results[i].Path)]
		}
		out.Results = append(out.Results, results...)
		out.Sent += sent
		out.Delivered += flow.Datagrams
		out.LinkDrops += boot.data.QueueDrops + boot.data.LossDrops + boot.data.NoReceiverDrops
		out.SinkDrops += boot.sink.Dropped.ReceiveBuffer
	}
	return out, nil
}

// streamSinkFlow is the stream's flow in the sink's report (empty if
// nothing arrived).
func streamSinkFlow(r vnet.SinkReport) vnet.FlowReport {
	for _, f := range r.UDP {
		if strings.HasSuffix(f.Source, ":"+strconv.Itoa(streamSrcPort)) {
			return f
		}
	}
	return vnet.FlowReport{}
}

// receiverResults splits the flow's arrivals at the sink (complete: the
// boot settled the links and waited for the sink to go quiet) into the
// boot's rounds, one per send step, by each round's seed, and puts each
// path's receiver throughputs through the rule. A round's datagrams that
// were still queued when its result line reached the host (marks) count
// for it all the same.
func receiverResults(res *qemu.Result, marks *qemu.StepClock, arrivals []vnet.Arrival, c Confidence) (map[qemu.SendPath]*ReceiverResult, error) {
	var (
		rounds []vnet.Round
		sends  []*qemu.SendResult
	)
	for _, s := range res.Steps {
		if s.Send == nil {
			continue
		}
		end, ok := marks.Ended(s.Step)
		if !ok {
			return nil, fmt.Errorf("no host-time mark of step %d's result", s.Step)
		}
		rounds = append(rounds, vnet.Round{Tag: vnet.SeedTag(streamSeed(len(sends))), End: end})
		sends = append(sends, s.Send)
	}
	if len(arrivals) >= vnet.MaxArrivals {
		return nil, fmt.Errorf("the sink kept only the first %d arrivals", vnet.MaxArrivals)
	}
	counts := vnet.CountRounds(arrivals, rounds)
	out := map[qemu.SendPath]*ReceiverResult{}
	samples := map[qemu.SendPath][]float64{}
	for k, s := range sends {
		r := out[s.Path]
		if r == nil {
			r = &ReceiverResult{}
			out[s.Path] = r
		}
		sent, got := int64(s.Count+s.Warmup), counts[k]
		if got.Datagrams > sent {
			return nil, fmt.Errorf("round %d (%s): the sink counted %d datagrams of %d sent", k, s.Path, got.Datagrams, sent)
		}
		r.Sent += sent
		r.Received += got.Datagrams
		r.Lost = append(r.Lost, sent-got.Datagrams)
		r.AfterResult += got.AfterEnd
		samples[s.Path] = append(samples[s.Path], got.MbitPerS())
	}
	for path, r := range out {
		r.Samples = samples[path]
		r.Iterations, r.MbitPerS, r.IntervalWidth, r.Met = c.apply(r.Samples)
	}
	return out, nil
}

// Guest files of a stream boot's fetched residual.
const (
	streamContext = "/tmp/flow.json"
	streamModule  = "/tmp/residual.ko"
)

// fetchSteps collect flow's context, fetch its residual of declaration
// decl from the server on the specialization link (the server compiles
// it for this kernel with the context's digest and signs it), load the
// module and take a token on it in slot with policy.
func (e *Platform) fetchSteps(flow qemu.CustomizeStep, decl string, slot int, policy string) []string {
	flow.Out = streamContext
	return []string{
		flow.String(),
		qemu.FetchStep{Server: vnet.ServerIP, Port: vnet.ServerPort, Build: server.KernelID(e.K), Decl: decl,
			Context: streamContext, Out: streamModule}.String(),
		qemu.InsmodStep{Path: streamModule}.String(),
		qemu.LoadStep{Slot: slot, Ko: streamModule, Policy: policy}.String(),
	}
}

// fetched is what fetchSteps gave.
type fetched struct {
	context     []byte
	name        string
	moduleBytes int
}

// checkFetched checks fetchSteps' results in a boot's steps.
func checkFetched(res *qemu.Result) (*fetched, error) {
	out := &fetched{}
	for _, s := range res.Steps {
		switch {
		case s.Customize != nil:
			out.context = s.Customize.Context
		case s.Fetch != nil:
			if s.Fetch.Status != 0 {
				return nil, fmt.Errorf("fetching the residual: server status %d", s.Fetch.Status)
			}
			out.moduleBytes = s.Fetch.ModuleBytes
		case s.Insmod != nil:
			if s.Insmod.Errno != 0 {
				return nil, fmt.Errorf("loading %s: errno %d", s.Insmod.Path, s.Insmod.Errno)
			}
		case s.Load != nil:
			if s.Load.Errno != 0 || s.Load.Token <= 0 {
				return nil, fmt.Errorf("LOAD of %s: token %d, errno %d", s.Load.Name, s.Load.Token, s.Load.Errno)
			}
			out.name = s.Load.Name
		}
	}
	if out.context == nil || out.moduleBytes == 0 || out.name == "" {
		return nil, fmt.Errorf("the boot's results lack the context, fetch or load (status %d)", res.Status)
	}
	return out, nil
}

// udpStreamPaths are the UDP stream's paths, in the order of its plan.
var udpStreamPaths = []qemu.SendPath{qemu.PathSendto, streamSpecialized}

// streamResults reads a measurement boot's send steps through paths
// (payload size bytes per send): every send must have gone out; each
// path's iterations go through the rule.
func streamResults(res *qemu.Result, size int, c Confidence, paths []qemu.SendPath) ([]StreamResult, int64, error) {
	byPath := map[qemu.SendPath][]float64{}
	var sent int64
	for _, s := range res.Steps {
		if s.Load != nil && (s.Load.Errno != 0 || s.Load.Token == 0) {
			return nil, 0, fmt.Errorf("load: errno %d", s.Load.Errno)
		}
		if s.Send == nil {
			continue
		}
		if s.Send.Errors != 0 || s.Send.NS <= 0 {
			return nil, 0, fmt.Errorf("%s: %d of %d sends failed (first errno %d)", s.Send.Path, s.Send.Errors, s.Send.Count, s.Send.Errno)
		}
		sent += int64(s.Send.Count + s.Send.Warmup)
		// bits per virtual ns, x 1000: Mbit/s.
		byPath[s.Send.Path] = append(byPath[s.Send.Path], float64(size*8*s.Send.Count)/float64(s.Send.NS)*1000)
	}
	var out []StreamResult
	for _, path := range paths {
		xs := byPath[path]
		if len(xs) != c.Max {
			return nil, 0, fmt.Errorf("%d iterations through %s, want %d (status %d)", len(xs), path, c.Max, res.Status)
		}
		n, mean, width, met := c.apply(xs)
		out = append(out, StreamResult{SizeBytes: size, Path: string(path), MbitPerS: mean, Iterations: n,
			IntervalWidth: width, Met: met, Samples: xs})
	}
	return out, sent, nil
}

// Rates returns the runs' sender throughputs as figure rows.
func (r *StreamRun) Rates(platform string) []results.StreamRate {
	var out []results.StreamRate
	for _, s := range r.Results {
		out = append(out, results.StreamRate{Platform: platform, Protocol: protocolUDP, SizeBytes: s.SizeBytes,
			Path: s.Path, MbitPerS: s.MbitPerS, Iterations: s.Iterations, IntervalWidth: s.IntervalWidth, Met: s.Met})
	}
	return out
}

// RoundTails returns the most datagrams one round lost and how many
// arrived after their round's result line reached the host, over every
// size and path.
func (r *StreamRun) RoundTails() (worstLoss, afterResult int64) {
	for _, s := range r.Results {
		if v := s.Receiver; v != nil {
			afterResult += v.AfterResult
			for _, l := range v.Lost {
				worstLoss = max(worstLoss, l)
			}
		}
	}
	return worstLoss, afterResult
}

// ReceiverRates returns the runs' receiver throughputs and datagram
// counts as figure rows.
func (r *StreamRun) ReceiverRates(platform string) []results.StreamRate {
	var out []results.StreamRate
	for _, s := range r.Results {
		if v := s.Receiver; v != nil {
			out = append(out, results.StreamRate{Platform: platform, Protocol: protocolUDP, SizeBytes: s.SizeBytes,
				Path: s.Path, MbitPerS: v.MbitPerS, Iterations: v.Iterations, IntervalWidth: v.IntervalWidth, Met: v.Met,
				Receiver: true, Sent: v.Sent, Received: v.Received})
		}
	}
	return out
}
