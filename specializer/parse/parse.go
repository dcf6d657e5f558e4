// Package parse reads the generic C subset (SUBSET.md) and lowers it to the specializer's IR.
//
// Preprocessing, parsing and C type checking are done by modernc.org/cc/v4, freestanding: no
// system headers, an i386 (ILP32) ABI, and only the macros the caller defines plus SPECBED_SPEC.
// The lowering then refuses, with file:line:col, everything outside the subset, makes C's
// implicit conversions explicit (ir.Cast with Implicit set) and gives every node its position.
package parse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"modernc.org/cc/v4"
	"modernc.org/token"

	"specbed/specializer/ir"
)

// Config says what to parse.
type Config struct {
	// Files are the C files of the translation unit, in order.
	Files []string
	// Texts optionally supplies the contents of Files (by the same name) instead of the disk.
	Texts map[string]string
	// Base is the directory positions are made relative to ("" keeps names as given).
	Base string
	// IncludeDirs are searched for #include "..." after the including file's directory.
	IncludeDirs []string
	// Defines are extra object-like macros: NAME or NAME=VALUE.
	Defines []string
	// Residual accepts residual programs: labels may be in nested blocks (where an inlined
	// call's exit lands), and since #line maps positions to the generic sources, gotos are not
	// checked to be forward by position.
	Residual bool
}

// predefined holds the macros a freestanding ILP32 compile needs; SPECBED_SPEC selects the
// specializer's view of shim.h.
const predefined = `#define SPECBED_SPEC 1
#define __STDC_VERSION__ 201112L
#define __STDC__ 1
#define __i386__ 1
#define __SIZE_TYPE__ unsigned int
#define __PTRDIFF_TYPE__ int
#define __WCHAR_TYPE__ int
#define __INT8_TYPE__ signed char
#define __INT16_TYPE__ short
#define __INT32_TYPE__ int
#define __INT64_TYPE__ long long
#define __UINT8_TYPE__ unsigned char
#define __UINT16_TYPE__ unsigned short
#define __UINT32_TYPE__ unsigned int
#define __UINT64_TYPE__ unsigned long long
#define __CHAR_BIT__ 8
int __predefined_declarator;
`

// Shim marker attributes (SUBSET.md, "Shim markers").
const (
	pureAttr   = "specbed_pure"
	effectAttr = "specbed_effect"
	errnoAttr  = "specbed_errno"
)

var includeRE = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*"([^"]+)"`)

// Parse preprocesses, parses and lowers the files of cfg into one program.
func Parse(cfg Config) (prog *ir.Program, err error) {
	if len(cfg.Files) == 0 {
		return nil, errors.New("parse: no source files")
	}
	abi, err := cc.NewABI("linux", "386")
	if err != nil {
		return nil, fmt.Errorf("parse: i386 ABI: %w", err)
	}
	var pre strings.Builder
	pre.WriteString(predefined)
	for _, d := range cfg.Defines {
		name, val, _ := strings.Cut(d, "=")
		if val == "" {
			val = "1"
		}
		fmt.Fprintf(&pre, "#define %s %s\n", name, val)
	}
	srcs := []cc.Source{{Name: "<predefined>", Value: pre.String()}}
	l := newLowerer(cfg.Base)
	l.residual = cfg.Residual
	seen := map[string]bool{}
	for _, f := range cfg.Files {
		text, ok := cfg.Texts[f]
		if !ok {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("parse: %w", err)
			}
			text = string(b)
		}
		srcs = append(srcs, cc.Source{Name: f, Value: text})
		l.prog.Files = append(l.prog.Files, ir.SourceFile{Name: l.rel(f), Text: text})
		for _, m := range includeRE.FindAllStringSubmatch(text, -1) {
			if h := m[1]; !strings.HasSuffix(h, ".c") && !seen[h] {
				seen[h] = true
				l.prog.Headers = append(l.prog.Headers, h)
			}
		}
	}
	dirs := append([]string(nil), cfg.IncludeDirs...)
	for _, f := range cfg.Files {
		dirs = append(dirs, filepath.Dir(f))
	}
	ccfg := &cc.Config{ABI: abi, IncludePaths: dirs, SysIncludePaths: []string{},
		DefaultSizeT: cc.UInt, DefaultPtrdiffT: cc.Int, DefaultWcharT: cc.Int}
	ast, err := cc.Translate(ccfg, srcs)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*ir.PosError)
			if !ok {
				panic(r)
			}
			prog, err = nil, fmt.Errorf("parse: %w", pe)
		}
	}()
	l.unit(ast.TranslationUnit)
	l.allStructs(ast)
	return l.prog, nil
}

// allStructs lowers the complete tagged structs the code never uses by value (an instance
// struct, say), so declarations can name them.
func (l *lowerer) allStructs(ast *cc.AST) {
	var sts []*cc.StructType
	for st := range ast.Structs {
		if tok := st.Tag(); tok.SrcStr() != "" && !st.IsIncomplete() {
			sts = append(sts, st)
		}
	}
	sort.Slice(sts, func(i, j int) bool {
		a, b := sts[i].Tag(), sts[j].Tag()
		return a.SrcStr() < b.SrcStr()
	})
	for _, st := range sts {
		tok := st.Tag()
		l.structType(st, tok)
	}
}

// lowerer turns a cc/v4 AST into IR. Refusals panic with *ir.PosError; Parse recovers them.
type lowerer struct {
	base    string
	prog    *ir.Program
	structs map[string]*ir.StructType
	vars    map[*cc.Declarator]*ir.Var
	funcs   map[string]*ir.Func
	markers map[string]ir.ShimKind
	errno   map[string]bool // shims marked SHIM_ERRNO
	defined map[string]*cc.FunctionDefinition

	// Per function being lowered.
	fn     *ir.Func
	names  map[string]int
	labels map[string]ir.Pos
	gotos  []*ir.Goto
	loops  int // enclosing loops
	breaks int // enclosing loops and switches

	residual bool // Config.Residual
}

func newLowerer(base string) *lowerer {
	return &lowerer{
		base:    base,
		prog:    &ir.Program{Structs: map[string]*ir.StructType{}},
		structs: map[string]*ir.StructType{},
		vars:    map[*cc.Declarator]*ir.Var{},
		funcs:   map[string]*ir.Func{},
		markers: map[string]ir.ShimKind{}, errno: map[string]bool{},
		defined: map[string]*cc.FunctionDefinition{},
	}
}

func (l *lowerer) rel(name string) string {
	if l.base == "" {
		return name
	}
	if r, err := filepath.Rel(l.base, name); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return name
}

func (l *lowerer) pos(n interface{ Position() token.Position }) ir.Pos {
	p := n.Position()
	return ir.Pos{File: l.rel(p.Filename), Line: p.Line, Col: p.Column}
}

func (l *lowerer) refuse(n interface{ Position() token.Position }, format string, args ...any) {
	panic(&ir.PosError{Pos: l.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// unit lowers the translation unit: declarations first (so calls may precede definitions),
// then function bodies.
func (l *lowerer) unit(tu *cc.TranslationUnit) {
	var defs []*cc.FunctionDefinition
	for ; tu != nil; tu = tu.TranslationUnit {
		ed := tu.ExternalDeclaration
		switch ed.Case {
		case cc.ExternalDeclarationFuncDef:
			fd := ed.FunctionDefinition
			if fd.DeclarationList != nil {
				l.refuse(fd.Declarator, "K&R function definitions are outside the subset")
			}
			l.declareFunc(fd.Declarator, fd.DeclarationSpecifiers, nil)
			l.defined[fd.Declarator.Name()] = fd
			defs = append(defs, fd)
		case cc.ExternalDeclarationDecl:
			l.fileDecl(ed.Declaration)
		case cc.ExternalDeclarationEmpty:
		default:
			l.refuse(ed, "inline asm is outside the subset")
		}
	}
	for _, f := range l.prog.Funcs {
		if l.defined[f.Name] != nil {
			if l.markers[f.Name] != ir.NotShim || l.errno[f.Name] {
				panic(&ir.PosError{Pos: f.Pos, Msg: fmt.Sprintf("%s has a body and a shim marker: shim functions are external", f.Name)})
			}
			continue
		}
		f.Shim = l.markers[f.Name] // unmarked and never called is fine (a header's prototype)
		f.Errno = l.errno[f.Name]
		if f.Errno && !ir.IsInt(f.Type.Result) {
			panic(&ir.PosError{Pos: f.Pos, Msg: fmt.Sprintf("%s is marked SHIM_ERRNO but does not return an integer", f.Name)})
		}
	}
	for _, fd := range defs {
		l.funcBody(fd)
	}
}

// fileDecl handles a file-scope declaration: typedefs and struct/enum definitions (types are
// lowered when used), function prototypes and globals.
func (l *lowerer) fileDecl(d *cc.Declaration) {
	if d.Case != cc.DeclarationDecl {
		if d.Case == cc.DeclarationAssert {
			return
		}
		l.refuse(d, "__auto_type is outside the subset")
	}
	for il := d.InitDeclaratorList; il != nil; il = il.InitDeclaratorList {
		id := il.InitDeclarator
		dr := id.Declarator
		if dr.IsTypename() {
			continue
		}
		if _, ok := dr.Type().(*cc.FunctionType); ok {
			l.declareFunc(dr, d.DeclarationSpecifiers, append(attrNames(id.AttributeSpecifierList), attrNames(d.AttributeSpecifierList)...))
			continue
		}
		if id.Case == cc.InitDeclaratorInit {
			l.refuse(id, "initialized global %s: globals are external to the generic code", dr.Name())
		}
		if dr.IsVolatile() {
			l.refuse(dr, "volatile is outside the subset")
		}
		name := dr.Name()
		if name == "__predefined_declarator" { // cc/v4's marker in the predefined source
			continue
		}
		if g := l.prog.Global(name); g != nil {
			l.vars[dr] = g
			continue
		}
		g := &ir.Var{Name: name, Type: l.typ(dr.Type(), dr), Kind: ir.Global, Pos: l.pos(dr)}
		l.vars[dr] = g
		l.prog.Globals = append(l.prog.Globals, g)
	}
}

// declareFunc registers a function (prototype or definition) and its shim marker.
func (l *lowerer) declareFunc(dr *cc.Declarator, ds *cc.DeclarationSpecifiers, extra []string) {
	ft := dr.Type().(*cc.FunctionType)
	if ft.IsVariadic() {
		l.refuse(dr, "variadic function %s is outside the subset", dr.Name())
	}
	name := dr.Name()
	attrs := append(specAttrs(ds), extra...)
	for _, a := range attrs {
		if a == errnoAttr {
			l.errno[name] = true
			continue
		}
		k := map[string]ir.ShimKind{pureAttr: ir.ShimPure, effectAttr: ir.ShimEffect}[a]
		if k == ir.NotShim {
			continue
		}
		if old := l.markers[name]; old != ir.NotShim && old != k {
			l.refuse(dr, "%s is marked both SHIM_PURE and SHIM_EFFECT", name)
		}
		l.markers[name] = k
	}
	if l.funcs[name] != nil {
		return
	}
	f := &ir.Func{Name: name, Type: l.typ(ft, dr).(*ir.FuncType), Pos: l.pos(dr), Static: dr.IsStatic()}
	l.funcs[name] = f
	l.prog.Funcs = append(l.prog.Funcs, f)
}

func specAttrs(ds *cc.DeclarationSpecifiers) []string {
	var out []string
	for ; ds != nil; ds = ds.DeclarationSpecifiers {
		out = append(out, attrNames(ds.AttributeSpecifierList)...)
	}
	return out
}

func attrNames(l *cc.AttributeSpecifierList) []string {
	var out []string
	for ; l != nil; l = l.AttributeSpecifierList {
		for v := l.AttributeSpecifier.AttributeValueList; v != nil; v = v.AttributeValueList {
			out = append(out, v.AttributeValue.Token.SrcStr())
		}
	}
	return out
}

// funcBody lowers a function definition's parameters and body.
func (l *lowerer) funcBody(fd *cc.FunctionDefinition) {
	f := l.funcs[fd.Declarator.Name()]
	f.Pos = l.pos(fd.Declarator) // the definition, not the first prototype
	l.fn, l.names, l.labels, l.gotos = f, map[string]int{}, map[string]ir.Pos{}, nil
	ft := fd.Declarator.Type().(*cc.FunctionType)
	for i, p := range ft.Parameters() {
		if p.Declarator == nil || p.Name() == "" {
			if len(ft.Parameters()) == 1 && ft.Parameters()[0].Type().Kind() == cc.Void {
				break
			}
			l.refuse(p, "unnamed parameter in a definition")
		}
		v := &ir.Var{Name: l.unique(p.Name()), Type: f.Type.Params[i], Kind: ir.Param, Pos: l.pos(p)}
		l.vars[p.Declarator] = v
		f.Params = append(f.Params, v)
	}
	f.Body = l.block(fd.CompoundStatement, true)
	for _, g := range l.gotos {
		lp, ok := l.labels[g.Label]
		if !ok {
			panic(&ir.PosError{Pos: g.P, Msg: fmt.Sprintf("goto %s: the label must be at the top level of the function body", g.Label)})
		}
		if !l.residual && !before(g.P, lp) {
			panic(&ir.PosError{Pos: g.P, Msg: fmt.Sprintf("goto %s jumps backward: only forward goto is in the subset", g.Label)})
		}
	}
	for name, lp := range l.labels {
		if !l.targeted(name) {
			panic(&ir.PosError{Pos: lp, Msg: fmt.Sprintf("label %s is never targeted", name)})
		}
	}
	l.fn = nil
}

func (l *lowerer) targeted(label string) bool {
	for _, g := range l.gotos {
		if g.Label == label {
			return true
		}
	}
	return false
}

// before reports whether a comes before b in the same file.
func before(a, b ir.Pos) bool {
	return a.File == b.File && (a.Line < b.Line || a.Line == b.Line && a.Col < b.Col)
}

// unique returns a local name not yet used in the current function.
func (l *lowerer) unique(name string) string {
	n := l.names[name]
	l.names[name] = n + 1
	if n == 0 {
		return name
	}
	return fmt.Sprintf("%s_%d", name, n+1)
}
