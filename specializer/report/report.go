// Package report describes a specialization for people: the generic source with its static and
// dynamic parts coloured (from the binding-time analysis), the lines residual code came from,
// the conditionals decided, and the counts (branches removed, loops unrolled, calls inlined,
// lines kept), as an HTML page, a text summary or JSON.
package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"

	"specbed/specializer/bta"
	"specbed/specializer/ir"
	"specbed/specializer/spec"
)

// Summary is what a report shows. Line counts are source lines.
type Summary struct {
	Entry       string     `json:"entry"`
	ContextHash string     `json:"context_sha256"`
	Stats       spec.Stats `json:"stats"`
	// ResidualLines are the residual entry's statement lines.
	ResidualLines int `json:"residual_lines"`
	// GenericLines are the generic source lines holding code the analysis reached; LinesKept those
	// that residual code came from.
	GenericLines int `json:"generic_lines"`
	LinesKept    int `json:"lines_kept"`
	// Binding times of analysed expressions and conditionals, joined over instances.
	StaticNodes  int `json:"static_nodes"`
	DynamicNodes int `json:"dynamic_nodes"`
	MixedNodes   int `json:"mixed_nodes"`
	StaticLoops  int `json:"static_loops"`
	DynamicLoops int `json:"dynamic_loops"`
	Instances    int `json:"function_instances"`

	Files []File `json:"-"`
}

// File is one generic source file, line by line.
type File struct {
	Name  string
	Lines []Line
}

// Line is one source line with what the passes found on it.
type Line struct {
	N       int
	Text    string
	BT      bta.BT // binding times of the nodes starting here (0: none)
	Kept    bool   // residual code came from this line
	Decided spec.Outcome
}

// Build gathers a report.
func Build(prog *ir.Program, b *bta.Result, r *spec.Residual, residualLines int) *Summary {
	s := &Summary{Entry: r.Func.Name, ContextHash: r.Ctx.Hash, Stats: r.Stats, ResidualLines: residualLines,
		Instances: b.Instances}
	type key struct {
		file string
		line int
	}
	bts := map[key]bta.BT{}
	for n, bt := range b.Nodes {
		p := n.At()
		bts[key{p.File, p.Line}] |= bt
		switch bt {
		case bta.S:
			s.StaticNodes++
		case bta.D:
			s.DynamicNodes++
		default:
			s.MixedNodes++
		}
	}
	for _, bt := range b.Loops {
		if bt == bta.S {
			s.StaticLoops++
		} else {
			s.DynamicLoops++
		}
	}
	decided := map[key]spec.Outcome{}
	for n, o := range r.Decided {
		p := n.At()
		decided[key{p.File, p.Line}] |= o
	}
	for _, f := range prog.Files {
		file := File{Name: f.Name}
		for i, text := range strings.Split(strings.TrimSuffix(f.Text, "\n"), "\n") {
			k := key{f.Name, i + 1}
			l := Line{N: i + 1, Text: text, BT: bts[k], Kept: r.Lines[ir.Pos{File: f.Name, Line: i + 1}], Decided: decided[k]}
			if l.BT != 0 {
				s.GenericLines++
			}
			if l.Kept {
				s.LinesKept++
			}
			file.Lines = append(file.Lines, l)
		}
		s.Files = append(s.Files, file)
	}
	return s
}

// Text writes the counts.
func (s *Summary) Text(w io.Writer) error {
	st := s.Stats
	_, err := fmt.Fprintf(w, `residual %s (context sha256:%.16s)
  residual statement lines   %d
  generic lines analysed     %d, kept %d
  conditionals decided       %d (kept %d)
  loops unrolled             %d (%d iterations), kept %d
  calls inlined              %d
  lookups folded             %d
  shim calls in residual     %d
  binding times (nodes)      %d static, %d dynamic, %d both
  loops (analysis)           %d static, %d dynamic; %d function instances
`, s.Entry, s.ContextHash, s.ResidualLines, s.GenericLines, s.LinesKept, st.BranchesRemoved, st.BranchesKept,
		st.LoopsUnrolled, st.Iterations, st.LoopsKept, st.CallsInlined, st.LookupsFolded, st.ShimCalls,
		s.StaticNodes, s.DynamicNodes, s.MixedNodes, s.StaticLoops, s.DynamicLoops, s.Instances)
	return err
}

// JSON writes the counts as JSON.
func (s *Summary) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// HTML writes the page.
func (s *Summary) HTML(w io.Writer) error {
	return page.Execute(w, s)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"class": func(l Line) string {
		switch l.BT {
		case bta.S:
			return "s"
		case bta.D:
			return "d"
		case bta.Both:
			return "m"
		}
		return "n"
	},
	"decided": func(o spec.Outcome) string {
		switch o {
		case spec.WentTrue:
			return "T"
		case spec.WentFalse:
			return "F"
		case spec.WentTrue | spec.WentFalse:
			return "TF"
		}
		return ""
	},
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>specialization of {{.Entry}}</title>
<style>
body { font-family: sans-serif; margin: 1em; }
table.src { border-collapse: collapse; font-family: monospace; font-size: 12px; }
table.src td { padding: 0 .5em; white-space: pre; vertical-align: top; }
td.n { color: #888; text-align: right; }
tr.s td.code { background: #d8f5d8; }
tr.d td.code { background: #f8d8d8; }
tr.m td.code { background: #f8ecc8; }
td.k { color: #06c; } td.dec { color: #a50; }
.legend span { padding: 0 .5em; font-family: monospace; }
</style></head><body>
<h1>Specialization of {{.Entry}}</h1>
<p>Context sha256:{{.ContextHash}}</p>
<table>
<tr><td>residual statement lines</td><td>{{.ResidualLines}}</td></tr>
<tr><td>generic lines analysed / kept</td><td>{{.GenericLines}} / {{.LinesKept}}</td></tr>
<tr><td>conditionals decided / kept</td><td>{{.Stats.BranchesRemoved}} / {{.Stats.BranchesKept}}</td></tr>
<tr><td>loops unrolled (iterations) / kept</td><td>{{.Stats.LoopsUnrolled}} ({{.Stats.Iterations}}) / {{.Stats.LoopsKept}}</td></tr>
<tr><td>calls inlined</td><td>{{.Stats.CallsInlined}}</td></tr>
<tr><td>lookups folded</td><td>{{.Stats.LookupsFolded}}</td></tr>
<tr><td>shim calls left</td><td>{{.Stats.ShimCalls}}</td></tr>
<tr><td>binding times (static / dynamic / both)</td><td>{{.StaticNodes}} / {{.DynamicNodes}} / {{.MixedNodes}}</td></tr>
</table>
<p class="legend"><span style="background:#d8f5d8">static</span><span style="background:#f8d8d8">dynamic</span><span style="background:#f8ecc8">static in some instances, dynamic in others</span>
<span class="k">&#9679;</span> residual code came from the line; <span class="dec">T/F</span> a conditional on the line was decided (true/false) at specialization time.</p>
{{range .Files}}<h2>{{.Name}}</h2>
<table class="src">
{{range .Lines}}<tr class="{{class .}}"><td class="n">{{.N}}</td><td class="k">{{if .Kept}}&#9679;{{end}}</td><td class="dec">{{decided .Decided}}</td><td class="code">{{.Text}}</td></tr>
{{end}}</table>
{{end}}</body></html>
`))
