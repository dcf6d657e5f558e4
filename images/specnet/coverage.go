package specnet

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"specbed/specializer"
	"specbed/specializer/bta"
	"specbed/specializer/ir"
)

// LineBranches are the branches of one source line.
type LineBranches struct {
	File     string
	Line     int
	Func     string
	Counts   []int64 // one per branch outcome, in gcov's order
	Executed bool
}

// BothWays says every outcome of the line's conditions was taken.
func (l LineBranches) BothWays() bool {
	for _, c := range l.Counts {
		if c == 0 {
			return false
		}
	}
	return true
}

func (l LineBranches) String() string {
	return fmt.Sprintf("%s:%d (%s) %v", l.File, l.Line, l.Func, l.Counts)
}

// BranchCoverage runs gcov over the coverage build's data and returns the branch
// counts of the generic sources (generic/*.c and generic.h), by file and
// line.
func (h *Harness) BranchCoverage(ctx context.Context) ([]LineBranches, error) {
	return h.branchCoverage(ctx, GenericSources)
}

// branchCoverage is BranchCoverage of the generic sources named (objects
// generic_<name>.o in h.Dir).
func (h *Harness) branchCoverage(ctx context.Context, sources []string) ([]LineBranches, error) {
	if !h.Coverage {
		return nil, fmt.Errorf("harness was not built with coverage")
	}
	var out []LineBranches
	for _, f := range sources {
		base := "generic_" + strings.TrimSuffix(f, ".c")
		cmd := exec.CommandContext(ctx, h.TC.Gcov, "--branch-probabilities", "--branch-counts", "--json-format", base+".gcda")
		cmd.Dir = h.Dir
		var msg bytes.Buffer
		cmd.Stdout, cmd.Stderr = &msg, &msg
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s %s: %w: %s", h.TC.Gcov, base, err, msg.String())
		}
		lines, err := readGcovJSON(filepath.Join(h.Dir, base+".gcda.gcov.json.gz"), filepath.Join(h.Dir, base+".gcov.json.gz"))
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	// generic.h is compiled into every layer: add up its counts.
	merged := map[string]*LineBranches{}
	var keys []string
	for _, l := range out {
		k := fmt.Sprintf("%s:%08d", l.File, l.Line)
		m, ok := merged[k]
		if !ok {
			c := l
			c.Counts = append([]int64(nil), l.Counts...)
			merged[k] = &c
			keys = append(keys, k)
			continue
		}
		if len(m.Counts) != len(l.Counts) {
			return nil, fmt.Errorf("%s:%d: %d branches in one unit, %d in another", l.File, l.Line, len(m.Counts), len(l.Counts))
		}
		for i := range l.Counts {
			m.Counts[i] += l.Counts[i]
		}
		m.Executed = m.Executed || l.Executed
	}
	sort.Strings(keys)
	res := make([]LineBranches, 0, len(keys))
	for _, k := range keys {
		res = append(res, *merged[k])
	}
	return res, nil
}

// readGcovJSON reads gcov's --json-format output (the first of paths that
// exists: the name depends on the gcov version).
func readGcovJSON(paths ...string) ([]LineBranches, error) {
	var f *os.File
	var err error
	for _, p := range paths {
		if f, err = os.Open(p); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("gcov output: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("gcov output %s: %w", f.Name(), err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gcov output %s: %w", f.Name(), err)
	}
	var doc struct {
		Files []struct {
			File  string `json:"file"`
			Lines []struct {
				Line     int    `json:"line_number"`
				Count    int64  `json:"count"`
				Function string `json:"function_name"`
				Branches []struct {
					Count int64 `json:"count"`
					Throw bool  `json:"throw"`
				} `json:"branches"`
			} `json:"lines"`
		} `json:"files"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("gcov output %s: %w", f.Name(), err)
	}
	var out []LineBranches
	for _, file := range doc.Files {
		for _, l := range file.Lines {
			if len(l.Branches) == 0 {
				continue
			}
			lb := LineBranches{File: filepath.Base(file.File), Line: l.Line, Func: l.Function, Executed: l.Count > 0}
			for _, b := range l.Branches {
				if !b.Throw {
					lb.Counts = append(lb.Counts, b.Count)
				}
			}
			out = append(out, lb)
		}
	}
	return out, nil
}

// StaticConditionLines returns the source lines (by file base name) that
// hold a condition on a static value: one the binding-time analysis found
// static in at least one instance, or one a specialization decided (for
// each of outs). A condition is an if, loop or switch condition, a ?:
// condition, or an operand of && and || in one of those.
func StaticConditionLines(u *specializer.Unit, outs []*specializer.Output) map[string]map[int]bool {
	lines := map[string]map[int]bool{}
	markLine := func(p ir.Pos) {
		f := filepath.Base(p.File)
		if lines[f] == nil {
			lines[f] = map[int]bool{}
		}
		lines[f][p.Line] = true
	}
	decided := map[ir.Node]bool{}
	for _, o := range outs {
		for n := range o.Residual.Decided {
			decided[n] = true
		}
	}
	mark := func(stmt ir.Node, e ir.Expr) {
		for _, leaf := range conditionLeaves(e) {
			if u.BTA.Nodes[leaf]&bta.S != 0 || decided[leaf] || decided[stmt] {
				markLine(leaf.At())
			}
		}
	}
	for _, fn := range u.Prog.Funcs {
		if fn.Body == nil {
			continue
		}
		ir.Inspect(fn.Body, func(n ir.Node) bool {
			switch n := n.(type) {
			case *ir.If:
				mark(n, n.Cond)
			case *ir.While:
				mark(n, n.Cond)
			case *ir.DoWhile:
				mark(n, n.Cond)
			case *ir.For:
				if n.Cond != nil {
					mark(n, n.Cond)
				}
			case *ir.Switch:
				mark(n, n.X)
			case *ir.Cond:
				mark(n, n.C)
			case *ir.Binary:
				if n.Op == ir.LogAnd || n.Op == ir.LogOr {
					mark(n, n.X)
				}
			}
			return true
		})
	}
	return lines
}

// conditionLeaves splits a condition at && and || (and !): each operand is
// a branch of its own.
func conditionLeaves(e ir.Expr) []ir.Expr {
	switch x := e.(type) {
	case *ir.Binary:
		if x.Op == ir.LogAnd || x.Op == ir.LogOr {
			return append(conditionLeaves(x.X), conditionLeaves(x.Y)...)
		}
	case *ir.Unary:
		if x.Op == ir.LogNot {
			return conditionLeaves(x.X)
		}
	case *ir.Cast:
		if x.Implicit {
			return conditionLeaves(x.X)
		}
	}
	return []ir.Expr{e}
}
