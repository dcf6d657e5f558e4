package results

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"strconv"
)

// ReportFile is the bundle's self-contained HTML report.
const ReportFile = "report.html"

// Deviation is one way our setup differs from the paper's.
type Deviation struct {
	Topic, Paper, Ours, Effect string
}

// Deviations are the differences every figure of a bundle inherits.
var Deviations = []Deviation{
	{"Kernel", "Linux 2.4.20, non-preemptible", "Linux 6.1 built for each platform (tinyconfig plus a fragment, -O2, SLUB)",
		"6.1's UDP send does more work (hashed IP ID, cgroup and BPF hooks, more layers), so absolute counts are not comparable; ratios are."},
	{"What is counted", "CPU cycles (hardware)", "Guest instructions under QEMU TCG with -icount (count mode)",
		"QEMU models no pipeline, cache or memory timing: an instruction is one unit whatever it does (a rep movs iteration is one). Virtual time = instructions x 2^shift ns."},
	{"Machines", "Pentium III 600/700 MHz, i486 40 MHz, iPAQ SA1100 200 MHz", "QEMU pc with -cpu pentium3 and -cpu 486, QEMU collie (SA-1110)",
		"Emulated CPUs run the same instruction set; their speed is set by the icount shift, not by the paper's clock."},
	{"Links and NICs", "Real Ethernet NICs and a 10 Mbit/s wireless LAN for specialization", "Emulated e1000/NE2000 NICs and a SLIP UART, joined to gVisor netstacks over links shaped in host time (vnet)",
		"Instruction counts are measured on dummy0 (no NIC work); anything timed over a link runs in network mode and follows the host's load."},
	{"Local specialization", "Tempo and gcc running on the device itself", "The same server reached over an unshaped link: the guests cannot run a compiler",
		"'Local' here only removes the link's rate and delay; the work is on the host."},
	{"Clock modes", "Wall-clock time of netperf runs", "count mode (deterministic, bit-identical reruns) for instructions and sizes; network mode for fetches over links",
		"Count-mode figures have no variance, so netperf's confidence interval is zero there: it is not statistical confidence. Network-mode figures are host wall time."},
	{"Throughput", "netperf UDP_STREAM / TCP_STREAM on real links", "Sender-side UDP onto dummy0 in virtual time (figures " + FigUDPRate + ", " + FigUDPGain + ")",
		"A CPU-bound sender; no NIC, no receiver, no link, no interrupts from traffic. TCP_STREAM is not measured yet."},
	{"Specializer", "Tempo (C), separate processes reloaded per request", "specbed's Go partial evaluator inside one resident server, modules cached by invariants",
		"Specialization overhead has a different shape: compile dominates a cold request, the link a cached one."},
}

type reportFigure struct {
	*Figure
	SVG template.HTML
}

type reportData struct {
	B         *Bundle
	Figures   []reportFigure
	Claims    []ClaimRow
	Deviation []Deviation
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"value": formatValue}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>specbed results {{.B.Run.Start.Format "2006-01-02 15:04:05"}}</title>
<style>
body{font-family:sans-serif;max-width:70em;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #bbb;padding:0.2em 0.5em;vertical-align:top;text-align:left}
th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}.paper{color:#555;font-style:italic}
svg{max-width:100%;height:auto}
</style></head><body>
<h1>specbed: reproduction of Bhatia, Consel, Le Meur, Pu (LCN 2004)</h1>
<p>Bundle schema {{.B.Schema}}. Commit {{.B.Run.Commit}}{{if .B.Run.Dirty}} (with uncommitted changes){{end}}.
Host {{.B.Run.Host}}, {{.B.Run.HostCPUs}} CPUs, {{.B.Run.GoVersion}}. Run from {{.B.Run.Start.Format "2006-01-02 15:04:05 MST"}} to {{.B.Run.End.Format "15:04:05 MST"}}{{if .B.Run.Quick}}, quick (one size per figure){{end}}.</p>
<h2>Platforms</h2>
<table><tr><th>platform</th><th>stands in for</th><th>QEMU machine / CPU</th><th>link</th><th>RAM (MiB)</th><th>clock mode</th><th>icount shift</th><th>QEMU</th><th>kernel</th><th>kernel key</th><th>.config SHA-256</th></tr>
{{range .B.Platforms}}<tr><td>{{.Name}}</td><td>{{.PaperCPU}}, {{.PaperMHz}} MHz</td><td>{{.Machine}} / {{.CPU}}</td><td>{{.Link}}</td><td class="n">{{.MemoryMiB}}</td><td>{{.ClockMode}}</td><td class="n">{{.IcountShift}}</td><td>{{.QEMUVersion}}</td><td>{{.KernelRelease}}</td><td><code>{{printf "%.16s" .KernelKey}}</code></td><td><code>{{printf "%.16s" .KernelConfigSHA256}}</code></td></tr>
{{end}}</table>
<h2>Paper claims</h2>
<table><tr><th>claim</th><th>figure</th><th>what</th><th>paper</th><th>ours</th><th>ratio</th><th>why they differ</th></tr>
{{range .Claims}}<tr><td>{{.ID}}</td><td>{{.Figure}}</td><td>{{.What}}</td><td>{{.Paper}}</td><td>{{.Ours}}</td><td class="n">{{.RatioText}}</td><td>{{.Why}}</td></tr>
{{end}}</table>
<h2>Figures</h2>
{{range .Figures}}<h3 id="{{.ID}}">{{if .PaperFigure}}Figure {{.PaperFigure}}: {{end}}{{.Title}}</h3>
<p>{{.Caption}} Files: {{.ID}}.csv, {{.ID}}.png, {{.ID}}.svg.</p>
{{.SVG}}
<table><tr>{{range .Columns}}<th>{{.}}</th>{{end}}<th>{{.Unit}}</th><th>source</th></tr>
{{range .Rows}}<tr{{if .Paper}} class="paper"{{end}}>{{range .Key}}<td>{{.}}</td>{{end}}<td class="n">{{value .Value}}</td><td>{{if .Paper}}paper: {{.Source}}{{else}}this run{{end}}</td></tr>
{{end}}</table>
{{end}}
{{if .B.Missing}}<h2>Figures not made in this run</h2><ul>
{{range .B.Missing}}<li>Figure {{.PaperFigure}}: {{.Why}}</li>
{{end}}</ul>{{end}}
{{if .B.ScenarioLibrary}}<h2>Scenario library</h2>
<p><a href="{{.B.ScenarioLibrary}}">The scenario library's runs</a> (written after the figures: every scenario on every platform it lists, or why the pass did not run).</p>{{end}}
<h2>Deviations</h2>
<table><tr><th>topic</th><th>paper</th><th>here</th><th>what it changes</th></tr>
{{range .Deviation}}<tr><td>{{.Topic}}</td><td>{{.Paper}}</td><td>{{.Ours}}</td><td>{{.Effect}}</td></tr>
{{end}}</table>
</body></html>
`))

// inlineSVG strips what precedes the <svg> element (XML declaration,
// doctype), so the plot can sit inside the HTML.
func inlineSVG(svg []byte) template.HTML {
	if i := bytes.Index(svg, []byte("<svg")); i >= 0 {
		svg = svg[i:]
	}
	return template.HTML(svg) // our own plot, made by gonum/plot from numbers
}

// writeReport writes the HTML report of b; svgs holds each figure's plot
// by ID.
func writeReport(path string, b *Bundle, svgs map[string][]byte) error {
	claims, err := Claims(b)
	if err != nil {
		return err
	}
	d := reportData{B: b, Claims: claims, Deviation: Deviations}
	for i := range b.Figures {
		f := &b.Figures[i]
		svg, ok := svgs[f.ID]
		if !ok {
			return fmt.Errorf("figure %s has no plot", f.ID)
		}
		d.Figures = append(d.Figures, reportFigure{Figure: f, SVG: inlineSVG(svg)})
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, d); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
