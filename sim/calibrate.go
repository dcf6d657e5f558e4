package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"specbed/qemu"
	"specbed/results"
	"specbed/vnet"
)

// Figures of a bundle that calibration reads.
const (
	pathsFigure = "udp-send-paths"
	// nicFigure is the sender's throughput through the data NIC in
	// network mode (Mbit/s of the guest clock).
	nicFigure = "fig5-udp-nic"
)

// nicPrefix marks a path's cost through the data NIC (network mode) rather
// than onto dummy0: "nic-sendto", "nic-special".
const nicPrefix = "nic-"

// DefaultFitSizes are the payload sizes (bytes) calibrate fits on by
// default; the bundle's other sizes stay held out.
func DefaultFitSizes() []int { return []int{64, 1024} }

// Calibrate fits a model to the bundle at path (a bundle directory or its
// bundle.json), using only the rows of the given payload sizes (bytes).
func Calibrate(path string, fitSizes []int) (*Model, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, results.BundleFile)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sim: calibrate: %w", err)
	}
	b, err := results.Read(path)
	if err != nil {
		return nil, fmt.Errorf("sim: calibrate: %w", err)
	}
	sum := sha256.Sum256(raw)
	m := &Model{
		Schema:   Schema,
		Source:   Source{Path: path, Commit: b.Run.Commit, Dirty: b.Run.Dirty, SHA256: hex.EncodeToString(sum[:])},
		FitSizes: append([]int(nil), fitSizes...),
	}
	if len(fitSizes) < 2 {
		return nil, fmt.Errorf("sim: calibrate: need two fit sizes for a line, have %v", fitSizes)
	}
	paths := b.Figure(pathsFigure)
	if paths == nil {
		return nil, fmt.Errorf("sim: calibrate %s: no figure %s", path, pathsFigure)
	}
	costs, err := fitPaths(paths, fitSizes)
	if err != nil {
		return nil, fmt.Errorf("sim: calibrate %s: %w", path, err)
	}
	if nic := b.Figure(nicFigure); nic != nil {
		perSend, err := nicInstructions(nic, b.Platforms)
		if err != nil {
			return nil, fmt.Errorf("sim: calibrate %s: %w", path, err)
		}
		nicCosts, err := fitPaths(perSend, fitSizes)
		if err != nil {
			return nil, fmt.Errorf("sim: calibrate %s: %w", path, err)
		}
		for platform, lines := range nicCosts {
			for name, l := range lines {
				costs[platform][nicPrefix+name] = l
			}
		}
	}
	overhead := b.Figure(results.FigOverhead)
	for _, bp := range b.Platforms {
		p := Platform{Name: bp.Name, InstructionsPerSecond: 1e9 / float64(int64(1)<<bp.IcountShift), Paths: costs[bp.Name], Measured: bp}
		if len(p.Paths) == 0 {
			return nil, fmt.Errorf("sim: calibrate %s: figure %s has no row of platform %s", path, pathsFigure, bp.Name)
		}
		m.Platforms = append(m.Platforms, p)
	}
	if overhead != nil {
		if err := fitSpec(m, overhead, b.Figure(results.FigOverheadBytes)); err != nil {
			return nil, fmt.Errorf("sim: calibrate %s: %w", path, err)
		}
	}
	return m, nil
}

// fitPaths fits a least-squares line per platform and path of the UDP rows
// at the fit sizes.
func fitPaths(f *results.Figure, fitSizes []int) (map[string]map[string]Linear, error) {
	col := columns(f)
	fit := map[int]bool{}
	for _, s := range fitSizes {
		fit[s] = true
	}
	type series struct{ xs, ys []float64 }
	points := map[[2]string]*series{}
	for _, r := range f.Ours() {
		if r.Key[col["protocol"]] != "udp" {
			continue
		}
		size, err := strconv.Atoi(r.Key[col["size_bytes"]])
		if err != nil {
			return nil, fmt.Errorf("figure %s row %s: %w", f.ID, r.KeyString(), err)
		}
		if !fit[size] {
			continue
		}
		k := [2]string{r.Key[col["platform"]], r.Key[col["path"]]}
		if points[k] == nil {
			points[k] = &series{}
		}
		points[k].xs = append(points[k].xs, float64(size))
		points[k].ys = append(points[k].ys, r.Value)
	}
	out := map[string]map[string]Linear{}
	for k, s := range points {
		l, err := leastSquares(s.xs, s.ys)
		if err != nil {
			return nil, fmt.Errorf("platform %s path %s: %w", k[0], k[1], err)
		}
		if out[k[0]] == nil {
			out[k[0]] = map[string]Linear{}
		}
		out[k[0]][k[1]] = l
	}
	return out, nil
}

// nicInstructions turns the NIC throughput figure (payload Mbit/s of the
// guest clock) into guest instructions per send: size x 8 / rate is a
// send's guest ns, 2^shift ns each instruction.
func nicInstructions(f *results.Figure, platforms []results.Platform) (*results.Figure, error) {
	shift := map[string]int{}
	for _, p := range platforms {
		shift[p.Name] = p.IcountShift
	}
	col := columns(f)
	out := &results.Figure{ID: f.ID, Columns: f.Columns}
	for _, r := range f.Ours() {
		size, err := strconv.Atoi(r.Key[col["size_bytes"]])
		if err != nil || r.Value <= 0 {
			return nil, fmt.Errorf("figure %s row %s: want a size and a positive rate", f.ID, r.KeyString())
		}
		ns := float64(size) * 8 / (r.Value * 1e6) * 1e9
		out.Rows = append(out.Rows, results.Row{Key: r.Key, Value: ns / float64(int64(1)<<shift[r.Key[col["platform"]]])})
	}
	return out, nil
}

func columns(f *results.Figure) map[string]int {
	col := map[string]int{}
	for i, c := range f.Columns {
		col[c] = i
	}
	return col
}

// leastSquares fits y = a + b*x.
func leastSquares(xs, ys []float64) (Linear, error) {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	d := n*sxx - sx*sx
	if len(xs) < 2 || d == 0 {
		return Linear{}, fmt.Errorf("%d points at %v: need two distinct sizes", len(xs), xs)
	}
	b := (n*sxy - sx*sy) / d
	return Linear{A: (sy - b*sx) / n, B: b}, nil
}

// byPhase reads a figure keyed by platform, fetch and phase: platform ->
// "fetch/phase" -> value.
func byPhase(f *results.Figure) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	if f == nil {
		return out
	}
	col := columns(f)
	for _, r := range f.Ours() {
		p := r.Key[col["platform"]]
		if out[p] == nil {
			out[p] = map[string]float64{}
		}
		out[p][r.Key[col["fetch"]]+"/"+r.Key[col["phase"]]] = r.Value
	}
	return out
}

// fitSpec reads figure 4(c)'s phases (ms) and, where the bundle has them,
// their sizes (fig4c-bytes) into each platform's SpecCost. A platform the
// figure lacks borrows the first platform's that has one.
func fitSpec(m *Model, f, sizes *results.Figure) error {
	phases, bytes := byPhase(f), byPhase(sizes)
	var measured []string
	for p := range phases {
		measured = append(measured, p)
	}
	sort.Strings(measured)
	for i := range m.Platforms {
		p := &m.Platforms[i]
		from, note := p.Name, ""
		if phases[from] == nil {
			if len(measured) == 0 {
				return nil
			}
			from = measured[0]
			note = fmt.Sprintf("the bundle has no figure 4(c) for %s: device phases are %s's instruction counts, transfers and server times %s's", p.Name, from, from)
		}
		link, err := calibrationLink(from)
		if err != nil {
			return err
		}
		from4c := phases[from]
		source, err := m.Platform(from)
		if err != nil {
			return fmt.Errorf("figure %s: %w", f.ID, err)
		}
		fromIPS := source.InstructionsPerSecond
		ms := func(k string) float64 { return from4c[k] / 1e3 }
		c := &SpecCost{
			From: from, Note: note, CalibrationLink: link,
			CollectInstructions: ms("cold/collect context") * fromIPS,
			LoadInstructions:    ms("cold/load") * fromIPS,
			ColdSeconds:         ms("cold/analysis") + ms("cold/specialization") + ms("cold/compile") + ms("cold/sign"),
			CachedSeconds:       ms("cached/analysis") + ms("cached/specialization") + ms("cached/compile") + ms("cached/sign"),
		}
		if b := bytes[from]; b["cold/upload"] > 0 && b["cold/download"] > 0 {
			c.RequestBytes, c.ModuleBytes = b["cold/upload"], b["cold/download"]
		} else {
			// Older bundles: the shorter of the cold and cached transfer
			// (host time: the longer holds more of the host's load) x
			// rate / 8. On x86 the phases are not byte-bound, so these
			// are lower bounds.
			c.RequestBytes = transferBytes(math.Min(ms("cold/upload"), ms("cached/upload"))-link.DelaySeconds, link)
			c.ModuleBytes = transferBytes(math.Min(ms("cold/download"), ms("cached/download")), link)
			c.Note = strings.TrimPrefix(c.Note+"; request and module bytes fitted from transfer times (no figure "+results.FigOverheadBytes+"): lower bounds", "; ")
		}
		p.Spec = c
	}
	return nil
}

// transferBytes is how many bytes the link carries in seconds.
func transferBytes(seconds float64, l Link) float64 {
	if seconds < 0 {
		seconds = 0
	}
	return seconds * l.RateBps / 8
}

// calibrationLink is the path from a platform's guest to the server in
// vnet's default topology.
func calibrationLink(platform string) (Link, error) {
	t, err := defaultTopology(platform)
	if err != nil {
		return Link{}, fmt.Errorf("calibration link: %w", err)
	}
	return serverPath(t), nil
}

func defaultTopology(platform string) (vnet.Topology, error) {
	p, err := qemu.Lookup(platform)
	if err != nil {
		return vnet.Topology{}, err
	}
	return vnet.DefaultTopology(platform, p.Link)
}

// serverPath is the guest's path to the server in a topology (every link
// but the data link): its slowest link's rate and framing, the smallest
// MTU, the delays' sum and the share of frames lost on any of them.
func serverPath(t vnet.Topology) Link {
	var l Link
	pass := 1.0
	for _, ls := range t.Links {
		if ls.Name == vnet.DataLink {
			continue
		}
		if r := float64(ls.Rate); ls.Rate > 0 && (l.RateBps == 0 || r < l.RateBps) {
			l.RateBps, l.SLIP = r, ls.Framing == vnet.FramingSLIP
		}
		mtu := ls.MTU
		if mtu == 0 {
			mtu = Link{SLIP: ls.Framing == vnet.FramingSLIP}.defaultMTU()
		}
		if l.MTU == 0 || mtu < l.MTU {
			l.MTU = mtu
		}
		l.DelaySeconds += ls.Delay.Seconds()
		pass *= 1 - ls.Loss
	}
	l.Loss = 1 - pass
	return l
}
