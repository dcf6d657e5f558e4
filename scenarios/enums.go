package scenarios

import (
	"maps"
	"slices"

	"specbed/qemu"
	"specbed/vnet"
)

// Clock modes.
const (
	ClockCount   = "count"
	ClockNetwork = "network"
)

// Workload paths.
const (
	PathKernel      = "kernel"
	PathGeneric     = "generic"
	PathSpecialized = "specialized"
)

// Specialization modes and guard policies.
const (
	ModeNone   = "none"
	ModeLocal  = "local"
	ModeRemote = "remote"

	PolicyFallback     = "fallback"
	PolicyRefuse       = "refuse"
	PolicyReinforce    = "reinforce"
	PolicyRespecialize = "respecialize"
)

// Event kinds.
const (
	EventRouteChange       = "route-change"
	EventSocketClose       = "socket-close"
	EventMTUChange         = "mtu-change"
	EventSetsockopt        = "setsockopt"
	EventWrongLengthSend   = "wrong-length-send"
	EventLinkDown          = "link-down"
	EventLinkUp            = "link-up"
	EventLinkRate          = "link-rate"
	EventServerUnavailable = "server-unavailable"
	EventRespecialize      = "respecialize"
	// EventOops loads images/modules/oops, whose init dereferences NULL:
	// the guest oopses, for the crash monitor's fault scenario.
	EventOops = "oops"
)

// Expectation checks.
const (
	CheckDelivered        = "delivered"
	CheckDeliveredBytes   = "delivered-bytes"
	CheckLost             = "lost"
	CheckArriveAt         = "arrive-at"
	CheckGuardFired       = "guard-fired-within"
	CheckSpecializedShare = "specialized-share"
	CheckThroughputGain   = "throughput-gain-at-least"
	CheckKernelLogClean   = "kernel-log-clean"
	CheckErrno            = "errno"
)

// Places and phases of arrive-at.
const (
	WhereRouter1 = "router1"
	WhereRouter2 = "router2"
	WhereSink    = "sink"
	WhereNowhere = "nowhere"

	PhaseBefore = "before"
	PhaseAfter  = "after"
)

// errnos are the errno names an errno check takes, with their numbers
// on the guests (i386 and ARM share asm-generic's).
var errnos = map[string]int{
	"0": 0, "EPERM": 1, "EBADF": 9, "EAGAIN": 11, "EBUSY": 16, "EINVAL": 22,
	"ENOSPC": 28, "EMSGSIZE": 90, "ECONNREFUSED": 111, "ESTALE": 116,
}

// enumValues returns the allowed values of the enum named by a field's
// enum tag. Platforms and links come from the packages that define them.
func enumValues(name string) []string {
	switch name {
	case "platform":
		return qemu.Names()
	case "clock":
		return []string{ClockCount, ClockNetwork}
	case "link":
		return []string{vnet.SpecLink, vnet.DataLink, vnet.SLIPLink}
	case "protocol":
		return []string{"udp", ProtoTCP}
	case "path":
		return []string{PathKernel, PathGeneric, PathSpecialized}
	case "mode":
		return []string{ModeNone, ModeLocal, ModeRemote}
	case "policy":
		return []string{PolicyReinforce, PolicyRespecialize, PolicyFallback, PolicyRefuse}
	case "event":
		return slices.Sorted(maps.Keys(eventKeys))
	case "check":
		return slices.Sorted(maps.Keys(expectKeys))
	case "descriptor":
		return []string{"flow", "dup", "thread"}
	case "errno":
		return slices.Sorted(maps.Keys(errnos))
	case "guard":
		return []string{"close", "route", "pmtu"}
	case "where":
		return []string{WhereRouter1, WhereRouter2, WhereSink, WhereNowhere}
	case "phase":
		return []string{PhaseBefore, PhaseAfter}
	}
	panic("scenarios: no enum " + name)
}

// keySet is the keys an event or expectation takes beyond its kind key:
// required ones and optional ones.
type keySet struct{ required, optional []string }

func (k keySet) allows(key string) bool {
	return slices.Contains(k.required, key) || slices.Contains(k.optional, key)
}

// when is the placement every event takes (one of the two).
var when = []string{"at", "after_packets"}

// eventKeys lists each event's keys.
var eventKeys = map[string]keySet{
	EventRouteChange:       {optional: when},
	EventSocketClose:       {optional: append([]string{"which", "rounds"}, when...)},
	EventMTUChange:         {required: []string{"mtu_bytes"}, optional: when},
	EventSetsockopt:        {required: []string{"level", "option", "value"}, optional: when},
	EventWrongLengthSend:   {required: []string{"size_bytes"}, optional: when},
	EventLinkDown:          {required: []string{"link"}, optional: when},
	EventLinkUp:            {required: []string{"link"}, optional: when},
	EventLinkRate:          {required: []string{"link", "rate_bps"}, optional: when},
	EventServerUnavailable: {},
	EventRespecialize:      {optional: when},
	EventOops:              {optional: when},
}

// bounds are at_least, at_most and equals: a check takes at least one.
var bounds = []string{"at_least", "at_most", "equals"}

// expectKeys lists each check's keys.
var expectKeys = map[string]keySet{
	CheckDelivered:        {optional: bounds},
	CheckDeliveredBytes:   {optional: bounds},
	CheckLost:             {optional: bounds},
	CheckArriveAt:         {required: []string{"event", "where"}, optional: append([]string{"phase"}, bounds...)},
	CheckGuardFired:       {required: []string{"guard", "event", "within_packets"}},
	CheckSpecializedShare: {optional: bounds},
	CheckThroughputGain:   {required: []string{"over", "at_least"}},
	CheckKernelLogClean:   {},
	CheckErrno:            {required: []string{"event", "errno"}},
}

// guestEvents act inside the guest: they become agent plan steps, placed
// by packets sent.
var guestEvents = []string{EventRouteChange, EventSocketClose, EventMTUChange, EventSetsockopt, EventWrongLengthSend, EventRespecialize, EventOops}

// hostEvents act on vnet's links (network clock) at a host time, or
// between two of the agent's steps when placed by packets sent.
var hostEvents = []string{EventLinkDown, EventLinkUp, EventLinkRate}
