// Package specializer runs the partial evaluator's passes in order: the declaration file (decl)
// names the generic C sources, which are parsed to IR (parse) and checked against the
// declarations (decl.Resolve); the binding-time analysis (bta) classifies the program; then,
// per context (ctxschema), the specializer (spec) produces the residual entry, which is printed
// as C (print). Each pass is its own package with its own types.
//
// Load does the context-independent work once; Specialize is cheap and may run for many
// contexts.
package specializer

import (
	"fmt"
	"os"
	"path/filepath"

	"specbed/specializer/bta"
	"specbed/specializer/ctxschema"
	"specbed/specializer/decl"
	"specbed/specializer/ir"
	"specbed/specializer/parse"
	"specbed/specializer/print"
	"specbed/specializer/spec"
)

// Unit is a declaration file with its parsed, resolved and analysed generic program.
type Unit struct {
	Decl *decl.Resolved
	Prog *ir.Program
	BTA  *bta.Result
}

// Output is one specialization.
type Output struct {
	C        []byte // the residual C file
	Entry    string // the residual entry's name
	Residual *spec.Residual
	Stats    spec.Stats
	// Lines counts the residual entry's statement lines (no braces, declarations or #line).
	Lines int
}

// Load reads a declaration file and everything it names.
func Load(declPath string) (*Unit, error) {
	data, err := os.ReadFile(declPath)
	if err != nil {
		return nil, fmt.Errorf("specializer: %w", err)
	}
	f, err := decl.Parse(declPath, filepath.Dir(declPath), data)
	if err != nil {
		return nil, err
	}
	prog, err := parse.Parse(ParseConfig(f))
	if err != nil {
		return nil, err
	}
	return NewUnit(f, prog)
}

// ParseConfig is how a declaration file's sources are parsed: positions relative to the
// declaration file's directory.
func ParseConfig(f *decl.File) parse.Config {
	return parse.Config{Files: f.Sources, Base: f.Dir, IncludeDirs: f.Includes, Defines: f.Defines}
}

// NewUnit resolves parsed declarations against a parsed program and analyses it.
func NewUnit(f *decl.File, prog *ir.Program) (*Unit, error) {
	r, err := decl.Resolve(f, prog)
	if err != nil {
		return nil, err
	}
	b, err := bta.Analyze(r)
	if err != nil {
		return nil, err
	}
	return &Unit{Decl: r, Prog: prog, BTA: b}, nil
}

// EntryName is the residual entry's name for a context: the declared prefix and the first
// eight hex digits of the context's hash.
func (u *Unit) EntryName(ctx *ctxschema.Context) string {
	prefix := u.Decl.File.Name.Name
	if prefix == "" {
		prefix = u.Decl.Entry.Name
	}
	return prefix + "_" + ctx.Hash[:8]
}

// Specialize specializes the unit for a context.
func (u *Unit) Specialize(ctx *ctxschema.Context) (*Output, error) {
	if err := ctx.Check(u.Decl); err != nil {
		return nil, err
	}
	res, err := spec.Specialize(u.Decl, ctx, u.BTA, u.EntryName(ctx), spec.Limits{})
	if err != nil {
		return nil, fmt.Errorf("specialize: %w", err)
	}
	c, err := print.Residual(res)
	if err != nil {
		return nil, err
	}
	lines := print.CountLines(res.Func)
	for _, f := range res.Outlined {
		lines += print.CountLines(f)
	}
	return &Output{C: c, Entry: res.Func.Name, Residual: res, Stats: res.Stats, Lines: lines}, nil
}
