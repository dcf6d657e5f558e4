package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Schema names the version of bundle.json. A change that old readers
// would misread takes a new version.
const Schema = "specbed.bundle/v1"

// BundleFile is the bundle's description in its directory.
const BundleFile = "bundle.json"

// Bundle is one run's results: every parameter the figures depend on and
// the figures themselves. A bundle directory holds bundle.json, a CSV, a
// PNG and an SVG per figure and report.html.
type Bundle struct {
	Schema    string     `json:"schema"`
	Run       Run        `json:"run"`
	Platforms []Platform `json:"platforms"`
	Figures   []Figure   `json:"figures"`
	// Missing are the figures this run did not make, each with why.
	Missing []Missing `json:"missing,omitempty"`
	// ScenarioLibrary is the page of the scenario library pass that runs
	// after the figures (relative to the bundle's folder), or empty.
	ScenarioLibrary string `json:"scenario_library,omitempty"`
}

// Run is what the whole run shares.
type Run struct {
	// Command is the command line that made the bundle.
	Command []string `json:"command"`
	Quick   bool     `json:"quick"`
	// Commit is the checkout's HEAD; Dirty is true when tracked files
	// differed from it.
	Commit string `json:"commit"`
	Dirty  bool   `json:"dirty"`
	// Host is the machine's name; HostCPUs its logical CPUs; GoVersion
	// the Go the CLI was built with.
	Host      string    `json:"host"`
	HostCPUs  int       `json:"host_cpus"`
	GoVersion string    `json:"go_version"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	// Seeds are the random seeds the run drew, by use. Count-mode boots
	// draw none: the guests' inputs are fixed and their clocks count
	// instructions, so an empty map is the normal case.
	Seeds map[string]int64 `json:"seeds"`
}

// Platform is one guest platform's parameters in this run (its profile
// is qemu.Platform).
type Platform struct {
	Name string `json:"name"`
	// Description is the profile's one line; PaperCPU and PaperMHz the
	// paper's machine it stands in for.
	Description string `json:"description"`
	PaperCPU    string `json:"paper_cpu"`
	PaperMHz    int    `json:"paper_mhz"`
	Machine     string `json:"machine"`
	CPU         string `json:"cpu"`
	// Link is the guest's network attachment (ethernet or slip).
	Link string `json:"link"`
	// MemoryMiB is the RAM the guest kernel may use.
	MemoryMiB int `json:"memory_mib"`
	// ClockMode is the mode of the count-kind figures (count); figures of
	// KindTime ran in network mode, as their captions say. IcountShift is
	// the guest's: each instruction advances virtual time by 2^IcountShift ns.
	ClockMode   string `json:"clock_mode"`
	IcountShift int    `json:"icount_shift"`
	// QEMU is the emulator binary, QEMUVersion the first line of its
	// --version.
	QEMU        string `json:"qemu"`
	QEMUVersion string `json:"qemu_version"`
	// KernelRelease is uname -r; KernelKey the cache key of the build
	// (hash of all its inputs); KernelConfigSHA256 that of its .config.
	KernelRelease      string `json:"kernel_release"`
	KernelKey          string `json:"kernel_key"`
	KernelConfigSHA256 string `json:"kernel_config_sha256"`
}

// Kind says how a figure's values behave from run to run, and so how
// compare judges them.
type Kind string

const (
	// KindCount: instruction counts and code sizes, identical run to
	// run on the same inputs.
	KindCount Kind = "count"
	// KindTime: host wall time, which follows the host's load.
	KindTime Kind = "time"
)

// Figure is one figure as a table: rows of key columns and a value, ours
// and the paper's. How it is drawn follows from the data (Plot), so a new
// protocol or platform in the rows is a new bar, not new code.
type Figure struct {
	// ID names the figure's files (ID.csv, ID.png, ID.svg).
	ID string `json:"id"`
	// PaperFigure is the paper's figure this one stands for ("4(b)"),
	// empty for figures of our own.
	PaperFigure string `json:"paper_figure,omitempty"`
	Title       string `json:"title"`
	// Caption says what was measured, how and in which clock mode.
	Caption string `json:"caption"`
	// Unit is the unit of every Value.
	Unit    string   `json:"unit"`
	Kind    Kind     `json:"kind"`
	Columns []string `json:"columns"`
	Rows    []Row    `json:"rows"`
	// Series is the key column whose values are the bars of one group
	// ("" for one series, ours); the other columns name the group.
	Series string `json:"series,omitempty"`
	// Stacked draws a group's series as one bar of stacked parts (they
	// add up, like the phases of one request).
	Stacked bool `json:"stacked,omitempty"`
	// Limit, if set, is a bound every value should stay within, drawn as
	// a line (e.g. netperf's widest confidence interval).
	Limit *Limit `json:"limit,omitempty"`
	// Panels, if set, is the key column whose values split the plot into
	// panels side by side, each with its own value axis: for values whose
	// scale differs by platform (virtual time runs 2^shift ns per
	// instruction), which one axis would flatten.
	Panels string `json:"panels,omitempty"`
}

// Limit is a figure's bound, in the figure's unit.
type Limit struct {
	Value float64 `json:"value"`
	// Label names it in the legend.
	Label string `json:"label"`
}

// Row is one value of a figure. Key holds one entry per Columns.
type Row struct {
	Key   []string `json:"key"`
	Value float64  `json:"value"`
	// Source is empty for our measurement and names the paper's text for
	// the paper's numbers (results/paper).
	Source string `json:"source,omitempty"`
}

// Paper reports whether the row is the paper's number.
func (r Row) Paper() bool { return r.Source != "" }

// KeyString joins the key for messages and maps.
func (r Row) KeyString() string { return strings.Join(r.Key, "/") }

// Missing is a figure the run could not make.
type Missing struct {
	PaperFigure string `json:"paper_figure"`
	Why         string `json:"why"`
}

// Figure returns the figure with the given ID, or nil.
func (b *Bundle) Figure(id string) *Figure {
	for i := range b.Figures {
		if b.Figures[i].ID == id {
			return &b.Figures[i]
		}
	}
	return nil
}

// Value returns our value at key (nil if the figure has none).
func (f *Figure) Value(key ...string) *float64 {
	for _, r := range f.Rows {
		if !r.Paper() && r.KeyString() == strings.Join(key, "/") {
			v := r.Value
			return &v
		}
	}
	return nil
}

// Ours returns the figure's own rows.
func (f *Figure) Ours() []Row {
	var out []Row
	for _, r := range f.Rows {
		if !r.Paper() {
			out = append(out, r)
		}
	}
	return out
}

// check reports a figure whose rows do not fit its columns.
func (f *Figure) check() error {
	if f.ID == "" || strings.ContainsAny(f.ID, `/\ `) {
		return fmt.Errorf("figure id %q: want a file name stem", f.ID)
	}
	series := f.Series == ""
	for _, c := range f.Columns {
		series = series || c == f.Series
	}
	if !series {
		return fmt.Errorf("figure %s: series column %q is not among %v", f.ID, f.Series, f.Columns)
	}
	for _, r := range f.Rows {
		if len(r.Key) != len(f.Columns) {
			return fmt.Errorf("figure %s: row %v has %d keys for %d columns", f.ID, r.Key, len(r.Key), len(f.Columns))
		}
	}
	return nil
}

// Write writes the bundle into dir (made if missing): bundle.json, each
// figure's CSV, PNG and SVG, and report.html.
func (b *Bundle) Write(dir string) error {
	if b.Schema == "" {
		b.Schema = Schema
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	svgs := map[string][]byte{}
	for i := range b.Figures {
		f := &b.Figures[i]
		if err := f.check(); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		if err := writeCSV(filepath.Join(dir, f.ID+".csv"), f); err != nil {
			return fmt.Errorf("bundle: figure %s: %w", f.ID, err)
		}
		svg, err := writePlots(dir, f)
		if err != nil {
			return fmt.Errorf("bundle: figure %s: %w", f.ID, err)
		}
		svgs[f.ID] = svg
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, BundleFile), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := writeReport(filepath.Join(dir, ReportFile), b, svgs); err != nil {
		return fmt.Errorf("bundle: report: %w", err)
	}
	return nil
}

// Read reads the bundle.json of a bundle directory (or the file itself).
func Read(path string) (*Bundle, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, BundleFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	if b.Schema != Schema {
		return nil, fmt.Errorf("bundle %s: schema %q, this specbed reads %q", path, b.Schema, Schema)
	}
	return &b, nil
}
