package results

import "fmt"

// Figure IDs of UDP_STREAM's receiver side over the data NIC: netperf
// reports a UDP stream's sender and receiver apart, since datagrams the
// sender's stack accepted may never arrive.
const (
	FigUDPNICRecv         = "fig5-udp-nic-recv"
	FigUDPNICRecvGain     = "fig5-udp-nic-recv-gain"
	FigUDPNICRecvLoss     = "fig5-udp-nic-recv-loss"
	FigUDPNICRecvInterval = "fig5-udp-nic-recv-interval"
)

// Sides of figure FigUDPNICRecv, with the clock each is measured on.
const (
	SideSender   = "sender (guest clock)"
	SideReceiver = "receiver (host time)"
)

var udpNICRecv = nicFigures{rate: FigUDPNICRecv, gain: FigUDPNICRecvGain, interval: FigUDPNICRecvInterval,
	paperFigure: "5(a,b,c)", protocol: "udp", name: "UDP_STREAM receiver", sizeColumn: "size_bytes",
	size: func(r StreamRate) int { return r.SizeBytes }}

// UDPReceiverFigures are figure 5's UDP part over the data NIC with the
// receiver beside the sender: both sides' throughput per size and path
// (sender: rates of UDPNICFigures, receiver: rates with Receiver set),
// the receiver's gain beside the paper's, the datagrams lost and the
// receiver's confidence intervals. ruleWidth is the rule's total width
// (a fraction); caption says how the streams were measured.
func UDPReceiverFigures(sender, receiver []StreamRate, ruleWidth float64, caption string) ([]Figure, error) {
	n := udpNICRecv
	both := Figure{
		ID: n.rate, PaperFigure: n.paperFigure, Title: "UDP_STREAM over the data NIC: sender and receiver",
		Caption: caption, Unit: "Mbit/s (sender: guest clock; receiver: host time)", Kind: KindTime,
		Columns: append(n.columns(), "side"), Series: "side", Panels: "platform",
	}
	loss := Figure{
		ID: FigUDPNICRecvLoss, PaperFigure: n.paperFigure, Title: "UDP_STREAM over the data NIC: datagrams lost",
		Caption: "100 x (datagrams the guest sent - datagrams the sink counted) / sent, over every round of figure " +
			n.rate + " (warm-up sends included): the sender's count is the agent's (every send returned success), " +
			"the receiver's the sink's, taken once the links had delivered or dropped every frame and the sink " +
			"had received nothing for a while.",
		Unit: "% of datagrams sent", Kind: KindTime,
		Columns: n.columns(), Series: "path",
	}
	var recv []StreamRate
	for _, r := range sender {
		if r.Protocol == n.protocol && !r.Receiver {
			both.Rows = append(both.Rows, Row{Key: append(n.key(r), SideSender), Value: r.MbitPerS})
		}
	}
	for _, r := range receiver {
		if r.Protocol != n.protocol || !r.Receiver {
			continue
		}
		recv = append(recv, r)
		both.Rows = append(both.Rows, Row{Key: append(n.key(r), SideReceiver), Value: r.MbitPerS})
		if r.Sent > 0 {
			loss.Rows = append(loss.Rows, Row{Key: n.key(r), Value: 100 * float64(r.Sent-r.Received) / float64(r.Sent)})
		}
	}
	gain, err := n.gainFigure(recv)
	if err != nil {
		return nil, err
	}
	gain.Caption = "100 x (specialized / sendto() receiver throughput - 1) of figure " + n.rate +
		" (host time at the sink); the paper's number beside ours. Figure " + FigUDPNICGain + " is the sender's."
	ci := n.intervalFigure(recv, ruleWidth)
	ci.Caption = fmt.Sprintf("Total width of the 99%% confidence interval of each mean receiver throughput of figure %s "+
		"(host time), in percent of the mean; netperf's rule (the paper's +-%g%%) asks at most %g%%. Rows above it did "+
		"not meet the rule within the rounds the boot ran; figure %s has the sender's.",
		n.rate, 50*ruleWidth, 100*ruleWidth, FigUDPNICInterval)
	return []Figure{both, gain, loss, ci}, nil
}
