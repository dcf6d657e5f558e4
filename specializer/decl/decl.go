// Package decl reads declaration files (.decl, see ../DECL.md): which function to specialize,
// which parameters, globals and struct fields are static or dynamic, which static pointers are
// bound per instance, which shim lookups fold, and the guards. Parse checks the syntax; Resolve
// checks the declarations against the parsed generic program and types every path.
package decl

import (
	"bufio"
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Class is a binding time declared for a parameter or global.
type Class int

const (
	Dynamic Class = iota
	Static
	Bound
)

func (c Class) String() string { return [...]string{"dynamic", "static", "bound"}[c] }

// File is a parsed declaration file. Every declaration remembers its line for errors.
type File struct {
	Path     string // as given, for messages
	Dir      string // directory the relative names are resolved against
	Sources  []string
	Includes []string
	Defines  []string
	Entry    Named
	Name     Named // residual entry prefix ("" = entry name)
	Instance Named
	Params   []Binding
	Globals  []Binding
	Statics  []PathDecl
	Dynamics []PathDecl
	Bounds   []BoundPath
	Lookups  []Lookup
	Values   []ValueDecl
	Guards   []Guard
	Fallback *Int
	Unroll   int // static loop unrolling limit (iterations)
	// Outlines are generic functions specialized into functions of the residual of their own
	// instead of inlined at every call (spec: outline.go).
	Outlines []Named
	SrcLine  int
}

// Named is a name with the line that gave it.
type Named struct {
	Name string
	Line int
}

// Int is an integer with its line.
type Int struct {
	Val  int64
	Line int
}

// Binding is a parameter or global with its class.
type Binding struct {
	Name  string
	Class Class
	Line  int
}

// PathDecl declares a path static (with an optional range) or dynamic.
type PathDecl struct {
	Path  Path
	Range *Range
	Line  int
}

// BoundPath binds the pointer stored at Path per instance under Name.
type BoundPath struct {
	Name string
	Path Path
	Line int
}

// Lookup declares how a SHIM_PURE function's calls fold.
type Lookup struct {
	Func  string
	Bound bool   // the result is inst->Name
	Name  string // bound name, or the context value's name
	Range *Range
	Line  int
}

// ValueDecl declares a named context integer.
type ValueDecl struct {
	Name  string
	Range *Range
	Line  int
}

// Guard is a predicate the residual checks first.
type Guard struct {
	Expr GExpr
	Text string
	Line int
}

// Range is an inclusive integer range.
type Range struct{ Lo, Hi int64 }

// Contains reports whether v (as a signed 64-bit value) lies in r.
func (r *Range) Contains(v int64) bool { return r == nil || v >= r.Lo && v <= r.Hi }

func (r *Range) String() string { return fmt.Sprintf("%d..%d", r.Lo, r.Hi) }

// DefaultUnroll is the default limit on static loop unrolling (iterations per loop).
const DefaultUnroll = 64

// Error is a declaration error at a line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Parse reads a declaration file. path names it in errors; dir resolves its relative names.
func Parse(path, dir string, data []byte) (*File, error) {
	f := &File{Path: path, Dir: dir, Unroll: DefaultUnroll}
	p := &parser{f: f, seen: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	version := false
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		words := strings.Fields(text)
		if len(words) == 0 {
			continue
		}
		p.line = line
		if !version {
			if len(words) != 2 || words[0] != "version" || words[1] != "1" {
				return nil, p.errf("the first declaration must be \"version 1\"")
			}
			version = true
			continue
		}
		if err := p.decl(words, text); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.line = line
	switch {
	case !version:
		return nil, p.errf("empty declaration file (want \"version 1\" first)")
	case len(f.Sources) == 0:
		return nil, p.errf("no \"source\" declaration")
	case f.Entry.Name == "":
		return nil, p.errf("no \"entry\" declaration")
	case len(f.Guards) > 0 && f.Fallback == nil:
		return nil, &Error{path, f.Guards[0].Line, "guards need a \"fallback\" return value"}
	}
	return f, nil
}

type parser struct {
	f    *File
	line int
	seen map[string]int // declared names and paths -> line
}

func (p *parser) errf(format string, args ...any) error {
	return &Error{File: p.f.Path, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// once records a declared key, refusing a second declaration of it.
func (p *parser) once(key string) error {
	if l, ok := p.seen[key]; ok {
		return p.errf("%s already declared at line %d", strings.TrimPrefix(key, "\x00"), l)
	}
	p.seen[key] = p.line
	return nil
}

func (p *parser) ident(s string) (string, error) {
	if !identRE.MatchString(s) {
		return "", p.errf("%q is not a C identifier", s)
	}
	return s, nil
}

func (p *parser) nargs(words []string, min, max int) error {
	if n := len(words) - 1; n < min || n > max {
		if min == max {
			return p.errf("%s takes %d argument(s), got %d", words[0], min, n)
		}
		return p.errf("%s takes %d to %d arguments, got %d", words[0], min, max, n)
	}
	return nil
}

func (p *parser) decl(w []string, text string) error {
	f := p.f
	switch w[0] {
	case "source":
		if err := p.nargs(w, 1, 64); err != nil {
			return err
		}
		for _, s := range w[1:] {
			if !strings.HasSuffix(s, ".c") {
				return p.errf("source %q is not a .c file", s)
			}
			f.Sources = append(f.Sources, filepath.Join(f.Dir, s))
		}
		f.SrcLine = p.line
	case "include":
		if err := p.nargs(w, 1, 1); err != nil {
			return err
		}
		f.Includes = append(f.Includes, filepath.Join(f.Dir, w[1]))
	case "define":
		if err := p.nargs(w, 1, 1); err != nil {
			return err
		}
		name, val, hasVal := strings.Cut(w[1], "=")
		if _, err := p.ident(name); err != nil {
			return err
		}
		if hasVal {
			if _, err := strconv.ParseInt(val, 0, 64); err != nil {
				return p.errf("define %s: value %q is not an integer", name, val)
			}
		}
		if name == "SPECBED_SPEC" || name == "SPECBED_KERNEL" || name == "SPECBED_USER" {
			return p.errf("%s is set by the specializer", name)
		}
		f.Defines = append(f.Defines, w[1])
	case "entry", "name", "instance":
		if err := p.nargs(w, 1, 1); err != nil {
			return err
		}
		name, err := p.ident(w[1])
		if err != nil {
			return err
		}
		if err := p.once("\x00" + w[0]); err != nil {
			return err
		}
		n := Named{Name: name, Line: p.line}
		switch w[0] {
		case "entry":
			f.Entry = n
		case "name":
			f.Name = n
		default:
			f.Instance = n
		}
	case "param", "global":
		if err := p.nargs(w, 2, 2); err != nil {
			return err
		}
		name, err := p.ident(w[1])
		if err != nil {
			return err
		}
		c, ok := map[string]Class{"static": Static, "dynamic": Dynamic, "bound": Bound}[w[2]]
		if !ok {
			return p.errf("%s %s: class must be static, dynamic or bound, not %q", w[0], name, w[2])
		}
		if err := p.once(name); err != nil {
			return err
		}
		b := Binding{Name: name, Class: c, Line: p.line}
		if w[0] == "param" {
			f.Params = append(f.Params, b)
		} else {
			if c == Bound {
				return p.errf("global %s: globals are static or dynamic (a static pointer global is read directly)", name)
			}
			f.Globals = append(f.Globals, b)
		}
	case "static", "dynamic":
		if err := p.nargs(w, 1, 2); err != nil {
			return err
		}
		path, err := ParsePath(w[1])
		if err != nil {
			return p.errf("%v", err)
		}
		if len(path.Steps) == 0 {
			return p.errf("%s %s: declare parameters with \"param\" and globals with \"global\"", w[0], w[1])
		}
		if err := p.once(path.String()); err != nil {
			return err
		}
		d := PathDecl{Path: path, Line: p.line}
		if len(w) == 3 {
			if w[0] == "dynamic" {
				return p.errf("a dynamic path takes no range")
			}
			if d.Range, err = p.rangeOf(w[2]); err != nil {
				return err
			}
		}
		if w[0] == "static" {
			f.Statics = append(f.Statics, d)
		} else {
			f.Dynamics = append(f.Dynamics, d)
		}
	case "bound":
		if err := p.nargs(w, 2, 2); err != nil {
			return err
		}
		name, err := p.ident(w[1])
		if err != nil {
			return err
		}
		path, err := ParsePath(w[2])
		if err != nil {
			return p.errf("%v", err)
		}
		if len(path.Steps) == 0 {
			return p.errf("bound %s: the path must select a pointer field (to bind a parameter: param NAME bound)", name)
		}
		if err := p.once(name); err != nil {
			return err
		}
		if err := p.once(path.String()); err != nil {
			return err
		}
		f.Bounds = append(f.Bounds, BoundPath{Name: name, Path: path, Line: p.line})
	case "lookup":
		if err := p.nargs(w, 3, 4); err != nil {
			return err
		}
		fn, err := p.ident(w[1])
		if err != nil {
			return err
		}
		name, err := p.ident(w[3])
		if err != nil {
			return err
		}
		lk := Lookup{Func: fn, Name: name, Line: p.line}
		switch w[2] {
		case "bound":
			lk.Bound = true
			if len(w) == 5 {
				return p.errf("a bound lookup takes no range")
			}
		case "value":
			if len(w) == 5 {
				if lk.Range, err = p.rangeOf(w[4]); err != nil {
					return err
				}
			}
		default:
			return p.errf("lookup %s: want \"bound NAME\" or \"value NAME [LO..HI]\"", fn)
		}
		if err := p.once("\x00lookup " + fn); err != nil {
			return err
		}
		if err := p.once(name); err != nil {
			return err
		}
		f.Lookups = append(f.Lookups, lk)
	case "value":
		if err := p.nargs(w, 1, 2); err != nil {
			return err
		}
		name, err := p.ident(w[1])
		if err != nil {
			return err
		}
		v := ValueDecl{Name: name, Line: p.line}
		if len(w) == 3 {
			if v.Range, err = p.rangeOf(w[2]); err != nil {
				return err
			}
		}
		if err := p.once(name); err != nil {
			return err
		}
		f.Values = append(f.Values, v)
	case "guard":
		src := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), "guard"))
		e, err := ParseGuard(src)
		if err != nil {
			return p.errf("guard: %v", err)
		}
		f.Guards = append(f.Guards, Guard{Expr: e, Text: src, Line: p.line})
	case "fallback":
		if err := p.nargs(w, 1, 1); err != nil {
			return err
		}
		v, err := strconv.ParseInt(w[1], 0, 32)
		if err != nil {
			return p.errf("fallback %q is not a 32-bit integer", w[1])
		}
		if err := p.once("\x00fallback"); err != nil {
			return err
		}
		f.Fallback = &Int{Val: v, Line: p.line}
	case "outline":
		if err := p.nargs(w, 1, 1); err != nil {
			return err
		}
		name, err := p.ident(w[1])
		if err != nil {
			return err
		}
		if err := p.once("\x00outline " + name); err != nil {
			return err
		}
		f.Outlines = append(f.Outlines, Named{Name: name, Line: p.line})
	case "unroll":
		if err := p.nargs(w, 1, 1); err != nil {
			return err
		}
		v, err := strconv.Atoi(w[1])
		if err != nil || v < 1 || v > 4096 {
			return p.errf("unroll %q: want an iteration count in 1..4096", w[1])
		}
		if err := p.once("\x00unroll"); err != nil {
			return err
		}
		f.Unroll = v
	case "version":
		return p.errf("version declared twice")
	default:
		return p.errf("unknown declaration %q", w[0])
	}
	return nil
}

func (p *parser) rangeOf(s string) (*Range, error) {
	lo, hi, ok := strings.Cut(s, "..")
	if !ok {
		return nil, p.errf("range %q: want LO..HI", s)
	}
	l, err1 := strconv.ParseInt(lo, 0, 64)
	h, err2 := strconv.ParseInt(hi, 0, 64)
	if err1 != nil || err2 != nil || l > h {
		return nil, p.errf("range %q: want LO..HI with integers LO <= HI", s)
	}
	return &Range{Lo: l, Hi: h}, nil
}
