// Package print writes IR as C: the residual program of a specialization, with a header comment
// naming the context, #line directives back to the generic source (so a compiled residual's
// instructions can be charged to the generic file and line they came from), and nothing but
// plain C and shim calls.
//
// Output is deterministic. Every number comes from a typed value and every identifier from the
// parsed generic source or the declarations; the printer checks identifiers and comment text,
// so nothing a context file spells (its label, say) can reach the code.
package print

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"specbed/specializer/ir"
)

var (
	pathRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*((\.|->)[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*$`)
	fileRE = regexp.MustCompile(`^[A-Za-z0-9_./+-]+$`)
)

// Printer writes C, tracking output lines for #line directives.
type Printer struct {
	buf    bytes.Buffer
	line   int // lines written so far
	indent int
	lines  bool // emit #line directives
	// where the next output line is attributed (after a #line directive)
	file  string
	fline int
	last  ir.Pos // the source position of the previous line
	err   error
}

// New returns a printer; lines enables #line directives.
func New(lines bool) *Printer { return &Printer{lines: lines} }

// Bytes returns what was printed, or the first error.
func (p *Printer) Bytes() ([]byte, error) { return p.buf.Bytes(), p.err }

func (p *Printer) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("print: "+format, args...)
	}
}

// raw writes one complete line (no indentation, no attribution change).
func (p *Printer) raw(s string) {
	p.buf.WriteString(s)
	p.buf.WriteByte('\n')
	p.line++
	if p.fline > 0 {
		p.fline++
	}
}

// out writes one indented line attributed to pos (a #line directive first when needed).
func (p *Printer) out(pos ir.Pos, s string) {
	// Consecutive lines from one source line share its directive (the next lines are attributed
	// to the following source lines: close enough, and far more readable).
	same := pos.File == p.last.File && pos.Line == p.last.Line
	if p.lines && pos.Line > 0 && !same && (pos.File != p.file || pos.Line != p.fline) {
		if !fileRE.MatchString(pos.File) {
			p.fail("file name %q cannot be printed", pos.File)
			return
		}
		p.buf.WriteString(fmt.Sprintf("#line %d \"%s\"\n", pos.Line, pos.File))
		p.line++
		p.file, p.fline = pos.File, pos.Line
	}
	if pos.Line > 0 {
		p.last = pos
	}
	p.raw(strings.Repeat("\t", p.indent) + s)
}

// Comment writes a block comment, its first line on the opening line; text may not close it
// and must be printable ASCII.
func (p *Printer) Comment(lines ...string) {
	for i, l := range lines {
		if strings.Contains(l, "*/") || strings.ContainsFunc(l, func(r rune) bool { return r < ' ' || r > '~' }) {
			p.fail("comment text %q cannot be printed", l)
			return
		}
		if i == 0 {
			p.raw("/* " + l)
			continue
		}
		p.raw(strings.TrimRight(" * "+l, " "))
	}
	p.raw(" */")
}

// Line writes a line of plain text that the caller built from checked parts.
func (p *Printer) Line(s string) { p.raw(s) }

// ident checks an identifier before it is printed.
func (p *Printer) ident(s string) string {
	if !isIdent(s) {
		p.fail("%q is not an identifier", s)
	}
	return s
}

// isIdent is identRE without the regexp (the printer checks every name it prints).
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Path checks an access path (from the declarations) before it is printed in a comment.
func (p *Printer) Path(s string) string {
	if !pathRE.MatchString(s) {
		p.fail("%q is not an access path", s)
	}
	return s
}

// Func prints a function definition; locals are declared at the top (the residual has no
// declarations in its statements, so gotos never jump over one).
func (p *Printer) Func(f *ir.Func, static bool) {
	var params []string
	for _, v := range f.Params {
		params = append(params, p.decl(v.Type, p.ident(v.Name)))
	}
	if len(params) == 0 {
		params = []string{"void"}
	}
	head := p.decl(f.Type.Result, p.ident(f.Name)+"("+strings.Join(params, ", ")+")")
	if static {
		head = "static " + head
	}
	p.out(f.Pos, head)
	p.out(ir.Pos{}, "{")
	p.indent++
	for _, v := range Locals(f.Body) {
		p.out(ir.Pos{}, p.decl(v.Type, p.ident(v.Name))+";")
	}
	p.stmts(f.Body.Stmts)
	p.indent--
	p.out(ir.Pos{}, "}")
}

// Locals lists the local variables a body uses without declaring them, in order of first use
// (the residual's variables, declared at the top of its function).
func Locals(b *ir.Block) []*ir.Var {
	seen := map[*ir.Var]bool{}
	ir.Inspect(b, func(n ir.Node) bool {
		if d, ok := n.(*ir.Decl); ok {
			seen[d.Var] = true
		}
		return true
	})
	var out []*ir.Var
	ir.Inspect(b, func(n ir.Node) bool {
		var v *ir.Var
		if r, ok := n.(*ir.VarRef); ok {
			v = r.Var
		}
		if v != nil && v.Kind == ir.Local && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
		return true
	})
	return out
}

func (p *Printer) decl(t ir.Type, name string) string { return ir.Declare(t, name) }

func (p *Printer) stmts(ss []ir.Stmt) {
	for _, s := range ss {
		p.stmt(s)
	}
}

// body prints a statement as a braced body.
func (p *Printer) body(s ir.Stmt) {
	p.indent++
	if b, ok := s.(*ir.Block); ok {
		p.stmts(b.Stmts)
	} else if s != nil {
		p.stmt(s)
	}
	p.indent--
}

func (p *Printer) stmt(s ir.Stmt) {
	at := s.At()
	switch s := s.(type) {
	case *ir.Block:
		// Placeholders and inlined bodies: no braces needed (no declarations inside).
		if hasDecl(s) {
			p.out(at, "{")
			p.body(s)
			p.out(ir.Pos{}, "}")
			return
		}
		p.stmts(s.Stmts)
	case *ir.Decl:
		switch {
		case s.Init != nil:
			p.out(at, fmt.Sprintf("%s = %s;", p.decl(s.Var.Type, p.ident(s.Var.Name)), p.expr(s.Init, precAssign)))
		case s.List != nil:
			var parts []string
			for _, el := range s.List {
				parts = append(parts, p.designator(el.Path)+" = "+p.expr(el.X, precAssign))
			}
			if len(parts) == 0 {
				parts = []string{"0"}
			}
			p.out(at, fmt.Sprintf("%s = { %s };", p.decl(s.Var.Type, p.ident(s.Var.Name)), strings.Join(parts, ", ")))
		default:
			p.out(at, p.decl(s.Var.Type, p.ident(s.Var.Name))+";")
		}
	case *ir.ExprStmt:
		p.out(at, p.expr(s.X, precComma)+";")
	case *ir.If:
		p.ifStmt(s, "")
	case *ir.While:
		p.out(at, "while ("+p.expr(s.Cond, precComma)+") {")
		p.body(s.Body)
		p.out(ir.Pos{}, "}")
	case *ir.DoWhile:
		p.out(at, "do {")
		p.body(s.Body)
		p.out(s.Cond.At(), "} while ("+p.expr(s.Cond, precComma)+");")
	case *ir.For:
		init, cond, post := "", "", ""
		if s.Init != nil {
			init = p.inlineStmt(s.Init)
		}
		if s.Cond != nil {
			cond = " " + p.expr(s.Cond, precComma)
		}
		if s.Post != nil {
			post = " " + p.expr(s.Post, precComma)
		}
		p.out(at, fmt.Sprintf("for (%s;%s;%s) {", init, cond, post))
		p.body(s.Body)
		p.out(ir.Pos{}, "}")
	case *ir.Switch:
		p.out(at, "switch ("+p.expr(s.X, precComma)+") {")
		for _, c := range s.Cases {
			for _, v := range c.Vals {
				p.out(c.P, "case "+p.constant(&ir.Const{E: ir.E{T: s.X.Type()}, Val: v})+":")
			}
			if c.Default {
				p.out(c.P, "default:")
			}
			p.indent++
			p.stmts(c.Body)
			p.indent--
		}
		p.out(ir.Pos{}, "}")
	case *ir.Break:
		p.out(at, "break;")
	case *ir.Continue:
		p.out(at, "continue;")
	case *ir.Return:
		if s.X == nil {
			p.out(at, "return;")
		} else {
			p.out(at, "return "+p.expr(s.X, precComma)+";")
		}
	case *ir.Goto:
		p.out(at, "goto "+p.ident(s.Label)+";")
	case *ir.Label:
		p.indent--
		p.out(at, p.ident(s.Name)+":")
		p.indent++
		p.out(ir.Pos{}, ";")
	default:
		p.fail("cannot print %T", s)
	}
}

func hasDecl(b *ir.Block) bool {
	for _, s := range b.Stmts {
		if _, ok := s.(*ir.Decl); ok {
			return true
		}
	}
	return false
}

func (p *Printer) inlineStmt(s ir.Stmt) string {
	switch s := s.(type) {
	case *ir.ExprStmt:
		return p.expr(s.X, precComma)
	case *ir.Decl:
		if s.Init != nil {
			return fmt.Sprintf("%s = %s", p.decl(s.Var.Type, p.ident(s.Var.Name)), p.expr(s.Init, precAssign))
		}
		return p.decl(s.Var.Type, p.ident(s.Var.Name))
	}
	p.fail("cannot print %T in a for header", s)
	return ""
}

func (p *Printer) ifStmt(s *ir.If, prefix string) {
	cond := s.Cond
	then, els := s.Then, s.Else
	if isEmpty(then) && els != nil && !isEmpty(els) {
		cond = &ir.Unary{E: ir.E{T: ir.Int, P: cond.At()}, Op: ir.LogNot, X: cond}
		then, els = els, nil
	}
	p.out(s.P, prefix+"if ("+p.expr(cond, precComma)+") {")
	p.body(then)
	if els == nil || isEmpty(els) {
		p.out(ir.Pos{}, "}")
		return
	}
	if b, ok := els.(*ir.Block); ok {
		if nested := onlyIf(b); nested != nil {
			p.ifStmt(nested, "} else ")
			return
		}
	}
	p.out(ir.Pos{}, "} else {")
	p.body(els)
	p.out(ir.Pos{}, "}")
}

// onlyIf returns the single if statement a block holds (ignoring empty placeholders).
func onlyIf(b *ir.Block) *ir.If {
	var found *ir.If
	for _, s := range b.Stmts {
		if isEmpty(s) {
			continue
		}
		i, ok := s.(*ir.If)
		if !ok || found != nil {
			return nil
		}
		found = i
	}
	return found
}

func isEmpty(s ir.Stmt) bool {
	b, ok := s.(*ir.Block)
	if !ok {
		return s == nil
	}
	for _, c := range b.Stmts {
		if !isEmpty(c) {
			return false
		}
	}
	return true
}

func (p *Printer) designator(path []ir.Step) string {
	var b strings.Builder
	for _, s := range path {
		if s.Field != nil {
			b.WriteString("." + p.ident(s.Field.Name))
		} else {
			fmt.Fprintf(&b, "[%d]", s.Index)
		}
	}
	return b.String()
}
