// Package routeguard holds the agent steps that exercise the specnet core
// module's route and PMTU guards (images/specnet/core/kmod/guard_route.c):
// a route changed through rtnetlink, a device's MTU, a device's transmit
// counters, and a LOAD with a guard policy or in a token's place. The
// steps are described in images/agent/PROTOCOL.md.
package routeguard

import (
	"fmt"
	"strconv"

	"specbed/qemu"
)

// Guard policies of a token (specnet_uapi.h SPECNET_GUARD_*).
const (
	Fallback     = "fallback"
	Reinforce    = "reinforce"
	Respecialize = "respecialize"
)

// RouteStep adds, replaces or deletes the route to Dst/Prefix: through
// Gateway if set, out of Dev if set, with MTU (bytes) as its metric if
// not 0. Op is "add", "replace" or "del".
type RouteStep struct {
	Op      string
	Dst     string
	Prefix  int
	Gateway string
	Dev     string
	MTU     int
}

func (s RouteStep) String() string {
	b := fmt.Sprintf("route,op=%s,dst=%s,prefix=%d", s.Op, s.Dst, s.Prefix)
	if s.Gateway != "" {
		b += ",gw=" + s.Gateway
	}
	if s.Dev != "" {
		b += ",dev=" + s.Dev
	}
	if s.MTU != 0 {
		b += fmt.Sprintf(",mtu=%d", s.MTU)
	}
	return b
}

// MTUStep sets the MTU of Dev (bytes).
type MTUStep struct {
	Dev string
	MTU int
}

func (s MTUStep) String() string { return fmt.Sprintf("mtu,dev=%s,mtu=%d", s.Dev, s.MTU) }

// IfstatStep reads the transmit counters of Dev.
type IfstatStep struct{ Dev string }

func (s IfstatStep) String() string { return "ifstat,dev=" + s.Dev }

// LoadStep binds residual Name to the flow with guard policy Guard, into
// slot Slot; with Replace the new token takes the place of the slot's
// token (SPECNET_LOAD with token set), which respecialize needs. Instead
// of Name, Ko is a guest module file whose .modinfo name the agent reads:
// a module fetched from the server in the same boot.
type LoadStep struct {
	Slot    int
	Name    string
	Ko      string
	Guard   string
	Replace bool
}

func (s LoadStep) String() string {
	ref := "name=" + s.Name
	if s.Ko != "" {
		ref = "ko=" + s.Ko
	}
	b := fmt.Sprintf("load,slot=%d,%s,guard=%s", s.Slot, ref, s.Guard)
	if s.Replace {
		b += ",replace=1"
	}
	return b
}

// Errno is the kernel's answer of a route step.
func Errno(r qemu.StepResult) (int, error) {
	return field(r, "route", "errno")
}

// Ifstat is a device's transmit counters: packets and bytes.
type Ifstat struct {
	Packets, Bytes int64
}

// Sub is the traffic between an earlier reading and s.
func (s Ifstat) Sub(earlier Ifstat) Ifstat {
	return Ifstat{Packets: s.Packets - earlier.Packets, Bytes: s.Bytes - earlier.Bytes}
}

// ParseIfstat reads an ifstat step's result.
func ParseIfstat(r qemu.StepResult) (Ifstat, error) {
	p, err := field(r, "ifstat", "tx_packets")
	if err != nil {
		return Ifstat{}, err
	}
	b, err := field(r, "ifstat", "tx_bytes")
	return Ifstat{Packets: int64(p), Bytes: int64(b)}, err
}

func field(r qemu.StepResult, kind, key string) (int, error) {
	if r.Kind != kind {
		return 0, fmt.Errorf("step %d is a %s step, not %s", r.Step, r.Kind, kind)
	}
	v, err := strconv.Atoi(r.Fields[key])
	if err != nil {
		return 0, fmt.Errorf("%s step %d: %s: %w", kind, r.Step, key, err)
	}
	return v, nil
}
