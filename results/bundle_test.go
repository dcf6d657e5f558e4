package results

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"specbed/results/paper"
)

// sampleBundle is a bundle with every kind of figure, from numbers of the
// shape the reproduction measures (not measurements: these tests check the
// writing, drawing and reporting).
func sampleBundle(t *testing.T) *Bundle {
	t.Helper()
	var costs []PathCost
	for i, p := range []string{"i486", "p3", "sa1100"} {
		for _, size := range []int{64, 1024} {
			base := float64(4000 + 300*i + size/4)
			for j, path := range []string{PathSendto, "send", "generic", PathSpecial} {
				costs = append(costs, PathCost{Platform: p, Protocol: "udp", SizeBytes: size, Path: path,
					InstructionsPerSend: base * []float64{1, 0.7, 1.2, 0.69}[j]})
			}
		}
	}
	speed, err := SpeedFigure(costs)
	if err != nil {
		t.Fatal(err)
	}
	gain, err := UDPGainFigure(costs)
	if err != nil {
		t.Fatal(err)
	}
	sizes, err := SizeFigures([]CodeSize{
		{Platform: "i486", Protocol: "udp", Code: CodeKernel, Bytes: 22794},
		{Platform: "i486", Protocol: "udp", Code: CodeGeneric, Bytes: 9000},
		{Platform: "i486", Protocol: "udp", Code: CodeSpecialized, Bytes: 993},
		{Platform: "p3", Protocol: "udp", Code: CodeKernel, Bytes: 23000},
		{Platform: "p3", Protocol: "udp", Code: CodeSpecialized, Bytes: 1100},
	})
	if err != nil {
		t.Fatal(err)
	}
	overhead := OverheadFigure([]PhaseTime{
		{Platform: "i486", Fetch: "cold", Phase: "compile", Ms: 410},
		{Platform: "i486", Fetch: "cold", Phase: "sign", Ms: 12},
		{Platform: "i486", Fetch: "cached", Phase: "compile", Ms: 0},
	}, "sample")
	start := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	b := &Bundle{
		Run:       Run{Commit: "0123456789abcdef", Host: "test", Start: start, End: start.Add(time.Minute), Seeds: map[string]int64{}},
		Platforms: []Platform{{Name: "i486", ClockMode: "count", IcountShift: 5}},
		Figures:   append([]Figure{SendPathsFigure(costs, "i486 5"), speed, gain, overhead}, sizes...),
		Missing:   []Missing{{PaperFigure: "5(d,e)", Why: "no TCP"}},
	}
	return b
}

// TestWriteBundle writes a bundle and reads every file back: the JSON
// round-trips, each figure has a CSV with a line per row, a PNG that
// decodes and an SVG, and the report is one self-contained file.
func TestWriteBundle(t *testing.T) {
	dir := t.TempDir()
	b := sampleBundle(t)
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schema != Schema || !reflect.DeepEqual(got.Figures, b.Figures) || got.Run.Commit != b.Run.Commit {
		t.Errorf("bundle.json does not round-trip: %+v", got)
	}
	for _, f := range b.Figures {
		csv, err := os.ReadFile(filepath.Join(dir, f.ID+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(csv), "\n"); n != len(f.Rows)+1 {
			t.Errorf("%s.csv: %d lines, want %d rows and a header", f.ID, n, len(f.Rows))
		}
		pngData, err := os.ReadFile(filepath.Join(dir, f.ID+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if img, err := png.Decode(bytes.NewReader(pngData)); err != nil || img.Bounds().Dx() < 500 {
			t.Errorf("%s.png: %v", f.ID, err)
		}
		svg, err := os.ReadFile(filepath.Join(dir, f.ID+".svg"))
		if err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("%s.svg: %v", f.ID, err)
		}
	}
	report, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(report, []byte("<svg")); n != len(b.Figures) {
		t.Errorf("report has %d inline SVGs, want %d", n, len(b.Figures))
	}
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:|//|[a-z0-9_-]+\.(png|svg|css|js))`)
	if m := external.Find(report); m != nil {
		t.Errorf("report refers to an external asset: %s", m)
	}
	for _, want := range []string{"Deviations", "Linux 2.4.20", "no TCP"} {
		if !bytes.Contains(report, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestReportHasEveryClaim: the claims table of the report has a row for
// every claim of claims.json, each with a reason, and the claims the
// sample measures get a ratio.
func TestReportHasEveryClaim(t *testing.T) {
	claims, err := paper.Claims()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b := sampleBundle(t)
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Claims(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(claims) {
		t.Fatalf("%d claim rows for %d claims", len(rows), len(claims))
	}
	for i, c := range claims {
		if !bytes.Contains(report, []byte("<tr><td>"+c.ID+"</td>")) {
			t.Errorf("report has no row for claim %s", c.ID)
		}
		if rows[i].Why == "" || rows[i].Ours == "" {
			t.Errorf("claim %s: row %+v lacks ours or why", c.ID, rows[i])
		}
	}
	byID := map[string]ClaimRow{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	for id, want := range map[string]float64{
		"fig4a-speed":     31.0 / 25,           // 100 x (1 - 0.69) over "about 25%"
		"fig5-udp-486-1k": (1/0.69 - 1) / 0.27, // gain of a CPU-bound sender
		"fig4b-size-udp":  100 * 1100.0 / 23000 / 5,
	} {
		if got := byID[id].Ratio; math.Abs(got-want) > 1e-9 {
			t.Errorf("claim %s: ratio %v, want %v", id, got, want)
		}
	}
	if r := byID["fig5-tcp-p3"]; !math.IsNaN(r.Ratio) || r.RatioText() != "n/a" {
		t.Errorf("unmeasured TCP claim has ratio %v", r.Ratio)
	}
}

// TestLayout: groups and series follow the rows, the paper's series comes
// last, and a cell's first number is the one drawn.
func TestLayout(t *testing.T) {
	f := &Figure{Columns: []string{"platform", "size_bytes"}, Rows: []Row{
		{Key: []string{"p3", "64"}, Value: 1, Source: "paper"},
		{Key: []string{"p3", "64"}, Value: 2, Source: "paper, other reading"},
		{Key: []string{"p3", "64"}, Value: 3},
		{Key: []string{"i486", "1024"}, Value: 4},
	}}
	g := layout(f)
	if !reflect.DeepEqual(g.groups, []string{"p3 64 B", "i486 1024 B"}) || !reflect.DeepEqual(g.series, []string{"ours", paperSeries}) {
		t.Fatalf("groups %q series %q", g.groups, g.series)
	}
	if g.values[1][0] != 1 || g.values[0][0] != 3 || g.values[0][1] != 4 || g.set[1][1] {
		t.Errorf("values %v set %v", g.values, g.set)
	}
}

// TestLayoutPaperBeside: a paper row that leaves a column empty is drawn
// in every group of ours it matches, and gets a group of its own only
// where none does; *_bytes columns carry their unit.
func TestLayoutPaperBeside(t *testing.T) {
	f := &Figure{Columns: []string{"platform", "protocol", "mss_bytes"}, Rows: []Row{
		{Key: []string{"i486", "udp", "1448"}, Value: 1},
		{Key: []string{"p3", "udp", "1448"}, Value: 2},
		{Key: []string{"", "udp", ""}, Value: 5, Source: "paper"},
		{Key: []string{"", "tcp", ""}, Value: 3, Source: "paper"},
	}}
	g := layout(f)
	if !reflect.DeepEqual(g.groups, []string{"i486 udp MSS 1448 B", "p3 udp MSS 1448 B", "tcp"}) {
		t.Fatalf("groups %q", g.groups)
	}
	want := [][]bool{{true, true, false}, {true, true, true}}
	if !reflect.DeepEqual(g.set, want) || g.values[1][0] != 5 || g.values[1][1] != 5 || g.values[1][2] != 3 {
		t.Errorf("values %v set %v, want set %v", g.values, g.set, want)
	}
}

// TestSpeedClaimFromLayers: with the per-layer figure, figure 4(a)'s claim
// compares the socket, transport and IP layers (and the residual that
// fuses them), not the whole send; the sum figure says how far the layers
// are from the guest's count.
func TestSpeedClaimFromLayers(t *testing.T) {
	layers := []string{"socket", "udp", "ip", "device", "memory", "residual", "other"}
	figs := LayersFigures([]LayerCost{
		{Platform: "p3", Protocol: "udp", SizeBytes: 1024, Path: PathSendto, Total: 4000, GuestPerSend: 4020,
			ByLayer: map[string]float64{"socket": 1000, "udp": 1000, "ip": 1000, "memory": 600, "other": 400}},
		{Platform: "p3", Protocol: "udp", SizeBytes: 1024, Path: PathSpecial, Total: 2800, GuestPerSend: 2800,
			ByLayer: map[string]float64{"socket": 300, "residual": 1200, "memory": 600, "other": 700}},
	}, layers)
	b := &Bundle{Figures: figs}
	rows, err := Claims(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ID != "fig4a-speed" {
			continue
		}
		// (300 + 1200) against 3000: 50% fewer, over the paper's 25.
		if math.Abs(r.Ratio-2) > 1e-9 || !strings.Contains(r.Ours, "50.0% fewer in the socket, udp and IP layers") {
			t.Errorf("claim row %+v", r)
		}
	}
	sum := figs[1]
	if v := sum.Value("p3", "udp", "1024", PathSendto); v == nil || math.Abs(*v-100*20.0/4020) > 1e-9 {
		t.Errorf("sum figure %+v", sum.Rows)
	}
	if n := len(figs[0].Rows); n != 9 {
		t.Errorf("%d layer rows, want the 9 layers present", n)
	}
	if err := b.Write(t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

// TestSpecializedPreference: the figures compare sendto() with the
// residual through customized_send when a run measured it, whatever the
// order of the rows, and through the SEND ioctl otherwise.
func TestSpecializedPreference(t *testing.T) {
	costs := []PathCost{
		{Platform: "i486", Protocol: "udp", SizeBytes: 64, Path: PathSendto, InstructionsPerSend: 4000},
		{Platform: "i486", Protocol: "udp", SizeBytes: 64, Path: PathCustomized, InstructionsPerSend: 2000},
		{Platform: "i486", Protocol: "udp", SizeBytes: 64, Path: PathSpecial, InstructionsPerSend: 2500},
		{Platform: "p3", Protocol: "udp", SizeBytes: 64, Path: PathSpecial, InstructionsPerSend: 3000},
		{Platform: "p3", Protocol: "udp", SizeBytes: 64, Path: PathSendto, InstructionsPerSend: 4000},
	}
	f, err := SpeedFigure(costs)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]float64{"i486": 50, "p3": 25} {
		if v := f.Value(key, "udp", "64"); v == nil || math.Abs(*v-want) > 1e-9 {
			t.Errorf("%s: %v, want %g", key, v, want)
		}
	}
	nic, err := UDPNICFigures([]StreamRate{
		{Platform: "i486", Protocol: "udp", SizeBytes: 1024, Path: PathSendto, MbitPerS: 30},
		{Platform: "i486", Protocol: "udp", SizeBytes: 1024, Path: PathCustomized, MbitPerS: 39},
	}, 0.1, "test")
	if err != nil {
		t.Fatal(err)
	}
	if v := nic[1].Value("i486", "udp", "1024"); v == nil || math.Abs(*v-30) > 1e-9 {
		t.Errorf("NIC gain %v, want 30%%", v)
	}
}

// TestTCPCountFigures: the count-mode TCP figures key the paths by the
// MSS, the gain is send()'s instructions over customized_send's less one
// (negative where the residual costs more), the paper's numbers sit
// beside ours, and the claims take the SA-1110's TCP row from it and say
// it is count mode over loopback.
func TestTCPCountFigures(t *testing.T) {
	flow := TCPLoopFlow{ADU: 2896, MSS: 1448, Sends: 400, Warmup: 40}
	var costs []PathCost
	for _, p := range []string{"i486", "sa1100"} {
		for path, n := range map[string]float64{PathSend: 21000, "generic": 23000, PathSpecial: 22500, PathCustomized: 22000} {
			costs = append(costs, PathCost{Platform: p, Protocol: "tcp", SizeBytes: flow.ADU, Path: path, InstructionsPerSend: n})
		}
	}
	// A row of another size or protocol stays out.
	costs = append(costs, PathCost{Platform: "p3", Protocol: "udp", SizeBytes: flow.ADU, Path: PathSend, InstructionsPerSend: 1})
	figs, err := TCPCountFigures(costs, flow)
	if err != nil {
		t.Fatal(err)
	}
	count, gain := figs[0], figs[1]
	if len(count.Rows) != 8 {
		t.Errorf("%d count rows, want 4 paths on 2 platforms", len(count.Rows))
	}
	if v := count.Value("sa1100", "tcp", "1448", "generic"); v == nil || *v != 23000 {
		t.Errorf("sa1100 generic: %v", v)
	}
	want := 100 * (21000.0/22000 - 1)
	if v := gain.Value("sa1100", "tcp", "1448"); v == nil || math.Abs(*v-want) > 1e-9 {
		t.Errorf("sa1100 gain %v, want %g", v, want)
	}
	if n := len(gain.Rows) - len(gain.Ours()); n != 3 {
		t.Errorf("%d paper rows in the gain figure, want the paper's three TCP platforms", n)
	}
	for _, f := range figs {
		if !strings.Contains(f.Caption, "loopback") || !strings.Contains(f.Caption, "receiver") {
			t.Errorf("%s: the caption does not say it is loopback with the receiver inside: %s", f.ID, f.Caption)
		}
	}
	b := &Bundle{Figures: figs}
	rows, err := Claims(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		switch r.ID {
		case "fig5-tcp-ipaq", "fig5-tcp-486":
			paperPct := map[string]float64{"fig5-tcp-ipaq": 13, "fig5-tcp-486": 23}[r.ID]
			if math.Abs(r.Ratio-want/paperPct) > 1e-9 || !strings.Contains(r.Ours, "count mode over loopback") {
				t.Errorf("claim row %+v", r)
			}
		case "fig5-tcp-p3":
			if !math.IsNaN(r.Ratio) {
				t.Errorf("claim %s: ratio %v without a p3 figure", r.ID, r.Ratio)
			}
		}
	}
	if err := b.Write(t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

// TestSplitPanels: a figure with Panels splits into one figure per value
// of that column, in order, without the column in its group names; a row
// that leaves it empty goes to every panel; the plot is drawn.
func TestSplitPanels(t *testing.T) {
	f := &Figure{ID: "panels", Title: "rate", Unit: "Mbit/s", Columns: []string{"platform", "size_bytes", "path"},
		Series: "path", Panels: "platform", Rows: []Row{
			{Key: []string{"i486", "64", "sendto"}, Value: 1},
			{Key: []string{"p3", "64", "sendto"}, Value: 20},
			{Key: []string{"i486", "64", "special"}, Value: 2},
			{Key: []string{"", "64", ""}, Value: 5, Source: "paper"},
		}}
	panels := splitPanels(f)
	var titles []string
	for _, p := range panels {
		titles = append(titles, p.Title)
	}
	if !reflect.DeepEqual(titles, []string{"i486", "p3"}) {
		t.Fatalf("panels %q, want i486 and p3", titles)
	}
	if g := layout(panels[0]); !reflect.DeepEqual(g.groups, []string{"64 B"}) ||
		!reflect.DeepEqual(g.series, []string{"sendto", "special", paperSeries}) {
		t.Errorf("i486 panel: groups %q series %q", g.groups, g.series)
	}
	if n := len(panels[1].Rows); n != 2 {
		t.Errorf("p3 panel has %d rows, want its own and the paper's", n)
	}
	if got := splitPanels(&Figure{Columns: f.Columns, Rows: f.Rows}); len(got) != 1 {
		t.Errorf("a figure without Panels split into %d", len(got))
	}
	dir := t.TempDir()
	if _, err := writePlots(dir, f); err != nil {
		t.Fatal(err)
	}
	img := readPNG(t, filepath.Join(dir, "panels.png"))
	if w := img.Bounds().Dx(); w < 2*int(panelWidth.Dots(96)) {
		t.Errorf("two panels drawn %d pixels wide, want at least two panels' width", w)
	}
}

// TestPanelWidthUprightLabels: a panel whose many long labels stand
// upright is as wide as its upright labels need, not as wide as they would
// be side by side (figure 1's 20 function names made a 9524-pixel PNG).
func TestPanelWidthUprightLabels(t *testing.T) {
	f := &Figure{ID: "names", Title: "calls", Unit: "entries", Columns: []string{"platform", "function"},
		Panels: "platform"}
	for _, platform := range []string{"i486", "p3"} {
		for i := 0; i < 20; i++ {
			f.Rows = append(f.Rows, Row{Key: []string{platform, fmt.Sprintf("a_long_kernel_function_name_%02d", i)}, Value: float64(i)})
		}
	}
	dir := t.TempDir()
	if _, err := writePlots(dir, f); err != nil {
		t.Fatal(err)
	}
	img := readPNG(t, filepath.Join(dir, "names.png"))
	g := layout(splitPanels(f)[0])
	if !upright(g) {
		t.Fatal("20 long names side by side; the test needs upright labels")
	}
	if w, most := img.Bounds().Dx(), 2*int(max(panelWidth, labelsWidth(g)).Dots(96)); w > most {
		t.Errorf("two panels drawn %d pixels wide, want at most %d", w, most)
	}
}

// readPNG decodes the PNG at path, failing the test when it cannot.
func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}
