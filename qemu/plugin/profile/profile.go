// Package profile runs a guest plan under the insncount plugin and says
// where the instructions of each timed send loop went: per function and
// per layer of the network stack, next to the guest's own count (icount)
// of the same loop.
//
// A timed loop is the agent's time_sends (images/agent/udp.c): untimed
// warm-up sends, a clock read, the timed sends, a clock read. The plugin
// snapshots its counters whenever the agent enters time_sends or its
// clock wrapper sb_clock_gettime_ns (trigger addresses from the agent's
// static binary); the window of a loop runs from the first clock read
// after a time_sends entry to the second. Both reads take the same path
// into the kernel up to the clocksource read, so the window holds the
// instructions the guest's clock measured, within a few.
package profile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/u-root/u-root/pkg/cpio"

	"specbed/images"
	"specbed/qemu"
	"specbed/qemu/plugin"
	"specbed/qemu/plugin/attrib"
)

// Agent functions whose entries trigger snapshots.
const (
	loopSymbol  = "time_sends"
	clockSymbol = "sb_clock_gettime_ns"
)

// Run is one guest run to profile.
type Run struct {
	Platform *qemu.Platform
	Kernel   *images.Kernel
	// Initrd is the initramfs; the agent's symbols (the trigger addresses,
	// names of user-space code) come from its /init, the binary that runs.
	Initrd string
	Plan   []string
	// Modules maps a module's name to its host .ko file, for the modules
	// the plan loads and reports with a sections step (WithSections).
	Modules map[string]string
	// Timeout bounds the run (host wall time); zero takes qemu's default.
	Timeout time.Duration
	// Dir holds the plugin's files; a temporary folder when "".
	Dir string
}

// FuncCount is what one function executed in a window.
type FuncCount struct {
	// Function is "name" for the kernel, "module:name" otherwise.
	Function string `json:"function"`
	Layer    string `json:"layer"`
	// Instructions executed (guest instructions).
	Instructions uint64 `json:"instructions"`
}

// Window is one timed send loop of the plan.
type Window struct {
	// Step is the plan step (agent numbering) whose loop this is; Kind
	// its kind (udp or send); Path the send path of a send step.
	Step int           `json:"step"`
	Kind string        `json:"kind"`
	Path qemu.SendPath `json:"path,omitempty"`
	// SizeBytes is the payload per send; Sends the timed sends.
	SizeBytes int `json:"size_bytes"`
	Sends     int `json:"sends"`
	// Instructions is what the plugin counted in the window; GuestPerSend
	// the guest's own figure for the loop (virtual ns / sends / 2^shift).
	Instructions uint64  `json:"instructions"`
	GuestPerSend float64 `json:"guest_instructions_per_send"`
	// ByLayer and Functions split Instructions (guest instructions).
	ByLayer   map[string]uint64 `json:"by_layer"`
	Functions []FuncCount       `json:"functions"`
}

// PerSend is Instructions per timed send.
func (w *Window) PerSend() float64 { return float64(w.Instructions) / float64(w.Sends) }

// Profile is the outcome of one profiled run.
type Profile struct {
	Platform    string `json:"platform"`
	IcountShift int    `json:"icount_shift"`
	// Result is the agent's report of the run.
	Result  *qemu.Result `json:"-"`
	Windows []Window     `json:"windows"`
	// Total is every instruction of the run by function (boot included).
	Total Window `json:"total"`
}

// Execute boots r under the plugin and attributes the counts.
func Execute(ctx context.Context, r Run, cacheDir string) (*Profile, error) {
	pl, err := plugin.Build(ctx, cacheDir)
	if err != nil {
		return nil, err
	}
	dir := r.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "specbed-profile-"); err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
		defer os.RemoveAll(dir)
	}
	kernel, err := attrib.LoadELF(r.Kernel.Vmlinux, attrib.ObjectKernel, nil)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	agent, err := loadAgent(r.Initrd, dir)
	if err != nil {
		return nil, err
	}
	loop, clock := symbolStart(agent, loopSymbol), symbolStart(agent, clockSymbol)
	if loop == 0 || clock == 0 {
		return nil, fmt.Errorf("profile: the agent in %s has no %s or %s", r.Initrd, loopSymbol, clockSymbol)
	}
	ranges := make([]plugin.Range, len(kernel.Funcs()))
	for i, f := range kernel.Funcs() {
		ranges[i] = plugin.Range{Start: f.Start, End: f.End}
	}
	opts := plugin.Options{
		Out:      filepath.Join(dir, "counts.txt"),
		Ranges:   filepath.Join(dir, "ranges.txt"),
		Triggers: []uint64{loop, clock},
	}
	if err := plugin.WriteRanges(opts.Ranges, ranges); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	args, err := pl.Args(opts)
	if err != nil {
		return nil, err
	}
	var console qemu.ConsoleCopy
	in, err := qemu.Start(ctx, qemu.Config{
		Platform:    r.Platform,
		Mode:        qemu.CountMode,
		Boot:        qemu.Boot{Kernel: r.Kernel.Image, Initrd: r.Initrd},
		Plan:        r.Plan,
		SystemMap:   r.Kernel.SystemMap,
		RunRoot:     filepath.Join(dir, "run"),
		Timeout:     r.Timeout,
		Echo:        &console,
		Instruments: args,
	})
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	res, err := in.Wait()
	if err != nil {
		return nil, fmt.Errorf("profile: %w\nconsole:\n%s", err, console.String())
	}
	f, err := os.Open(opts.Out)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	snaps, err := plugin.ReadDump(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	modules, lines, err := moduleTables(res, r.Modules)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := modules.Add(agent); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	a := &attributor{kernel: kernel, others: modules, lines: lines, rules: attrib.DefaultRules()}
	p := &Profile{Platform: r.Platform.Name, IcountShift: r.Platform.IcountShift, Result: res}
	if p.Windows, err = windows(res, snaps, loop, clock, a); err != nil {
		return p, fmt.Errorf("profile: %w", err)
	}
	last := snaps[len(snaps)-1]
	p.Total = a.window(last.Sub(&plugin.Snapshot{}))
	return p, nil
}

// loadAgent extracts the initramfs's agent into dir and reads its symbols.
func loadAgent(initrd, dir string) (*attrib.Table, error) {
	path := filepath.Join(dir, "init")
	if err := extractInit(initrd, path); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	agent, err := attrib.LoadELF(path, attrib.ObjectAgent, nil)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return agent, nil
}

// extractInit copies the initramfs's /init (the agent) to path.
func extractInit(initrd, path string) error {
	f, err := os.Open(initrd)
	if err != nil {
		return err
	}
	defer f.Close()
	records, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	if err != nil {
		return fmt.Errorf("initramfs %s: %w", initrd, err)
	}
	for _, rec := range records {
		if rec.Name != "init" {
			continue
		}
		data, err := io.ReadAll(io.NewSectionReader(rec.ReaderAt, 0, int64(rec.FileSize)))
		if err != nil {
			return fmt.Errorf("initramfs %s: /init: %w", initrd, err)
		}
		return os.WriteFile(path, data, 0o644)
	}
	return fmt.Errorf("initramfs %s has no /init", initrd)
}

func symbolStart(t *attrib.Table, name string) uint64 {
	for _, f := range t.Funcs() {
		if f.Name == name {
			return f.Start
		}
	}
	return 0
}

// moduleLines is the line table of a module's code, where it was loaded.
type moduleLines struct {
	object     string
	start, end uint64 // the code section's guest addresses
	lines      *attrib.Lines
}

// moduleTables reads the sections results of res and the symbols of the
// modules they name, and the line tables of those built with one (a
// residual module).
func moduleTables(res *qemu.Result, files map[string]string) (*attrib.Table, []moduleLines, error) {
	t := &attrib.Table{}
	var lines []moduleLines
	seen := map[string]bool{}
	for _, s := range res.Steps {
		if s.Kind != SectionsKind {
			continue
		}
		name := s.Fields["name"]
		path, ok := files[name]
		if !ok {
			return nil, nil, fmt.Errorf("step %d reports module %s, which has no host file", s.Step, name)
		}
		if seen[name] {
			continue // reloaded at the same place or not: the first load's symbols
		}
		seen[name] = true
		bases, err := sectionBases(s)
		if err != nil {
			return nil, nil, fmt.Errorf("step %d: %w", s.Step, err)
		}
		mt, err := attrib.LoadELF(path, name, bases)
		if err != nil {
			return nil, nil, err
		}
		if err := t.Add(mt); err != nil {
			return nil, nil, err
		}
		l, err := attrib.LoadLines(path)
		if errors.Is(err, attrib.ErrNoLines) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("module %s: %w", name, err)
		}
		base, ok := bases[l.Section]
		if !ok {
			return nil, nil, fmt.Errorf("module %s: the guest reported no address for %s", name, l.Section)
		}
		var end uint64
		for _, f := range mt.Funcs() {
			if f.Start >= base {
				end = max(end, f.End)
			}
		}
		lines = append(lines, moduleLines{object: name, start: base, end: end, lines: l})
	}
	return t, lines, nil
}

// SectionsKind is the agent step that reports a module's code sections.
const SectionsKind = "sections"

// sectionBases reads a sections result: section name to load address.
func sectionBases(s qemu.StepResult) (map[string]uint64, error) {
	bases := map[string]uint64{}
	for k, v := range s.Fields {
		if k == "step" || k == "kind" || k == "name" {
			continue
		}
		addr, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("section %s: address %q", k, v)
		}
		bases[k] = addr
	}
	if len(bases) == 0 {
		return nil, errors.New("sections result without sections")
	}
	return bases, nil
}

// WithSections returns plan with a sections step after every insmod of
// a guest path in modules (guest path to module name), so that the
// profile can name the module's functions.
func WithSections(plan []string, modules map[string]string) []string {
	var out []string
	for _, step := range plan {
		out = append(out, step)
		if path, ok := strings.CutPrefix(step, "insmod,path="); ok {
			path, _, _ = strings.Cut(path, ",")
			if name, ok := modules[path]; ok {
				out = append(out, SectionsStep(name))
			}
		}
	}
	return out
}

// SectionsStep is the agent step that reports module name's code sections.
func SectionsStep(name string) string { return SectionsKind + ",name=" + name }

// WithoutSections returns a copy of res without its sections results, for
// checks that read the results of a plan before WithSections.
func WithoutSections(res *qemu.Result) *qemu.Result {
	out := *res
	out.Steps = nil
	for _, s := range res.Steps {
		if s.Kind != SectionsKind {
			out.Steps = append(out.Steps, s)
		}
	}
	return &out
}

// attributor names the counted addresses.
type attributor struct {
	kernel *attrib.Table // the plugin's range i is kernel.Funcs()[i]
	others *attrib.Table // modules and the agent
	lines  []moduleLines
	rules  attrib.Rules
}

// sourceLine finds the source line of a module instruction, if its module
// has a line table.
func (a *attributor) sourceLine(addr uint64) (attrib.SourceLine, bool) {
	for _, m := range a.lines {
		if addr >= m.start && addr < m.end {
			return m.lines.Lookup(addr - m.start)
		}
	}
	return attrib.SourceLine{}, false
}

// window splits the counts of d by function and layer.
func (a *attributor) window(d *plugin.Snapshot) Window {
	byFunc := map[string]*FuncCount{}
	addLayer := func(name, layer string, n uint64) {
		fc := byFunc[name]
		if fc == nil {
			fc = &FuncCount{Function: name, Layer: layer}
			byFunc[name] = fc
		}
		fc.Instructions += n
	}
	add := func(name string, n uint64) { addLayer(name, a.rules.Layer(baseName(name)), n) }
	funcs := a.kernel.Funcs()
	for i, n := range d.Ranges {
		if i < len(funcs) {
			add(funcs[i].String(), n)
		} else {
			add("(unknown range)", n)
		}
	}
	for addr, n := range d.Addrs {
		f := a.others.Lookup(addr)
		if sl, ok := a.sourceLine(addr); ok && f != nil {
			// Residual code is charged to the layer of the generic
			// source its #line directives name.
			addLayer(f.String()+"@"+sl.File, a.rules.FileLayer(sl.File), n)
			continue
		}
		switch {
		case f != nil:
			add(f.String(), n)
		case a.kernel.Lookup(addr) != nil:
			add(a.kernel.Lookup(addr).String(), n)
		default:
			add("(unknown)", n)
		}
	}
	w := Window{Instructions: d.Total, ByLayer: map[string]uint64{}}
	for _, fc := range byFunc {
		w.Functions = append(w.Functions, *fc)
		w.ByLayer[fc.Layer] += fc.Instructions
	}
	sort.Slice(w.Functions, func(i, j int) bool {
		if w.Functions[i].Instructions != w.Functions[j].Instructions {
			return w.Functions[i].Instructions > w.Functions[j].Instructions
		}
		return w.Functions[i].Function < w.Functions[j].Function
	})
	return w
}

// baseName drops the object prefix of a function's name.
func baseName(name string) string {
	if _, n, ok := strings.Cut(name, ":"); ok {
		return n
	}
	return name
}

// windows finds the timed loops in the snapshots and pairs them with the
// plan's timed steps in order.
func windows(res *qemu.Result, snaps []*plugin.Snapshot, loop, clock uint64, a *attributor) ([]Window, error) {
	var timed []qemu.StepResult
	for _, s := range res.Steps {
		if s.Send != nil || s.UDP != nil {
			timed = append(timed, s)
		}
	}
	var out []Window
	for i := 0; i < len(snaps); i++ {
		if snaps[i].Exit || snaps[i].Trigger != loop {
			continue
		}
		// The next two clock reads bracket the timed sends.
		var reads []*plugin.Snapshot
		for j := i + 1; j < len(snaps) && len(reads) < 2; j++ {
			if snaps[j].Exit || snaps[j].Trigger == loop {
				break
			}
			reads = append(reads, snaps[j])
		}
		if len(reads) < 2 {
			return out, fmt.Errorf("timed loop %d (snapshot %d): %d clock reads before the next loop, want 2", len(out), i, len(reads))
		}
		if len(out) >= len(timed) {
			return out, fmt.Errorf("more timed loops than timed step results (%d)", len(timed))
		}
		w := a.window(reads[1].Sub(reads[0]))
		s := timed[len(out)]
		w.Step, w.Kind = s.Step, s.Kind
		switch {
		case s.Send != nil:
			w.Path, w.SizeBytes, w.Sends, w.GuestPerSend = s.Send.Path, s.Send.Size, s.Send.Count, s.Send.InstructionsPerSend
		case s.UDP != nil:
			w.SizeBytes, w.Sends, w.GuestPerSend = s.UDP.Size, s.UDP.Count, s.UDP.InstructionsPerSend
		}
		out = append(out, w)
	}
	if len(out) != len(timed) {
		return out, fmt.Errorf("%d timed loops for %d timed step results", len(out), len(timed))
	}
	return out, nil
}
