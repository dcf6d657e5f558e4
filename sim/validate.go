package sim

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"specbed/qemu"
	"specbed/results"
	specserver "specbed/specializer/server"
)

// throughputFigure is the bundle's sender throughput in virtual time.
const throughputFigure = "fig5-udp-throughput"

// SendsPerSecond is how many sends of size payload bytes the device makes
// per second of its own time on a path, at cpuScale times the calibrated
// instruction rate.
func (p *Platform) SendsPerSecond(path string, size int, cpuScale float64) (float64, error) {
	l, err := p.Path(path)
	if err != nil {
		return 0, err
	}
	return p.InstructionsPerSecond * cpuScale / l.At(size), nil
}

// Check is one held-out point: the model's prediction beside the
// emulator's measurement.
type Check struct {
	Platform string
	Path     string
	// SizeBytes is the payload (bytes; 0 for a fetch); Quantity says
	// which figure: "instructions per send", "Mbit/s (virtual time)", a
	// fetch's bytes or its round trip.
	SizeBytes int
	Quantity  string
	Model     float64
	Emulator  float64
}

// RelErr is |model - emulator| / emulator.
func (c Check) RelErr() float64 { return math.Abs(c.Model-c.Emulator) / c.Emulator }

func (c Check) String() string {
	size := ""
	if c.SizeBytes > 0 {
		size = fmt.Sprintf(" %d B", c.SizeBytes)
	}
	return fmt.Sprintf("%s %s%s %s: model %.4g emulator %.4g (%.2f%%)", c.Platform, c.Path, size, c.Quantity, c.Model, c.Emulator, 100*c.RelErr())
}

// Validate predicts every row of the bundle's UDP per-send and throughput
// figures at a size the model was not fitted on.
func Validate(m *Model, b *results.Bundle) ([]Check, error) {
	fit := map[int]bool{}
	for _, s := range m.FitSizes {
		fit[s] = true
	}
	var out []Check
	for _, fig := range []struct {
		id       string
		quantity string
		predict  func(p *Platform, path string, size int) (float64, error)
	}{
		{pathsFigure, "instructions per send", func(p *Platform, path string, size int) (float64, error) {
			l, err := p.Path(path)
			return l.At(size), err
		}},
		{throughputFigure, "Mbit/s (virtual time)", func(p *Platform, path string, size int) (float64, error) {
			r, err := p.SendsPerSecond(path, size, 1)
			return r * float64(size) * 8 / 1e6, err
		}},
		{nicFigure, "Mbit/s (guest clock, data NIC)", func(p *Platform, path string, size int) (float64, error) {
			r, err := p.SendsPerSecond(nicPrefix+path, size, 1)
			return r * float64(size) * 8 / 1e6, err
		}},
	} {
		f := b.Figure(fig.id)
		if f == nil {
			continue
		}
		col := columns(f)
		for _, r := range f.Ours() {
			if r.Key[col["protocol"]] != "udp" {
				continue
			}
			size, err := strconv.Atoi(r.Key[col["size_bytes"]])
			if err != nil {
				return nil, fmt.Errorf("sim: validate: figure %s: %w", f.ID, err)
			}
			if fit[size] {
				continue
			}
			p, err := m.Platform(r.Key[col["platform"]])
			if err != nil {
				return nil, fmt.Errorf("sim: validate: %w", err)
			}
			path := r.Key[col["path"]]
			v, err := fig.predict(p, path, size)
			if err != nil {
				return nil, fmt.Errorf("sim: validate: %w", err)
			}
			out = append(out, Check{Platform: p.Name, Path: path, SizeBytes: size, Quantity: fig.quantity, Model: v, Emulator: r.Value})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].RelErr() > out[j].RelErr() })
	return out, nil
}

// roundTrip is the quantity of a fetch's round trip check (seconds on the
// guest's clock).
const roundTrip = "round trip (s, guest clock)"

// FetchChecks compares the model's fetch on link l with one fetch the
// emulator's agent measured there: the request and module bytes (the
// model's come from its calibration bundle) and the round trip from
// before connect() to the module's last byte (seconds). The server's work
// is taken from the measured fetch (host wall time, which follows the
// host's load, not the link), so the round trip checks the link's share.
func FetchChecks(m *Model, platform string, l Link, f *qemu.FetchResult) ([]Check, error) {
	p, err := m.Platform(platform)
	if err != nil {
		return nil, fmt.Errorf("sim: fetch check: %w", err)
	}
	if p.Spec == nil {
		return nil, fmt.Errorf("sim: fetch check: platform %s has no specialization cost", platform)
	}
	if len(f.PhasesNS) != int(specserver.NumPhases) || f.RoundTripNS <= 0 {
		return nil, fmt.Errorf("sim: fetch check: fetch %+v: want %d server phases and a round trip", f, specserver.NumPhases)
	}
	var serverNS int64
	for ph, ns := range f.PhasesNS {
		// The receive phase is the upload, which the link model covers.
		if specserver.Phase(ph) != specserver.PhaseReceive {
			serverNS += ns
		}
	}
	fetch := func(quantity string, model, emulator float64) Check {
		return Check{Platform: platform, Path: "fetch", Quantity: quantity, Model: model, Emulator: emulator}
	}
	return []Check{
		fetch("request bytes", p.Spec.RequestBytes, float64(f.RequestBytes)),
		fetch("module bytes", p.Spec.ModuleBytes, float64(f.ModuleBytes)),
		fetch(roundTrip, l.FetchRoundTrip(p.Spec, float64(serverNS)/1e9), float64(f.RoundTripNS)/1e9),
	}, nil
}

// UploadChecks compares the model's upload on link l with one fetch the
// emulator measured there: the request's bytes and its time on the wire
// against the server's receive phase (from accepting the connection to
// the request's last byte, host wall time). The SA-1110's link is timed
// this way: its guest clock in network mode does not follow host time
// (testdata/README.md), so its agent's round trip and download do not
// measure the line.
func UploadChecks(m *Model, platform string, l Link, f *qemu.FetchResult) ([]Check, error) {
	p, err := m.Platform(platform)
	if err != nil {
		return nil, fmt.Errorf("sim: upload check: %w", err)
	}
	if p.Spec == nil {
		return nil, fmt.Errorf("sim: upload check: platform %s has no specialization cost", platform)
	}
	if len(f.PhasesNS) <= int(specserver.PhaseReceive) || f.PhasesNS[specserver.PhaseReceive] <= 0 {
		return nil, fmt.Errorf("sim: upload check: fetch %+v has no receive phase", f)
	}
	upload := func(quantity string, model, emulator float64) Check {
		return Check{Platform: platform, Path: "upload", Quantity: quantity, Model: model, Emulator: emulator}
	}
	return []Check{
		upload("request bytes", p.Spec.RequestBytes, float64(f.RequestBytes)),
		upload("server's receive (s)", l.Wire(p.Spec.RequestBytes, requestEscapeShare), float64(f.PhasesNS[specserver.PhaseReceive])/1e9),
	}, nil
}
