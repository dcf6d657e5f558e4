package results

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"specbed/results/paper"
)

// Figure IDs of a reproduction bundle.
const (
	FigSendPaths = "udp-send-paths"
	FigSpeed     = "fig4a-speed"
	FigLayers    = "fig4a-layers"
	FigSize      = "fig4b-size"
	FigShare     = "fig4b-share"
	FigOverhead  = "fig4c-overhead"
	// FigOverheadBytes is the bytes figure 4(c)'s upload and download
	// moved: a transfer model needs sizes, not only times.
	FigOverheadBytes = "fig4c-bytes"
	FigUDPGain       = "fig5-udp-gain"
	FigUDPRate       = "fig5-udp-throughput"
	// FigTCPCount and FigTCPCountGain are figure 5's TCP part in count
	// mode over loopback, on every platform (the SA-1110's stand-in).
	FigTCPCount     = "fig5-tcp-count"
	FigTCPCountGain = "fig5-tcp-count-gain"
)

// Paths of the send-path figures (qemu.SendPath values): the kernel's
// sendto() on an unconnected socket is the "original" the paper compares
// with; the specialized residual is reached through the customized_send
// system call (the paper's interface) or, where a run has no such path,
// through /dev/specnet's SEND ioctl (special).
const (
	PathSendto     = "sendto"
	PathSend       = "send"
	PathSpecial    = "special"
	PathCustomized = "customized"
)

// baselinePath is the kernel path a protocol's gains are over: UDP's
// sendto() on an unconnected socket, TCP's send() on its connection.
func baselinePath(protocol string) string {
	if protocol == "tcp" {
		return PathSend
	}
	return PathSendto
}

// specializedRank orders the paths that reach the residual: the lower,
// the more the figures prefer it.
func specializedRank(path string) (int, bool) {
	switch path {
	case PathCustomized:
		return 0, true
	case PathSpecial:
		return 1, true
	}
	return 0, false
}

// PathCost is the measured cost of one send path.
type PathCost struct {
	Platform  string
	Protocol  string // udp, tcp
	SizeBytes int    // payload per send
	Path      string // qemu.SendPath
	// InstructionsPerSend is guest instructions per send (count mode).
	InstructionsPerSend float64
	// IcountShift is the guest's: an instruction is 2^IcountShift
	// virtual ns.
	IcountShift int
}

// SendPathsFigure is instructions per send through every path.
func SendPathsFigure(costs []PathCost, shifts string) Figure {
	f := Figure{
		ID: FigSendPaths, Title: "Instructions per send through each path",
		Caption: "Guest instructions per send on dummy0 in count mode (1000 timed sends after 100 warm-up sends): " +
			"the kernel's sendto() on an unconnected socket, send() on a connected one, the core module's generic " +
			"path (generic) and the specialized residual (special) through /dev/specnet's ioctls, and both through " +
			"the customized_send system call, the paper's interface (customized_generic, customized; a second " +
			"measurement boot of the same flow and residual, images/specnet/paths' SyscallPlan). icount shift per " +
			"platform: " + shifts + ".",
		Unit: "guest instructions per send", Kind: KindCount,
		Columns: []string{"platform", "protocol", "size_bytes", "path"}, Series: "path",
	}
	for _, c := range costs {
		f.Rows = append(f.Rows, Row{Key: []string{c.Platform, c.Protocol, strconv.Itoa(c.SizeBytes), c.Path}, Value: c.InstructionsPerSend})
	}
	return f
}

// pathPairs returns, per (platform, protocol, size), the baseline
// (baselinePath: sendto() for UDP, send() for TCP) and specialized costs
// of costs (the preferred specialized path, see specializedRank), in
// first-seen order.
func pathPairs(costs []PathCost) (keys [][3]string, sendto, special map[[3]string]float64) {
	sendto, special = map[[3]string]float64{}, map[[3]string]float64{}
	rank := map[[3]string]int{}
	seen := map[[3]string]bool{}
	for _, c := range costs {
		k := [3]string{c.Platform, c.Protocol, strconv.Itoa(c.SizeBytes)}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		if c.Path == baselinePath(c.Protocol) {
			sendto[k] = c.InstructionsPerSend
			continue
		}
		if r, ok := specializedRank(c.Path); ok {
			if old, set := rank[k]; !set || r < old {
				rank[k], special[k] = r, c.InstructionsPerSend
			}
		}
	}
	return keys, sendto, special
}

// paperRows returns the paper's numbers of a quantity as rows; key maps a
// value to the figure's key columns.
func paperRows(quantity string, key func(paper.Value) []string) ([]Row, error) {
	values, err := paper.Values()
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, v := range values {
		if v.Quantity != quantity {
			continue
		}
		if k := key(v); k != nil {
			rows = append(rows, Row{Key: k, Value: v.Value, Source: fmt.Sprintf("%s %g%%: %s", v.Bound, v.Value, v.Source)})
		}
	}
	return rows, nil
}

// SpeedFigure is figure 4(a)'s claim: how many percent fewer instructions
// the specialized path takes than sendto(), beside the paper's percent
// fewer cycles.
func SpeedFigure(costs []PathCost) (Figure, error) {
	f := Figure{
		ID: FigSpeed, PaperFigure: "4(a)", Title: "Specialized send vs the kernel's sendto(): fewer instructions",
		Caption: "100 x (1 - specialized / sendto()) of the instructions per send (count mode, dummy0); specialized is " +
			"the residual through the customized_send system call, or through /dev/specnet's SEND where a run lacks it. " +
			"The paper's number is CPU cycles of the socket, UDP and IP layers on a Pentium III (size not stated).",
		Unit: "% fewer per send", Kind: KindCount,
		Columns: []string{"platform", "protocol", "size_bytes"},
	}
	keys, sendto, special := pathPairs(costs)
	for _, k := range keys {
		if s, ok := sendto[k]; ok && s > 0 {
			if sp, ok := special[k]; ok {
				f.Rows = append(f.Rows, Row{Key: k[:], Value: 100 * (1 - sp/s)})
			}
		}
	}
	rows, err := paperRows(paper.FewerCyclesPct, func(v paper.Value) []string {
		return []string{paper.Platforms[v.Platform], v.Protocol, ""}
	})
	f.Rows = append(f.Rows, rows...)
	return f, err
}

// UDPRateFigure is figure 5's UDP throughput, sender-side onto dummy0: a
// sender that does nothing but send moves size bytes per send's virtual
// time (instructions x 2^shift ns) in count mode.
func UDPRateFigure(costs []PathCost) Figure {
	f := Figure{
		ID: FigUDPRate, PaperFigure: "5(a,b,c)", Title: "UDP sender throughput onto dummy0 (virtual time)",
		Caption: "Payload bits per second of guest virtual time of a sender looping on one path (count mode, dummy0, " +
			"1000 timed sends): size x 8 / (instructions per send x 2^shift ns). Sender-side, like netperf's UDP_STREAM " +
			"send figure, without a NIC or a receiver; count mode repeats exactly, so netperf's confidence interval " +
			"is zero here, which is not statistical confidence. No paper values: the paper gives only relative gains " +
			"(its text has no absolute throughput, and its plots are not in the text); figure " + FigUDPGain + " sets " +
			"ours beside them.",
		Unit: "Mbit/s (virtual time)", Kind: KindCount,
		Columns: []string{"platform", "protocol", "size_bytes", "path"}, Series: "path", Panels: "platform",
	}
	for _, c := range costs {
		if c.Protocol != "udp" || c.InstructionsPerSend <= 0 {
			continue
		}
		ns := c.InstructionsPerSend * float64(uint64(1)<<c.IcountShift)
		f.Rows = append(f.Rows, Row{Key: []string{c.Platform, c.Protocol, strconv.Itoa(c.SizeBytes), c.Path},
			Value: float64(c.SizeBytes) * 8 / ns * 1000})
	}
	return f
}

// UDPGainFigure is figure 5's UDP throughput gain, sender-side onto
// dummy0: the specialized path's throughput over sendto()'s (figure
// FigUDPRate), less one. The sender is bound by its CPU, so this is
// sendto()'s instructions per send over the specialized path's, less one.
func UDPGainFigure(costs []PathCost) (Figure, error) {
	f := Figure{
		ID: FigUDPGain, PaperFigure: "5(a,b,c)", Title: "UDP sender throughput gain onto dummy0",
		Caption: "100 x (specialized / sendto() throughput - 1) of figure " + FigUDPRate + " (count mode, dummy0; no NIC, " +
			"no receiver). The paper's numbers are netperf UDP_STREAM throughput over real NICs.",
		Unit: "% throughput gain", Kind: KindCount,
		Columns: []string{"platform", "protocol", "size_bytes"},
	}
	keys, sendto, special := pathPairs(costs)
	for _, k := range keys {
		if k[1] != "udp" {
			continue
		}
		if s, ok := sendto[k]; ok {
			if sp, ok := special[k]; ok && sp > 0 {
				f.Rows = append(f.Rows, Row{Key: k[:], Value: 100 * (s/sp - 1)})
			}
		}
	}
	rows, err := paperRows(paper.ThroughputGainPct, func(v paper.Value) []string {
		if v.Protocol != "udp" || v.Platform == "" {
			return nil
		}
		return []string{paper.Platforms[v.Platform], v.Protocol, strconv.Itoa(v.SizeBytes)}
	})
	f.Rows = append(f.Rows, rows...)
	return f, err
}

// tcpLoopWindow says what a count-mode TCP send over loopback counts.
const tcpLoopWindow = "Count mode, TCP over loopback to a receiver in the same guest: loopback runs the receiver's " +
	"TCP (tcp_v4_rcv, the ACK, the sender's tcp_ack) in the sender's softirq and the receiving task reads on the " +
	"same CPU, so the receive side is inside the measured window of every path (two 1448-byte segments per send " +
	"whatever the path); the residual replaces tcp_sendmsg_locked's own work only, the transmit engine " +
	"(__tcp_push_pending_frames onwards) runs unchanged."

// TCPLoopFlow is what the count-mode TCP figures' flow was.
type TCPLoopFlow struct {
	// ADU is bytes per send, MSS the connection's MSS (bytes); Sends
	// the timed sends per path after Warmup untimed ones.
	ADU, MSS, Sends, Warmup int
}

// TCPCountFigures are figure 5's TCP part in count mode over loopback:
// instructions per send of flow.ADU bytes through every path (costs,
// protocol tcp), and the throughput gain of the specialized path over
// send() beside the paper's, keyed by the connection's MSS as the paper's
// figures are. Sender and receiver share one CPU, so a path's throughput
// in virtual time is ADU / (instructions x 2^shift ns) and the gain is
// send()'s instructions over the specialized path's, less one.
func TCPCountFigures(costs []PathCost, flow TCPLoopFlow) ([]Figure, error) {
	count := Figure{
		ID: FigTCPCount, PaperFigure: "5(d,e)", Title: "TCP over loopback, count mode (receiver's TCP inside the window): instructions per send",
		Caption: fmt.Sprintf("Guest instructions per send of %d bytes (2 MSS of %d bytes, records) through the kernel's "+
			"send() on the connection, the core module's generic path (generic), the residual through /dev/specnet "+
			"(special) and through the customized_send system call (customized), %d timed sends after %d per path "+
			"on one connection (images/specnet/tcpsend, the residual built from the guest's own context). ",
			flow.ADU, flow.MSS, flow.Sends, flow.Warmup) + tcpLoopWindow,
		Unit: "guest instructions per send", Kind: KindCount,
		Columns: []string{"platform", "protocol", "mss_bytes", "path"}, Series: "path",
	}
	gain := Figure{
		ID: FigTCPCountGain, PaperFigure: "5(d,e)", Title: "TCP over loopback, count mode (receiver's TCP inside the window): throughput gain",
		Caption: "100 x (send() / specialized instructions per send - 1) of figure " + FigTCPCount + ": the throughput " +
			"gain in virtual time of the residual through customized_send over the kernel's send(), before and after " +
			"specialization. " + tcpLoopWindow + " The paper's numbers are netperf TCP_STREAM over real NICs " +
			"(MSS 1448). The SA-1110's only link is a slow SLIP line, which bounds a stream long before its CPU: this " +
			"is its TCP figure.",
		Unit: "% throughput gain", Kind: KindCount,
		Columns: []string{"platform", "protocol", "mss_bytes"},
	}
	var keyed []PathCost
	for _, c := range costs {
		if c.Protocol != "tcp" || c.SizeBytes != flow.ADU {
			continue
		}
		count.Rows = append(count.Rows, Row{Key: []string{c.Platform, c.Protocol, strconv.Itoa(flow.MSS), c.Path},
			Value: c.InstructionsPerSend})
		c.SizeBytes = flow.MSS
		keyed = append(keyed, c)
	}
	keys, send, special := pathPairs(keyed)
	for _, k := range keys {
		if s, sp := send[k], special[k]; s > 0 && sp > 0 {
			gain.Rows = append(gain.Rows, Row{Key: k[:], Value: 100 * (s/sp - 1)})
		}
	}
	rows, err := paperRows(paper.ThroughputGainPct, func(v paper.Value) []string {
		if v.Protocol != "tcp" || v.Platform == "" {
			return nil
		}
		return []string{paper.Platforms[v.Platform], v.Protocol, strconv.Itoa(v.SizeBytes)}
	})
	gain.Rows = append(gain.Rows, rows...)
	return []Figure{count, gain}, err
}

// Code names of the size figure.
const (
	CodeKernel      = "kernel"
	CodeGeneric     = "generic"
	CodeSpecialized = "specialized"
)

// CodeSize is the compiled size of one send path's code.
type CodeSize struct {
	Platform string
	Protocol string
	// Code is CodeKernel (the kernel's own send path), CodeGeneric or
	// CodeSpecialized.
	Code  string
	Bytes int
}

// SizeFigures are figure 4(b): the code sizes, and the specialized code's
// share of the kernel's beside the paper's.
func SizeFigures(sizes []CodeSize) ([]Figure, error) {
	size := Figure{
		ID: FigSize, PaperFigure: "4(b)", Title: "Compiled size of the send path",
		Caption: "Bytes of machine code per platform: the kernel's own send path (main and auxiliary functions, a " +
			"fixed list, vmlinux symbol sizes), the generic path's functions in the core module and the specialized " +
			"residual's .text, each compiled for that platform's kernel by its kbuild and cross compiler (ARM for the " +
			"SA-1110). UDP: the kernel's functions specnet.KernelSendPath, the generic path's udp.decl functions, the " +
			"residual of the 1 KB flow on dummy0. TCP: the kernel's functions specnet.KernelTCPSendPath, the generic " +
			"path's tcp.decl functions (tcp.c; the copy and the slow paths are shims to both), the residual of the " +
			"count-mode loopback flow of figure " + FigTCPCount + " (two-MSS records, GSO off). Each residual is " +
			"specialized for the context the guest itself collected.",
		Unit: "bytes", Kind: KindCount,
		Columns: []string{"platform", "protocol", "code"}, Series: "code",
	}
	type pk struct{ platform, protocol string }
	var order []pk
	byCode := map[pk]map[string]int{}
	for _, s := range sizes {
		size.Rows = append(size.Rows, Row{Key: []string{s.Platform, s.Protocol, s.Code}, Value: float64(s.Bytes)})
		k := pk{s.Platform, s.Protocol}
		if byCode[k] == nil {
			byCode[k] = map[string]int{}
			order = append(order, k)
		}
		byCode[k][s.Code] = s.Bytes
	}
	share := Figure{
		ID: FigShare, PaperFigure: "4(b)", Title: "Specialized code as a share of the kernel's send path",
		Caption: "100 x specialized bytes / kernel send path bytes (figure " + FigSize + ").",
		Unit:    "% of the kernel's send path", Kind: KindCount,
		Columns: []string{"platform", "protocol"},
	}
	for _, k := range order {
		if kb, sb := byCode[k][CodeKernel], byCode[k][CodeSpecialized]; kb > 0 && sb > 0 {
			share.Rows = append(share.Rows, Row{Key: []string{k.platform, k.protocol}, Value: 100 * float64(sb) / float64(kb)})
		}
	}
	rows, err := paperRows(paper.SpecializedSharePct, func(v paper.Value) []string { return []string{"", v.Protocol} })
	share.Rows = append(share.Rows, rows...)
	return []Figure{size, share}, err
}

// PhaseTime is one phase of one specialization request.
type PhaseTime struct {
	Platform string
	// Fetch is "cold" (specialize and compile) or "cached".
	Fetch string
	Phase string
	// Ms is host wall time in milliseconds.
	Ms float64
	// Bytes is the payload the phase moved over the specialization link
	// (the request for the upload, the module for the download; 0 for
	// the other phases).
	Bytes int
}

// OverheadFigure is figure 4(c): the cost of a specialization by phase.
func OverheadFigure(phases []PhaseTime, caption string) Figure {
	f := Figure{
		ID: FigOverhead, PaperFigure: "4(c)", Title: "Specialization overhead by phase",
		Caption: caption, Unit: "ms", Kind: KindTime,
		Columns: []string{"platform", "fetch", "phase"}, Series: "phase", Stacked: true,
	}
	for _, p := range phases {
		f.Rows = append(f.Rows, Row{Key: []string{p.Platform, p.Fetch, p.Phase}, Value: p.Ms})
	}
	return f
}

// OverheadBytesFigure is the payload bytes of figure 4(c)'s transfer
// phases: the request (the fetch header and the context JSON, as the
// guest's agent sent it) and the module (as it received it).
func OverheadBytesFigure(phases []PhaseTime) Figure {
	f := Figure{
		ID: FigOverheadBytes, PaperFigure: "4(c)", Title: "Specialization request and module sizes",
		Caption: "Bytes of TCP payload each transfer phase of figure 4(c) moved over the specialization link: " +
			"upload = the request (header and flow context), download = the module, as the guest's agent counted them.",
		Unit: "bytes", Kind: KindCount,
		Columns: []string{"platform", "fetch", "phase"},
	}
	for _, p := range phases {
		if p.Bytes > 0 {
			f.Rows = append(f.Rows, Row{Key: []string{p.Platform, p.Fetch, p.Phase}, Value: float64(p.Bytes)})
		}
	}
	return f
}

// LayerCost is the per-layer cost of one path (figure 4(a)), from the
// instruction-counting plugin (qemu/plugin/profile).
type LayerCost struct {
	Platform  string
	Protocol  string
	SizeBytes int
	Path      string
	// ByLayer is guest instructions per send by layer; Total their sum;
	// GuestPerSend the guest's own count for the same loop.
	ByLayer             map[string]float64
	Total, GuestPerSend float64
}

// LayersFigures are figure 4(a) by layer: instructions per send of every
// path split by layer (stacked, in the order layers lists them), and how
// far the layers' sum is from the guest's own count.
func LayersFigures(costs []LayerCost, layers []string) []Figure {
	split := Figure{
		ID: FigLayers, PaperFigure: "4(a)", Title: "Instructions per send by layer",
		Caption: "Guest instructions per send charged to each layer by the instruction-counting TCG plugin " +
			"(per-function counts over the timed loop, functions grouped into layers by qemu/plugin/attrib's rules; " +
			"count mode, dummy0). The paper's figure shows CPU cycles of the socket, UDP and IP layers.",
		Unit: "guest instructions per send", Kind: KindCount,
		Columns: []string{"platform", "protocol", "size_bytes", "path", "layer"}, Series: "layer", Stacked: true,
	}
	check := Figure{
		ID: FigLayers + "-sum", PaperFigure: "4(a)", Title: "Layers' sum against the guest's own count",
		Caption: "100 x |sum of the layers - the guest's instructions per send| / the guest's, per path " +
			"(issue 7 asks for at most 1%).",
		Unit: "% off the guest's count", Kind: KindCount,
		Columns: []string{"platform", "protocol", "size_bytes", "path"},
	}
	for _, c := range costs {
		key := []string{c.Platform, c.Protocol, strconv.Itoa(c.SizeBytes), c.Path}
		for _, l := range layers {
			if v, ok := c.ByLayer[l]; ok {
				split.Rows = append(split.Rows, Row{Key: append(slices.Clone(key), l), Value: v})
			}
		}
		if c.GuestPerSend > 0 {
			check.Rows = append(check.Rows, Row{Key: key, Value: 100 * math.Abs(c.Total-c.GuestPerSend) / c.GuestPerSend})
		}
	}
	return []Figure{split, check}
}

// Figure IDs of the UDP and TCP streams over a NIC (network mode).
const (
	FigUDPNIC         = "fig5-udp-nic"
	FigUDPNICGain     = "fig5-udp-nic-gain"
	FigUDPNICInterval = "fig5-udp-nic-interval"
	FigTCPNIC         = "fig5-tcp-nic"
	FigTCPNICGain     = "fig5-tcp-nic-gain"
	FigTCPNICInterval = "fig5-tcp-nic-interval"
)

// StreamRate is one path's stream over a NIC at one size.
type StreamRate struct {
	Platform  string
	Protocol  string
	SizeBytes int // payload per send (bytes; TCP: the ADU)
	// MSSBytes is the TCP connection's MSS (0 for UDP): TCP's figures
	// are keyed by it, as the paper's are.
	MSSBytes int
	Path     string
	// MbitPerS is the mean sender throughput (payload, guest clock) of
	// the iterations netperf's rule used; IntervalWidth the total width
	// of their 99% confidence interval over the mean; Met whether it is
	// within the rule's.
	MbitPerS      float64
	Iterations    int
	IntervalWidth float64
	Met           bool
	// Receiver marks the receiver side of a UDP stream (figure
	// FigUDPNICRecv): MbitPerS is then host time at the sink, and Sent
	// and Received count the datagrams of every round (warm-up included).
	Receiver       bool
	Sent, Received int64
}

// Side names the rate's side, for messages.
func (r StreamRate) Side() string {
	if r.Receiver {
		return "receiver"
	}
	return "sender"
}

// nicFigures are the ids, paper figure, protocol and size column of one
// protocol's stream figures.
type nicFigures struct {
	rate, gain, interval, paperFigure, protocol, name, sizeColumn string
	// size is a rate's key in sizeColumn.
	size func(StreamRate) int
}

var (
	udpNIC = nicFigures{rate: FigUDPNIC, gain: FigUDPNICGain, interval: FigUDPNICInterval, paperFigure: "5(a,b,c)",
		protocol: "udp", name: "UDP_STREAM", sizeColumn: "size_bytes", size: func(r StreamRate) int { return r.SizeBytes }}
	tcpNIC = nicFigures{rate: FigTCPNIC, gain: FigTCPNICGain, interval: FigTCPNICInterval, paperFigure: "5(d,e)",
		protocol: "tcp", name: "TCP_STREAM", sizeColumn: "mss_bytes", size: func(r StreamRate) int { return r.MSSBytes }}
)

// UDPNICFigures are figure 5's UDP part over the emulated data NIC:
// throughput per path, the specialized path's gain over sendto() beside
// the paper's, and the confidence interval of every mean. ruleWidth is
// the rule's total width (a fraction).
func UDPNICFigures(rates []StreamRate, ruleWidth float64, caption string) ([]Figure, error) {
	return udpNIC.figures(rates, ruleWidth, caption)
}

// TCPNICFigures are figure 5(d,e) over the emulated data NIC: TCP_STREAM
// throughput per path keyed by the connection's MSS, the specialized
// path's gain over send() beside the paper's, and each mean's interval.
func TCPNICFigures(rates []StreamRate, ruleWidth float64, caption string) ([]Figure, error) {
	return tcpNIC.figures(rates, ruleWidth, caption)
}

func (n nicFigures) figures(rates []StreamRate, ruleWidth float64, caption string) ([]Figure, error) {
	rate := Figure{
		ID: n.rate, PaperFigure: n.paperFigure, Title: n.name + " over the data NIC, sender side",
		Caption: caption, Unit: "Mbit/s (guest clock)", Kind: KindTime,
		Columns: n.columns(), Series: "path", Panels: "platform",
	}
	for _, r := range rates {
		if r.Protocol == n.protocol {
			rate.Rows = append(rate.Rows, Row{Key: n.key(r), Value: r.MbitPerS})
		}
	}
	gain, err := n.gainFigure(rates)
	return []Figure{rate, gain, n.intervalFigure(rates, ruleWidth)}, err
}

// columns are the key columns of a rate: platform, protocol, size, path.
func (n nicFigures) columns() []string {
	return []string{"platform", "protocol", n.sizeColumn, "path"}
}

// key is a rate's key in columns' order.
func (n nicFigures) key(r StreamRate) []string {
	return []string{r.Platform, r.Protocol, strconv.Itoa(n.size(r)), r.Path}
}

// intervalFigure is the 99% interval's width of every mean of rates.
func (n nicFigures) intervalFigure(rates []StreamRate, ruleWidth float64) Figure {
	ci := Figure{
		ID: n.interval, PaperFigure: n.paperFigure, Title: n.name + ": 99% confidence interval of each mean",
		Caption: fmt.Sprintf("Total width of the 99%% confidence interval of each mean throughput of figure %s, in percent "+
			"of the mean; netperf's rule (the paper's +-%g%%) asks at most %g%%. Rows above it did not meet the rule "+
			"within the iterations allowed.", n.rate, 50*ruleWidth, 100*ruleWidth),
		Unit: "% of the mean (interval width)", Kind: KindTime,
		Columns: n.columns(), Series: "path",
		Limit: &Limit{Value: 100 * ruleWidth, Label: fmt.Sprintf("netperf's rule: at most %g%%", 100*ruleWidth)},
	}
	for _, r := range rates {
		if r.Protocol == n.protocol {
			ci.Rows = append(ci.Rows, Row{Key: n.key(r), Value: 100 * r.IntervalWidth})
		}
	}
	return ci
}

// gainFigure is the specialized path's throughput gain over the baseline
// path's of rates, beside the paper's.
func (n nicFigures) gainFigure(rates []StreamRate) (Figure, error) {
	gain := Figure{
		ID: n.gain, PaperFigure: n.paperFigure, Title: n.name + " over the data NIC: throughput gain",
		Caption: "100 x (specialized / " + baselinePath(n.protocol) + "() throughput - 1) of figure " + n.rate +
			"; the paper's number beside ours.",
		Unit: "% throughput gain", Kind: KindTime,
		Columns: n.columns()[:3],
	}
	// The same pairing as the count-mode figures: throughput stands in
	// for a cost, so the gain is the cost ratio's inverse.
	var inverse []PathCost
	for _, r := range rates {
		if r.Protocol == n.protocol && r.MbitPerS > 0 {
			inverse = append(inverse, PathCost{Platform: r.Platform, Protocol: r.Protocol, SizeBytes: n.size(r),
				Path: r.Path, InstructionsPerSend: 1 / r.MbitPerS})
		}
	}
	keys, base, special := pathPairs(inverse)
	for _, k := range keys {
		if b, sp := base[k], special[k]; b > 0 && sp > 0 {
			gain.Rows = append(gain.Rows, Row{Key: k[:], Value: 100 * (b/sp - 1)})
		}
	}
	rows, err := paperRows(paper.ThroughputGainPct, func(v paper.Value) []string {
		if v.Protocol != n.protocol || v.Platform == "" {
			return nil
		}
		return []string{paper.Platforms[v.Platform], v.Protocol, strconv.Itoa(v.SizeBytes)}
	})
	gain.Rows = append(gain.Rows, rows...)
	return gain, err
}
