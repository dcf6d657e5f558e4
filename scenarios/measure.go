package scenarios

import (
	"fmt"
	"strings"

	"specbed/images/specnet/guards"
	"specbed/images/specnet/routeguard"
	"specbed/qemu"
)

// FlowResult is what one flow's boot measured.
type FlowResult struct {
	// SizeBytes is the payload per send (bytes).
	SizeBytes int `json:"size_bytes"`
	// Sends are the workload's timed sends; Errors those that failed,
	// FirstErrno the first failure's errno.
	Sends      int `json:"sends"`
	Errors     int `json:"errors"`
	FirstErrno int `json:"first_errno"`
	// WindowSends are all sends between the first and the last counters
	// step: the workload's timed and warm-up sends and the events'.
	WindowSends int `json:"window_sends"`
	// NsPerSend is the workload's virtual ns per timed send; in count
	// mode InstructionsPerSend is the same in instructions (ns / 2^shift).
	NsPerSend           float64 `json:"ns_per_send"`
	InstructionsPerSend float64 `json:"instructions_per_send,omitempty"`
	// BaselineNsPerSend is virtual ns per send of each baseline path.
	BaselineNsPerSend map[string]float64 `json:"baseline_ns_per_send,omitempty"`
	// Counters are /proc/specnet at each mark (workload sends before
	// it), before the events placed there; CountersAfterEvents after
	// them, at the marks that have events.
	Counters            map[int]map[string]int64 `json:"counters"`
	CountersAfterEvents map[int]map[string]int64 `json:"counters_after_events,omitempty"`
	// EventErrno is each timeline event's errno (0: it succeeded).
	EventErrno map[int]int `json:"event_errno,omitempty"`
	// Attempted counts every send of the boot that did not fail
	// (baseline, workload with warm-up, events); Delivered the datagrams
	// the sink got from the guest (network clock only).
	Attempted int    `json:"attempted"`
	Delivered *int64 `json:"delivered,omitempty"`
	// WorkloadHostNS is the host ns of the workload's send steps, from
	// the host writing each to the control channel to its result line
	// (plans over the control channel only); on the network clock it
	// comes close to the guest's ns of the same steps (NsPerSend x Sends
	// plus the loops between rounds and the console's latency).
	WorkloadHostNS int64 `json:"workload_host_ns,omitempty"`
	// DeliveredBytes is the payload the sink got from the flow (bytes,
	// network clock): UDP datagrams' payload, or a TCP stream's bytes in
	// order at the stream checker, WindowWarmupBytes (the connection's
	// sends before CUSTOMIZE) included; StreamFirstBad is the stream's
	// first bad byte (-1: none).
	DeliveredBytes    *int64 `json:"delivered_bytes,omitempty"`
	WindowWarmupBytes int    `json:"window_warmup_bytes,omitempty"`
	StreamFirstBad    *int64 `json:"stream_first_bad,omitempty"`
	// AttemptedBefore is, per timeline event whose arrivals the host
	// counted, the sends of Attempted before the event.
	AttemptedBefore map[int]int `json:"attempted_before,omitempty"`
	// ArrivalsAtEvent is, per timeline event, where the flow's datagrams
	// sent before it had arrived; ArrivalsAtEnd where all had (network
	// clock, arrive-at checks).
	ArrivalsAtEvent map[int]Arrivals `json:"arrivals_at_event,omitempty"`
	ArrivalsAtEnd   Arrivals         `json:"arrivals_at_end,omitempty"`
	// Fetch is the guest's fetch of its residual (remote mode).
	Fetch *qemu.FetchResult `json:"fetch,omitempty"`
	// KernelLogProblems are console lines that show the kernel unwell.
	KernelLogProblems []string `json:"kernel_log_problems,omitempty"`
	// Crash is the console monitor's one-line report of a guest that
	// oopsed or panicked and was killed (an oops event); CrashReport the
	// crash's console lines, addresses annotated with their functions.
	Crash       string   `json:"crash,omitempty"`
	CrashReport []string `json:"crash_report,omitempty"`
}

// readFlow reads a countPlan run by the roles of its steps.
func readFlow(s *Scenario, size int, p *flowPlan, res *qemu.Result, console string) (*FlowResult, error) {
	f := &FlowResult{SizeBytes: size, Counters: map[int]map[string]int64{}, CountersAfterEvents: map[int]map[string]int64{}, EventErrno: map[int]int{},
		BaselineNsPerSend: map[string]float64{}, KernelLogProblems: kernelLogProblems(console)}
	byStep := map[int]*qemu.StepResult{}
	for i := range res.Steps {
		byStep[res.Steps[i].Step] = &res.Steps[i]
	}
	var ns int64
	inWindow := false
	for i, ps := range p.steps {
		for _, e := range p.hostActs[i] {
			if f.AttemptedBefore == nil {
				f.AttemptedBefore = map[int]int{}
			}
			f.AttemptedBefore[e] = f.Attempted
		}
		r := byStep[p.agentStep(i)]
		if ps.role == roleFetch {
			// The server is down: an error line and no result, or the
			// server's error status.
			if r != nil && r.Fetch.Status == 0 {
				return f, fmt.Errorf("step %d: the fetch got a module though the server is down", r.Step)
			}
			continue
		}
		if r == nil {
			return f, fmt.Errorf("no result for step %d (%s) of the plan (agent status %d)", p.agentStep(i), ps.step, res.Status)
		}
		switch ps.role {
		case roleSetup:
			if r.Fetch != nil {
				f.Fetch = r.Fetch
			}
			if r.Load != nil && r.Load.Errno != 0 {
				return f, fmt.Errorf("load of the residual: errno %d", r.Load.Errno)
			}
			if r.Insmod != nil && r.Insmod.Errno != 0 {
				return f, fmt.Errorf("insmod %s: errno %d", r.Insmod.Path, r.Insmod.Errno)
			}
		case roleBaseline:
			f.BaselineNsPerSend[baselineName(r.Send.Path)] = r.Send.NsPerSend
			f.Attempted += r.Send.Count + r.Send.Warmup - r.Send.Errors
		case roleCounters:
			if ps.afterEvents {
				f.CountersAfterEvents[ps.mark] = r.Counters
				continue
			}
			f.Counters[ps.mark] = r.Counters
			inWindow = ps.mark < s.Workload.Count
		case roleWorkload:
			f.Sends += r.Send.Count
			f.WindowSends += r.Send.Count + r.Send.Warmup
			if r.Send.Errors > 0 && f.Errors == 0 {
				f.FirstErrno = r.Send.Errno
			}
			f.Errors += r.Send.Errors
			f.Attempted += r.Send.Count + r.Send.Warmup - r.Send.Errors
			ns += r.Send.NS
		case roleEvent:
			errno, sent, err := eventOutcome(r)
			if err != nil {
				return f, err
			}
			f.EventErrno[ps.event] = errno
			f.Attempted += sent
			if inWindow {
				f.WindowSends += sent
			}
		}
	}
	for _, e := range p.hostActs[len(p.steps)] {
		if f.AttemptedBefore == nil {
			f.AttemptedBefore = map[int]int{}
		}
		f.AttemptedBefore[e] = f.Attempted
	}
	if f.Sends > 0 {
		f.NsPerSend = float64(ns) / float64(f.Sends)
		if res.Mode.Counts {
			f.InstructionsPerSend = f.NsPerSend / float64(int64(1)<<res.IcountShift)
		}
	}
	return f, nil
}

// baselineName is the scenario's name of an agent send path.
func baselineName(p qemu.SendPath) string {
	for _, path := range enumValues("path") {
		if sendPath(path, "udp") == p || sendPath(path, ProtoTCP) == p {
			return path
		}
	}
	return string(p)
}

// eventOutcome is the errno an event's step reported and the sends it
// made that succeeded. A closerace's errno is EBADF when every round's
// first failed send failed with it, the other errno when one failed
// otherwise, and 0 when a round's sends never failed (a guard that did
// not fire).
func eventOutcome(r *qemu.StepResult) (errno, sent int, err error) {
	switch {
	case r.Setsockopt != nil:
		return r.Setsockopt.Errno, 0, nil
	case r.Send != nil:
		return r.Send.Errno, r.Send.Count + r.Send.Warmup - r.Send.Errors, nil
	case r.Close != nil:
		return r.Close.Errno, 0, nil
	case r.Load != nil:
		return r.Load.Errno, 0, nil
	case r.Kind == "route":
		errno, err := routeguard.Errno(*r)
		return errno, 0, err
	case r.Kind == "mtu":
		return 0, 0, nil // a failing mtu step is an error line
	case r.Kind == "closerace":
		c, err := guards.CloseRace(*r)
		if err != nil {
			return 0, 0, err
		}
		switch {
		case c.Other > 0:
			errno = int(c.OtherErrno)
		case c.EBADF == c.Rounds:
			errno = errnos["EBADF"]
		}
		return errno, int(c.OK), nil
	}
	return 0, 0, fmt.Errorf("step %d (%s) is no event step", r.Step, r.Kind)
}

// kernelLogMarkers start console lines that show a kernel problem the
// kernel survived (a crash ends the run with a qemu.CrashError anyway).
var kernelLogMarkers = []string{
	"------------[ cut here ]------------", "WARNING:", "BUG:", "Oops", "Call Trace:", "refcount_t:",
	"list_add corruption", "list_del corruption", "UBSAN:", "kmemleak:", "Kernel panic",
}

func kernelLogProblems(console string) []string {
	var out []string
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimRight(line, "\r")
		body := printkBody(line)
		for _, m := range kernelLogMarkers {
			if strings.HasPrefix(body, m) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}

// printkBody strips a printk timestamp ("[    1.234567] ").
func printkBody(line string) string {
	if strings.HasPrefix(line, "[") {
		if i := strings.Index(line, "] "); i > 0 {
			return line[i+2:]
		}
	}
	return line
}

// CheckResult is one expectation evaluated on one flow.
type CheckResult struct {
	// Name is "expect[i] check" with the flow's size.
	Name string `json:"name"`
	// Measured is the value the check read; Bound what it had to meet.
	Measured float64 `json:"measured"`
	Bound    string  `json:"bound"`
	Pass     bool    `json:"pass"`
	// Detail adds what the number alone does not say.
	Detail string `json:"detail,omitempty"`
}

func (c CheckResult) String() string {
	verdict := "ok"
	if !c.Pass {
		verdict = "FAILED"
	}
	s := fmt.Sprintf("%s: measured %g, want %s: %s", c.Name, c.Measured, c.Bound, verdict)
	if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// evaluate checks every expectation of s on one flow.
func evaluate(s *Scenario, f *FlowResult) []CheckResult {
	var out []CheckResult
	for i, x := range s.Expect {
		c := CheckResult{Name: fmt.Sprintf("expect[%d] %s (%d B)", i, x.Check, f.SizeBytes)}
		switch x.Check {
		case CheckDelivered:
			// dummy0 takes every datagram the kernel accepted; on the
			// network, the sink counts what arrived (all sends of the
			// boot: baseline and warm-up too).
			c.Measured = float64(f.Sends - f.Errors)
			if f.Delivered != nil {
				c.Measured = float64(*f.Delivered)
			}
			c.Pass, c.Bound = x.within(c.Measured, "datagrams")
		case CheckDeliveredBytes:
			c.Measured, c.Detail = deliveredBytes(f)
			c.Pass, c.Bound = x.within(c.Measured, "bytes")
		case CheckLost:
			c.Measured = float64(f.Errors)
			if f.Delivered != nil {
				c.Measured = float64(f.Errors + f.Attempted - int(*f.Delivered))
			}
			c.Pass, c.Bound = x.within(c.Measured, "datagrams")
			if f.Errors > 0 {
				c.Detail = fmt.Sprintf("%d failed in the guest, first errno %d", f.Errors, f.FirstErrno)
			}
		case CheckSpecializedShare:
			first, last := f.Counters[0], f.Counters[s.Workload.Count]
			if f.WindowSends > 0 {
				c.Measured = float64(last["sends_specialized"]-first["sends_specialized"]) / float64(f.WindowSends)
			}
			c.Pass, c.Bound = x.within(c.Measured, "of the sends")
			c.Detail = fmt.Sprintf("%d specialized of %d sends", last["sends_specialized"]-first["sends_specialized"], f.WindowSends)
		case CheckGuardFired:
			e := s.Timeline[*x.Event]
			end := min(e.AfterPackets+*x.WithinPackets, s.Workload.Count)
			counter := "guard_" + x.Guard
			after := f.Counters[end]
			if end == e.AfterPackets {
				after = f.CountersAfterEvents[end]
			}
			c.Measured = float64(after[counter] - f.Counters[e.AfterPackets][counter])
			c.Pass = c.Measured >= 1
			c.Bound = fmt.Sprintf("%s to rise within %d sends of event %d", counter, *x.WithinPackets, *x.Event)
		case CheckThroughputGain:
			base := f.BaselineNsPerSend[x.Over]
			if f.NsPerSend > 0 {
				c.Measured = base / f.NsPerSend
			}
			c.Pass, c.Bound = x.within(c.Measured, "x the "+x.Over+" path's sends per virtual second")
			c.Detail = fmt.Sprintf("%.0f vs %.0f virtual ns per send", f.NsPerSend, base)
		case CheckErrno:
			want := errnos[x.Errno]
			c.Measured = float64(f.EventErrno[*x.Event])
			c.Pass = int(c.Measured) == want
			c.Bound = fmt.Sprintf("errno %s (%d) from event %d (%s)", x.Errno, want, *x.Event, s.Timeline[*x.Event].Event)
		case CheckArriveAt:
			c.Measured, c.Detail = arrivedAt(f, *x.Event, x.Where, x.Phase)
			c.Pass, c.Bound = x.within(c.Measured, fmt.Sprintf("datagrams %s event %d (%s) at %s", x.Phase, *x.Event, s.Timeline[*x.Event].Event, x.Where))
		case CheckKernelLogClean:
			c.Measured = float64(len(f.KernelLogProblems))
			c.Pass = len(f.KernelLogProblems) == 0
			c.Bound = "no kernel warnings or bugs on the console"
			if !c.Pass {
				c.Detail = "first: " + f.KernelLogProblems[0]
			}
			if f.Crash != "" {
				c.Detail += "; the console monitor killed the guest: " + f.Crash
			}
		}
		out = append(out, c)
	}
	return out
}

// deliveredBytes is the payload the sink got from the flow (bytes): a TCP
// stream's bytes in order less the connection's window warm-up before
// CUSTOMIZE, so that the count is the workload's sends' bytes.
func deliveredBytes(f *FlowResult) (float64, string) {
	if f.DeliveredBytes == nil {
		return 0, "no sink (count clock)"
	}
	got := *f.DeliveredBytes - int64(f.WindowWarmupBytes)
	detail := fmt.Sprintf("%d bytes at the sink", *f.DeliveredBytes)
	if f.StreamFirstBad != nil {
		detail += fmt.Sprintf(" in order, %d of them the window warm-up", f.WindowWarmupBytes)
		if *f.StreamFirstBad >= 0 {
			detail += fmt.Sprintf("; first bad byte at offset %d", *f.StreamFirstBad)
		}
	}
	return float64(got), detail
}

// arrivedAt is the flow's datagrams sent in phase (before or after
// event) that arrived at where, and what the count is made of.
func arrivedAt(f *FlowResult, event int, where, phase string) (float64, string) {
	at, ok := f.ArrivalsAtEvent[event]
	if !ok || f.ArrivalsAtEnd == nil {
		return 0, "the host did not count the arrivals at the event"
	}
	sent, got := f.AttemptedBefore[event], at
	if phase == PhaseAfter {
		sent = f.Attempted - sent
		got = Arrivals{}
		for k, v := range f.ArrivalsAtEnd {
			got[k] = v - at[k]
		}
	}
	detail := fmt.Sprintf("%d sent %s the event: %d at the sink", sent, phase, got[WhereSink])
	if _, ok := got[WhereRouter1]; ok {
		detail += fmt.Sprintf(", %d through router1, %d through router2", got[WhereRouter1], got[WhereRouter2])
	}
	if where == WhereNowhere {
		return float64(int64(sent) - got[WhereSink]), detail
	}
	return float64(got[where]), detail
}

// within checks v against the expectation's bounds and says them.
func (x *Expectation) within(v float64, unit string) (bool, string) {
	ok := true
	var parts []string
	if x.Equals != nil {
		ok = ok && v == *x.Equals
		parts = append(parts, fmt.Sprintf("exactly %g", *x.Equals))
	}
	if x.AtLeast != nil {
		ok = ok && v >= *x.AtLeast
		parts = append(parts, fmt.Sprintf("at least %g", *x.AtLeast))
	}
	if x.AtMost != nil {
		ok = ok && v <= *x.AtMost
		parts = append(parts, fmt.Sprintf("at most %g", *x.AtMost))
	}
	return ok, strings.Join(parts, " and ") + " " + unit
}
