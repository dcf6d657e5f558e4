package results

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"specbed/results/paper"
)

// ClaimRow is one line of the report's table: a claim of the paper, our
// figure for it, their ratio and why they differ.
type ClaimRow struct {
	ID     string
	Figure string
	What   string
	Paper  string
	Ours   string
	// Ratio is ours / the paper's number, NaN where either is missing.
	Ratio float64
	Why   string
}

// RatioText formats Ratio for the table.
func (r ClaimRow) RatioText() string {
	if math.IsNaN(r.Ratio) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", r.Ratio)
}

// derivation computes our side of one claim from a bundle: our number
// (NaN if not measured), its wording, and why ours and the paper's differ.
type derivation struct {
	ours func(b *Bundle) (float64, string)
	why  string
}

// Reasons shared by several claims.
const (
	whyInstructions = "Ours counts guest instructions under QEMU's icount on Linux 6.1 (no cache, pipeline or memory timing), " +
		"the paper CPU cycles on real hardware running Linux 2.4.20; 6.1's send path does more (hashed IP ID, " +
		"cgroup and BPF hooks), and our residual keeps the hashed IP ID and an ioctl dispatch."
	whyUDPNIC = "Ours is the sender side of a UDP stream over the emulated data NIC to the sink (figure " + FigUDPNICGain +
		", network mode, netperf's confidence rule) when the run has it, else onto dummy0 (figure " + FigUDPGain + "). " +
		"The NIC is QEMU's (NE2000 or e1000) and the guest's clock is instruction-paced while it sends; the paper's " +
		"netperf ran on real NICs and counted cycles. The receiver's gain over the same rounds (figure " + FigUDPNICRecvGain +
		", host time at the sink) is given beside the sender's: a round's host time follows how fast QEMU runs the guest " +
		"on a host shared with other guests, so it moves from run to run far more than the guest's clock (its 99% " +
		"intervals are tens of percent wide), and where the guest's clock runs ahead of host time while it sends (the " +
		"p3) the receiver sees a fraction of the sender's rate. " + whyInstructions
	whyUDPGain = "Ours is the sender's throughput onto dummy0 in virtual time (count mode: a CPU-bound sender whose " +
		"time is its instructions), not netperf over a NIC and a link with a receiver: the NIC's and the interrupts' " +
		"work, which both paths share and which dilutes the gain, is missing; the paper's cycles also include cache " +
		"effects that instruction counts do not see. " + whyInstructions
	whyTCPNIC = "Ours is the sender side of a TCP stream (two-MSS records, MSS 1448) over the emulated data NIC to a " +
		"stream checker on the sink host (figure " + FigTCPNICGain + ", network mode, netperf's +-2.5% rule), the " +
		"residual through customized_send against the kernel's send() on the same connection. The NIC is QEMU's and " +
		"the guest's clock is instruction-paced while it sends; the paper's netperf ran on real NICs. Where the run has no " +
		"NIC figure, ours is the count-mode loopback figure (" + FigTCPCountGain + "; see the SA-1110's row for what it " +
		"counts). " + whyInstructions
	whyTCPCount = "Ours is count mode over loopback (figure " + FigTCPCountGain + "): the residual through customized_send " +
		"against the kernel's send() on one connection to a receiver in the same guest, two 1448-byte segments per send. " +
		"The receiver's TCP (loopback's receive, the ACK, the sender's tcp_ack) and its reads run inside the measured " +
		"window of every path, and the residual replaces tcp_sendmsg_locked's own work only (a few hundred instructions " +
		"of ~21 000 to 24 000 per send): the transmit engine, IP, loopback and the receive side run unchanged, so the " +
		"gain is within a few percent of zero. It comes out negative because the core's own per-send work (the token's " +
		"lookup and guards, the view's refresh under the socket lock, the kernel's functions reached through shims) " +
		"costs more than specialization removes: the core's generic path, the same structure unspecialized, costs " +
		"more than send() too (figure " + FigTCPCount + "), and the residual wins back only part of that. The paper's 2.4.20 kernel had no GSO " +
		"and a costlier send path, and its netperf counted cycles over real NICs. " + whyInstructions
	whyTCPSLIP = "The SA-1110's only link is a 230400 bit/s SLIP line (about 0.2 Mbit/s), which bounds a TCP stream long " +
		"before its sender's CPU does (one 1502-byte frame every 52 ms): a stream over it would measure the line on every " +
		"path, so this row stands in with the count-mode loopback figure. " + whyTCPCount
)

// derivations has an entry for every claim of claims.json (a test holds
// it to that), so every claim gets a row with a reason.
var derivations = map[string]derivation{
	"fig4a-speed": {ours: speedClaim("p3", "udp", "1024"), why: whyInstructions},
	"fig4b-size-udp": {ours: percentAt(FigShare, "p3", "udp"),
		why: "Both sides are compiled bytes. Our kernel side is a fixed list of Linux 6.1 functions (vmlinux " +
			"symbol sizes) that the residual replaces; the paper's 'original code' is 2.4.20's main and auxiliary " +
			"functions, whose exact list it does not give."},
	"fig4b-size-tcp": {ours: percentAt(FigShare, "p3", "tcp"),
		why: "Both sides are compiled bytes, per platform with its kernel's compiler and flags: the residual is the " +
			"module built from the guest's own context of the count-mode loopback flow (two-MSS records, GSO off, figure " +
			FigTCPCount + "), the kernel side a fixed list of 12 Linux 6.1 TCP send functions that it replaces (vmlinux " +
			"symbol sizes). Every kernel effect stays a call of its own, the nine guards are compares, and each unrolled " +
			"skb keeps its allocation, entail, copy call and push decision (about 400 bytes per skb), so the residual is " +
			"a third of the kernel's functions, not the paper's 3%; the paper's 'original code' list is not given."},
	"fig4c-overhead": {ours: overheadTotal,
		why: "The paper gives no number, only that separate processes reloaded per request dominate; our server is " +
			"one resident process that caches modules: the compile dominates a cold request; a cached one costs the link and " +
			"the guest's own work (collecting the context, loading the module and checking its signature)."},
	"fig5-udp-p3-64":   {ours: preferNIC("p3", "udp", "64"), why: whyUDPNIC},
	"fig5-udp-p3-1k":   {ours: preferNIC("p3", "udp", "1024"), why: whyUDPNIC},
	"fig5-udp-486-1k":  {ours: preferNIC("i486", "udp", "1024"), why: whyUDPNIC},
	"fig5-udp-ipaq-1k": {ours: percentAt(FigUDPGain, "sa1100", "udp", "1024"), why: whyUDPGain + " The SA-1110's only link is a slow SLIP line, so its figure is sender-side onto dummy0 in any case."},
	"fig5-tcp-p3":      {ours: tcpClaim("p3"), why: whyTCPNIC},
	"fig5-tcp-486":     {ours: tcpClaim("i486"), why: whyTCPNIC},
	"fig5-tcp-ipaq":    {ours: countMode(percentAt(FigTCPCountGain, "sa1100", "tcp", "1448")), why: whyTCPSLIP},
	"abstract-throughput": {ours: maxPercent(FigUDPNICGain, FigUDPGain),
		why: "Our largest UDP gain over the platforms and sizes measured over the data NIC (figure " + FigUDPNICGain +
			"), or onto dummy0 (figure " + FigUDPGain + ") when the run has no NIC figure. " + whyUDPNIC},
	"fig1-profile": {ours: profileClaim, why: whyProfile},
}

// percentAt is our value of a percent figure at key.
func percentAt(id string, key ...string) func(*Bundle) (float64, string) {
	return func(b *Bundle) (float64, string) {
		f := b.Figure(id)
		if f == nil {
			return math.NaN(), "not measured (no figure " + id + " in this run)"
		}
		v := f.Value(key...)
		if v == nil {
			return math.NaN(), "not measured (figure " + id + " has no " + strings.Join(key, "/") + ")"
		}
		// The range over the rows of the same protocol (the percent
		// figures' second column).
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range f.Ours() {
			if len(r.Key) > 1 && len(key) > 1 && r.Key[1] == key[1] {
				lo, hi = min(lo, r.Value), max(hi, r.Value)
			}
		}
		return *v, fmt.Sprintf("%.1f%% at %s (all %s rows: %.1f to %.1f%%)", *v, strings.Join(key, " "), key[1], lo, hi)
	}
}

// tcpClaim is an x86 platform's TCP gain over the data NIC, with the
// count-mode loopback figure's beside it where the run has both.
func tcpClaim(platform string) func(*Bundle) (float64, string) {
	nic := withInterval(FigTCPNICGain, FigTCPNICInterval, tcpRuleWidthPct, platform, "tcp", "1448")
	loop := countMode(percentAt(FigTCPCountGain, platform, "tcp", "1448"))
	return func(b *Bundle) (float64, string) {
		v, text := nic(b)
		if lv, ltext := loop(b); !math.IsNaN(lv) {
			if math.IsNaN(v) {
				return lv, ltext
			}
			text += fmt.Sprintf("; %.1f%% in count mode over loopback (figure %s, the receiver's TCP inside the window)",
				lv, FigTCPCountGain)
		}
		return v, text
	}
}

// countMode marks a claim's wording as the count-mode loopback figure's.
func countMode(value func(*Bundle) (float64, string)) func(*Bundle) (float64, string) {
	return func(b *Bundle) (float64, string) {
		v, text := value(b)
		return v, "count mode over loopback, the receiver's TCP inside the measured window: " + text
	}
}

// tcpRuleWidthPct is the widest 99% interval netperf's rule accepts for
// TCP (the paper's +-2.5%), in percent of the mean.
const tcpRuleWidthPct = 5

// withInterval is percentAt of the gain figure, with the widest 99%
// interval (figure interval, percent of the mean) of the paths behind
// the gain at key, and whether it met the rule (at most rulePct).
func withInterval(gain, interval string, rulePct float64, key ...string) func(*Bundle) (float64, string) {
	value := percentAt(gain, key...)
	return func(b *Bundle) (float64, string) {
		v, text := value(b)
		f := b.Figure(interval)
		if math.IsNaN(v) || f == nil {
			return v, text
		}
		widest := 0.0
		for _, r := range f.Ours() {
			if len(r.Key) > len(key) && slices.Equal(r.Key[:len(key)], key) {
				widest = max(widest, r.Value)
			}
		}
		verdict := "met"
		if widest > rulePct {
			verdict = "NOT met"
		}
		return v, fmt.Sprintf("%s; widest 99%% interval of its means %.1f%% (the rule asks at most %g%%: %s)",
			text, widest, rulePct, verdict)
	}
}

// protocolLayers are the layers the paper's figure 4(a) counts (socket,
// transport, IP) and the residual, which fuses them (qemu/plugin/attrib).
var protocolLayers = []string{"socket", "udp", "tcp", "ip", "residual"}

// speedClaim is figure 4(a)'s claim: how many percent fewer instructions
// the specialized path spends in the socket, transport and IP layers than
// sendto() when the run has the per-layer figure, else in the whole send.
func speedClaim(platform, protocol, size string) func(*Bundle) (float64, string) {
	whole := percentAt(FigSpeed, platform, protocol, size)
	return func(b *Bundle) (float64, string) {
		f := b.Figure(FigLayers)
		if f == nil {
			v, text := whole(b)
			return v, text + "; whole send (no per-layer figure in this run)"
		}
		sum := func(path string) float64 {
			total := 0.0
			for _, l := range protocolLayers {
				if v := f.Value(platform, protocol, size, path, l); v != nil {
					total += *v
				}
			}
			return total
		}
		sendto, special := sum(PathSendto), sum(PathCustomized)
		if special == 0 {
			special = sum(PathSpecial)
		}
		if sendto == 0 || special == 0 {
			return whole(b)
		}
		v := 100 * (1 - special/sendto)
		wv, wtext := whole(b)
		if math.IsNaN(wv) {
			wtext = "whole send not measured"
		}
		return v, fmt.Sprintf("%.1f%% fewer in the socket, %s and IP layers at %s %s B (%.0f against %.0f instructions); %s",
			v, protocol, platform, size, special, sendto, wtext)
	}
}

// preferNIC is our UDP gain at key over the data NIC when the run
// measured it there (the sender's, with the receiver's beside it), else
// onto dummy0.
func preferNIC(key ...string) func(*Bundle) (float64, string) {
	nic, dummy := percentAt(FigUDPNICGain, key...), percentAt(FigUDPGain, key...)
	recv := percentAt(FigUDPNICRecvGain, key...)
	return func(b *Bundle) (float64, string) {
		if v, text := nic(b); !math.IsNaN(v) {
			text = "over the data NIC, sender (guest clock): " + text
			if rv, rtext := recv(b); !math.IsNaN(rv) {
				text += "; receiver (host time at the sink, figure " + FigUDPNICRecvGain + "): " + rtext
			}
			return v, text
		}
		v, text := dummy(b)
		return v, "onto dummy0: " + text
	}
}

// maxPercent is the largest of our values of the first percent figure
// of ids that the run has.
func maxPercent(ids ...string) func(*Bundle) (float64, string) {
	return func(b *Bundle) (float64, string) {
		var f *Figure
		for _, id := range ids {
			if f = b.Figure(id); f != nil && len(f.Ours()) > 0 {
				break
			}
		}
		if f == nil || len(f.Ours()) == 0 {
			return math.NaN(), "not measured (none of " + strings.Join(ids, ", ") + " in this run)"
		}
		best := f.Ours()[0]
		for _, r := range f.Ours() {
			if r.Value > best.Value {
				best = r
			}
		}
		return best.Value, fmt.Sprintf("up to %.1f%% (%s, figure %s)", best.Value, strings.Join(best.Key, " "), f.ID)
	}
}

// overheadTotal sums figure 4(c)'s phases per platform and fetch.
func overheadTotal(b *Bundle) (float64, string) {
	f := b.Figure(FigOverhead)
	if f == nil || len(f.Ours()) == 0 {
		return math.NaN(), "not measured (no figure " + FigOverhead + " in this run)"
	}
	var order []string
	total := map[string]float64{}
	for _, r := range f.Ours() {
		k := r.Key[0] + " " + r.Key[1]
		if _, ok := total[k]; !ok {
			order = append(order, k)
		}
		total[k] += r.Value
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s %.0f ms", k, total[k]))
	}
	return math.NaN(), "total of the phases: " + strings.Join(parts, ", ")
}

// paperNumber is the first number values.json gives for a claim.
func paperNumber(values []paper.Value, id string) float64 {
	for _, v := range values {
		if v.Claim == id {
			return v.Value
		}
	}
	return math.NaN()
}

// Claims returns one row per claim of the paper, in claims.json's order.
func Claims(b *Bundle) ([]ClaimRow, error) {
	claims, err := paper.Claims()
	if err != nil {
		return nil, err
	}
	values, err := paper.Values()
	if err != nil {
		return nil, err
	}
	var rows []ClaimRow
	for _, c := range claims {
		row := ClaimRow{ID: c.ID, Figure: c.Figure, What: c.What, Paper: c.Text(), Ratio: math.NaN()}
		if c.Platform != "" {
			row.What += " (" + c.Platform + ")"
		}
		d, ok := derivations[c.ID]
		if !ok {
			return nil, fmt.Errorf("claim %s has no derivation in results/claims.go", c.ID)
		}
		var ours float64
		ours, row.Ours = d.ours(b)
		row.Why = d.why
		if p := paperNumber(values, c.ID); !math.IsNaN(ours) && p != 0 {
			row.Ratio = ours / p
		}
		rows = append(rows, row)
	}
	return rows, nil
}
