package scenarios

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"specbed/qemu"
)

// Defaults of keys a file leaves out.
const (
	// DefaultCount is the timed sends per size.
	DefaultCount = 1000
	// MaxDurationSends bounds a workload bounded by duration when it
	// gives no count.
	MaxDurationSends = 1000000
	// DefaultCloseRounds is a closerace's rounds.
	DefaultCloseRounds = 16
)

// setDefaults fills the keys a file left out.
func (s *Scenario) setDefaults() {
	if len(s.Platforms) == 0 {
		s.Platforms = qemu.Names()
	}
	if s.Clock == "" {
		s.Clock = ClockCount
	}
	if s.Workload.Count == 0 {
		s.Workload.Count = DefaultCount
		if s.Workload.Duration.Duration != 0 {
			s.Workload.Count = MaxDurationSends
		}
	}
	if s.Specialization.Mode == "" {
		s.Specialization.Mode = ModeNone
		if s.Workload.Path == PathSpecialized {
			s.Specialization.Mode = ModeLocal
		}
	}
	if s.Specialization.GuardPolicy == "" {
		s.Specialization.GuardPolicy = PolicyFallback
	}
	for i := range s.Timeline {
		if e := &s.Timeline[i]; e.Which == "thread" && e.Rounds == 0 {
			e.Rounds = DefaultCloseRounds
		}
	}
	for i := range s.Expect {
		if x := &s.Expect[i]; x.Check == CheckArriveAt && x.Phase == "" {
			x.Phase = PhaseAfter
		}
	}
}

// ADU is the flow's committed payload for a send size (bytes).
func (w *Workload) ADU(size int) int {
	if w.ADUBytes != 0 {
		return w.ADUBytes
	}
	return size
}

// check validates what the types alone cannot: keys that depend on an
// event's or a check's kind, times within the workload, and choices that
// exclude each other.
func (d *decoder) check(s *Scenario) {
	w := &s.Workload
	if s.Clock == ClockCount {
		if len(s.Topology.Links) > 0 {
			d.failAt("topology", "the count clock runs on dummy0 without a network: topology needs clock: network")
		}
		if s.Specialization.Mode == ModeRemote {
			d.failAt("specialization.mode", "remote specialization fetches over the network: it needs clock: network")
		}
	}
	if isTCP(s) {
		for i, size := range w.SizesBytes {
			if size == 0 || size%TCPMSS != 0 {
				d.failAt(fmt.Sprintf("workload.sizes_bytes[%d]", i), "%d bytes: a TCP send is a multiple of the MSS (%d bytes: the data link's 1500-byte MTU less headers and timestamps)", size, TCPMSS)
			}
		}
		if w.ADUBytes != 0 {
			d.failAt("workload.adu_bytes", "a TCP flow's ADU is its size")
		}
	}
	if overRouters(s) {
		for _, name := range s.Platforms {
			if p, err := qemu.Lookup(name); err == nil && p.Link != qemu.LinkEthernet {
				d.failAt("platforms", "a route-change on the network clock moves the flow between two routers on the data NIC's segment: %s has no data NIC (list the Ethernet platforms)", name)
			}
		}
	}
	if d.decoded("workload.duration") && (w.Duration.Duration < time.Millisecond || w.Duration.Duration%time.Millisecond != 0) {
		d.failAt("workload.duration", "%v: the agent bounds sends by whole milliseconds (at least 1ms)", w.Duration.Duration)
	}
	if w.Path == PathSpecialized && s.Specialization.Mode == ModeNone {
		d.failAt("specialization.mode", "the specialized path needs a residual: mode local or remote")
	}
	if d.decoded("workload.sizes_bytes") && len(w.SizesBytes) == 0 {
		d.failAt("workload.sizes_bytes", "no sizes")
	}
	for i := range s.Timeline {
		d.checkEvent(s, i)
	}
	for i := range s.Expect {
		d.checkExpectation(s, i)
	}
}

func (d *decoder) checkEvent(s *Scenario, i int) {
	e := &s.Timeline[i]
	path := fmt.Sprintf("timeline[%d]", i)
	keys, ok := eventKeys[e.Event]
	if !ok {
		return // reported by the decoder
	}
	d.checkKeys(path, "event", e.Event, keys, Event{})
	at, after := d.decoded(path+".at"), d.decoded(path+".after_packets")
	switch {
	case e.Event == EventServerUnavailable && s.Specialization.Mode != ModeRemote:
		d.failAt(path+".event", "%s needs specialization mode remote", e.Event)
	case e.Event == EventServerUnavailable:
		// The server is down for the whole run.
	case at && after:
		d.failAt(path, "%s takes at or after_packets, not both", e.Event)
	case slices.Contains(hostEvents, e.Event) && s.Clock != ClockNetwork:
		d.failAt(path+".event", "%s acts on a vnet link: it needs clock: network", e.Event)
	case slices.Contains(hostEvents, e.Event) && !at && !after:
		d.failAt(path, "%s happens at a host time or between sends: give at or after_packets", e.Event)
	case slices.Contains(guestEvents, e.Event) && !after:
		d.failAt(path, "%s acts in the guest between sends: give after_packets", e.Event)
	}
	if after && s.Workload.Duration.Duration != 0 {
		d.failAt(path+".after_packets", "a workload bounded by duration sends an unknown number of times: place %s by at", e.Event)
	} else if after && e.AfterPackets > s.Workload.Count {
		d.failAt(path+".after_packets", "%d is past the workload's %d sends (allowed: 0..%d)", e.AfterPackets, s.Workload.Count, s.Workload.Count)
	}
	if at {
		if end := s.Workload.Duration.Duration; end == 0 {
			d.failAt(path+".at", "a time needs the workload's duration to place it in")
		} else if e.At.Duration > end {
			d.failAt(path+".at", "%v is past the workload's duration %v (allowed: 0s..%v)", e.At.Duration, end, end)
		}
	}
	if e.Event == EventSocketClose && e.Which == "thread" && s.Workload.Path != PathSpecialized {
		d.failAt(path+".which", "a close from another task races sends through a token: it needs workload.path specialized")
	}
	if d.decoded(path+".rounds") && e.Which != "thread" {
		d.failAt(path+".rounds", "rounds belong to which: thread")
	}
	if e.Event == EventRespecialize {
		if s.Specialization.GuardPolicy != PolicyRespecialize {
			d.failAt(path+".event", "respecialize replaces a token loaded with guard_policy respecialize")
		}
		if !slices.ContainsFunc(s.Timeline[:i], func(r Event) bool { return r.Event == EventRouteChange && r.AfterPackets <= e.AfterPackets }) {
			d.failAt(path+".event", "respecialize follows a route-change earlier in the timeline (its residual is for the new route)")
		}
	}
	if e.Event == EventWrongLengthSend {
		for _, size := range s.Workload.SizesBytes {
			if e.SizeBytes == s.Workload.ADU(size) {
				d.failAt(path+".size_bytes", "%d bytes is the flow's ADU: the send would not be wrong", e.SizeBytes)
			}
		}
	}
}

func (d *decoder) checkExpectation(s *Scenario, i int) {
	x := &s.Expect[i]
	path := fmt.Sprintf("expect[%d]", i)
	keys, ok := expectKeys[x.Check]
	if !ok {
		return // reported by the decoder
	}
	d.checkKeys(path, "check", x.Check, keys, Expectation{})
	if slices.Equal(keys.optional, bounds) && x.AtLeast == nil && x.AtMost == nil && x.Equals == nil {
		d.failAt(path, "%s needs a bound: %s", x.Check, strings.Join(bounds, ", "))
	}
	if x.Event != nil && *x.Event >= len(s.Timeline) {
		d.failAt(path+".event", "%d is not an event of the timeline (allowed: 0..%d)", *x.Event, len(s.Timeline)-1)
	} else if x.Event != nil && (x.Check == CheckErrno || x.Check == CheckGuardFired) {
		if e := s.Timeline[*x.Event].Event; !slices.Contains(guestEvents, e) {
			d.failAt(path+".event", "event %d is %s, which acts outside the guest: %s reads a guest event (%s)",
				*x.Event, e, x.Check, strings.Join(guestEvents, ", "))
		}
	}
	if isTCP(s) && (x.Check == CheckDelivered || x.Check == CheckLost) {
		d.failAt(path+".check", "a TCP flow counts bytes, not datagrams: use %s", CheckDeliveredBytes)
	}
	if x.Check == CheckDeliveredBytes && s.Clock != ClockNetwork {
		d.failAt(path, "%s counts the sink's bytes: it needs clock: network", x.Check)
	}
	if x.Check == CheckArriveAt {
		if x.AtLeast == nil && x.AtMost == nil && x.Equals == nil {
			d.failAt(path, "%s needs a bound: %s", x.Check, strings.Join(bounds, ", "))
		}
		if s.Clock != ClockNetwork {
			d.failAt(path, "%s counts datagrams on vnet: it needs clock: network", x.Check)
		}
		if (x.Where == WhereRouter1 || x.Where == WhereRouter2) && !overRouters(s) {
			d.failAt(path+".where", "%s: the flow goes through two routers only when a route-change moves it on the network clock", x.Where)
		}
	}
	if x.Check == CheckSpecializedShare && (x.AtLeast != nil && *x.AtLeast > 1 || x.AtMost != nil && *x.AtMost > 1) {
		d.failAt(path, "a share is within 0..1")
	}
}

// checkKeys reports keys given at path that its kind does not take, and
// required ones missing. zero is the struct whose keys these are, kindKey
// the key that names the kind.
func (d *decoder) checkKeys(path, kindKey, kind string, keys keySet, zero any) {
	for _, k := range keysOf(reflect.TypeOf(zero)) {
		if k == kindKey {
			continue
		}
		if d.has(join(path, k)) && !keys.allows(k) {
			d.failAt(join(path, k), "%s does not take %s (it takes: %s)", kind, k, strings.Join(append(keys.required, keys.optional...), ", "))
		}
	}
	for _, k := range keys.required {
		if !d.has(join(path, k)) {
			d.failAt(path, "%s needs %s", kind, k)
		}
	}
}
