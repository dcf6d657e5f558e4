// Package sim is a calibrated whole-system model of remote specialization:
// devices that send through the kernel's path or a specialized residual,
// the specialization link, a server with a module cache and a FIFO queue
// of workers, and guard events. It answers sweeps (link rate, CPU speed,
// message size, session length, fleet size) that would take the emulator
// days, from costs fitted to one result bundle of the emulator.
package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"specbed/results"
)

// Schema names the version of a model file.
const Schema = "specbed.sim/v1"

// Model is the calibrated model: per platform, what a send costs on each
// path and what specialization costs, fitted from a result bundle.
type Model struct {
	Schema string `json:"schema"`
	// Source is the bundle the model was fitted from.
	Source Source `json:"source"`
	// FitSizes are the payload sizes (bytes) the per-send costs were
	// fitted on; the bundle's other sizes are held out for validation.
	FitSizes  []int      `json:"fit_sizes_bytes"`
	Platforms []Platform `json:"platforms"`
}

// Source names a bundle by its path, its run's commit and the SHA-256 of
// its bundle.json.
type Source struct {
	Path   string `json:"path"`
	Commit string `json:"commit"`
	Dirty  bool   `json:"dirty"`
	SHA256 string `json:"sha256"`
}

// Platform is one device platform's calibrated costs.
type Platform struct {
	Name string `json:"name"`
	// InstructionsPerSecond is the guest's icount rate: 1e9 / 2^shift
	// (instructions per second of virtual time).
	InstructionsPerSecond float64 `json:"instructions_per_second"`
	// Paths maps a send path (sendto, send, generic, special) to its cost
	// in instructions per send as a function of payload bytes.
	Paths map[string]Linear `json:"paths"`
	// Spec is the cost of fetching one residual (nil when the bundle has
	// no figure 4(c) for this platform or a stand-in).
	Spec *SpecCost `json:"spec,omitempty"`
	// Measured is the platform as the source bundle describes it (QEMU,
	// kernel key, .config hash): what the costs were measured on.
	Measured results.Platform `json:"measured"`
}

// BundlePlatforms are the platforms of a bundle the model makes: the
// measured ones, their clock mode saying that a model stands in.
func (m *Model) BundlePlatforms(names []string) ([]results.Platform, error) {
	var out []results.Platform
	for _, n := range names {
		p, err := m.Platform(n)
		if err != nil {
			return nil, err
		}
		bp := p.Measured
		bp.ClockMode = "sim (calibrated on " + bp.ClockMode + " mode)"
		out = append(out, bp)
	}
	return out, nil
}

// Linear is A + B*size instructions per send, size in payload bytes.
type Linear struct {
	// A is in instructions, B in instructions per payload byte.
	A float64 `json:"a_instructions"`
	B float64 `json:"b_instructions_per_byte"`
}

// At is the cost of a send of size payload bytes (instructions).
func (l Linear) At(size int) float64 { return l.A + l.B*float64(size) }

// SpecCost is what one residual fetch costs, split by who pays it: the
// device (instructions, so it scales with CPU speed), the link (bytes,
// so it scales with link rate) and the server (seconds of a worker).
type SpecCost struct {
	// From names the platform whose figure 4(c) this is (a platform
	// without one borrows another's: its note says so).
	From string `json:"from"`
	Note string `json:"note,omitempty"`
	// CollectInstructions and LoadInstructions are device work: the
	// context collection and the module load (instructions).
	CollectInstructions float64 `json:"collect_instructions"`
	LoadInstructions    float64 `json:"load_instructions"`
	// RequestBytes and ModuleBytes are the TCP payload of the upload (the
	// request: header and context) and of the download (the module; the
	// response's header is added by Link.FetchRoundTrip), as the bundle's
	// figure fig4c-bytes records them. A bundle without that figure gives
	// lower bounds fitted from the transfer times (Note says so).
	RequestBytes float64 `json:"request_bytes"`
	ModuleBytes  float64 `json:"module_bytes"`
	// ColdSeconds is a worker's time for a cache miss (analysis,
	// specialization, compile, sign); CachedSeconds for a hit.
	ColdSeconds   float64 `json:"cold_seconds"`
	CachedSeconds float64 `json:"cached_seconds"`
	// CalibrationLink is the link the phases were measured on.
	CalibrationLink Link `json:"calibration_link"`
}

// Link is the device's path to the specialization server.
type Link struct {
	// RateBps is the bottleneck rate (bit/s), Delay the one-way delay
	// (seconds), Loss the share of frames lost each way (0..1).
	RateBps      float64 `json:"rate_bps"`
	DelaySeconds float64 `json:"delay_seconds"`
	Loss         float64 `json:"loss"`
	// SLIP says the bottleneck is a SLIP line (the SA-1110's serial line):
	// its rate applies to SLIP-encoded bytes, not Ethernet frames.
	SLIP bool `json:"slip,omitempty"`
	// MTU is the path's smallest IP MTU (bytes; 0: the bottleneck's
	// default, 1500 on Ethernet, 296 on SLIP).
	MTU int `json:"mtu_bytes,omitempty"`
}

// Platform returns the named platform's model.
func (m *Model) Platform(name string) (*Platform, error) {
	for i := range m.Platforms {
		if m.Platforms[i].Name == name {
			return &m.Platforms[i], nil
		}
	}
	return nil, fmt.Errorf("sim: model has no platform %q (has %v)", name, m.names())
}

func (m *Model) names() []string {
	var n []string
	for _, p := range m.Platforms {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	return n
}

// Path returns the cost line of a path.
func (p *Platform) Path(name string) (Linear, error) {
	l, ok := p.Paths[name]
	if !ok {
		return Linear{}, fmt.Errorf("sim: platform %s has no path %q", p.Name, name)
	}
	return l, nil
}

// Write stores the model as indented JSON.
func (m *Model) Write(path string) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	return nil
}

// Read loads a model file.
func Read(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("sim: model %s: %w", path, err)
	}
	if m.Schema != Schema {
		return nil, fmt.Errorf("sim: model %s: schema %q, this specbed reads %q", path, m.Schema, Schema)
	}
	return &m, nil
}
