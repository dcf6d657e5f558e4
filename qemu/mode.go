package qemu

import (
	"fmt"
	"strings"
)

// Mode is how the guest's virtual clock relates to the host's. Both modes
// run QEMU with -icount, so virtual time advances by 2^shift ns per guest
// instruction while the guest executes; they differ in what happens when
// the guest waits, and so in what their results mean.
//
// The mode and the platform's icount shift are part of every result.
type Mode struct {
	// Name is what users type: --mode NAME.
	Name string
	// Sleep is -icount's sleep= value. Off: an idle guest's clock jumps
	// to the next timer at once, so nothing depends on host time. On:
	// an idle guest waits for the host, so its clock follows host time
	// and it can talk to host-timed peers.
	Sleep bool
	// RTC is the -rtc value.
	RTC string
	// Counts is true when virtual time is a pure instruction count, so a
	// measured virtual duration divided by 2^shift is the number of
	// instructions and is identical across runs. Such a mode must not
	// carry host-timed inbound traffic, which would arrive at host-timed
	// moments.
	Counts bool
}

var (
	// CountMode makes a run deterministic: results are instruction
	// counts, bit-identical across boots of the same images.
	CountMode = Mode{
		Name:   "count",
		Sleep:  false,
		RTC:    "base=2020-01-01T00:00:00,clock=vm",
		Counts: true,
	}
	// NetworkMode lets the guest exchange traffic with host programs:
	// guest time follows host time when the guest waits. Results are
	// virtual nanoseconds, not instruction counts.
	NetworkMode = Mode{
		Name:   "network",
		Sleep:  true,
		RTC:    "base=utc,clock=host",
		Counts: false,
	}
)

// Modes returns every mode, the default (CountMode) first.
func Modes() []Mode { return []Mode{CountMode, NetworkMode} }

// ParseMode finds a mode by name. Its error lists the valid names.
func ParseMode(name string) (Mode, error) {
	var names []string
	for _, m := range Modes() {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	return Mode{}, fmt.Errorf("unknown mode %q: choose one of %s", name, strings.Join(names, ", "))
}

// Args are the QEMU options of the mode at the given icount shift.
func (m Mode) Args(shift int) []string {
	sleep := "off"
	if m.Sleep {
		sleep = "on"
	}
	return []string{
		"-icount", fmt.Sprintf("shift=%d,sleep=%s", shift, sleep),
		"-rtc", m.RTC,
	}
}

func (m Mode) String() string { return m.Name }

// MarshalText writes the mode as its name, so results carry "count" or
// "network".
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.Name), nil }

// UnmarshalText reads a mode name.
func (m *Mode) UnmarshalText(text []byte) error {
	parsed, err := ParseMode(string(text))
	if err != nil {
		return err
	}
	*m = parsed
	return nil
}
