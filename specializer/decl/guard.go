package decl

import (
	"fmt"
	"strconv"
	"strings"
)

// GExpr is a guard expression: a small C expression over names and integers.
type GExpr interface{ gexpr() }

// GName is a parameter or value name.
type GName struct{ Name string }

// GPath is an access path into kernel memory (a field reached from a bound name).
type GPath struct{ Path Path }

// GInt is an integer literal.
type GInt struct{ Val int64 }

// GUnary is !x, ~x or -x.
type GUnary struct {
	Op string
	X  GExpr
}

// GBinary is a binary operation with C's meaning.
type GBinary struct {
	Op   string
	X, Y GExpr
}

func (GName) gexpr()   {}
func (GPath) gexpr()   {}
func (GInt) gexpr()    {}
func (GUnary) gexpr()  {}
func (GBinary) gexpr() {}

// binary operators by precedence level, lowest first (C's table).
var gLevels = [][]string{
	{"||"}, {"&&"}, {"|"}, {"^"}, {"&"}, {"==", "!="}, {"<=", ">=", "<", ">"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"},
}

// ParseGuard parses a guard expression.
func ParseGuard(src string) (GExpr, error) {
	toks, err := gLex(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty expression")
	}
	g := &gParser{toks: toks}
	e, err := g.binary(0)
	if err != nil {
		return nil, err
	}
	if g.i != len(toks) {
		return nil, fmt.Errorf("unexpected %q", toks[g.i])
	}
	return e, nil
}

type gParser struct {
	toks  []string
	i     int
	depth int
}

func (g *gParser) peek() string {
	if g.i < len(g.toks) {
		return g.toks[g.i]
	}
	return ""
}

func (g *gParser) binary(level int) (GExpr, error) {
	if level == len(gLevels) {
		return g.unary()
	}
	x, err := g.binary(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		op := g.peek()
		found := false
		for _, o := range gLevels[level] {
			found = found || o == op
		}
		if !found {
			return x, nil
		}
		g.i++
		y, err := g.binary(level + 1)
		if err != nil {
			return nil, err
		}
		x = GBinary{Op: op, X: x, Y: y}
	}
}

func (g *gParser) unary() (GExpr, error) {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 64 {
		return nil, fmt.Errorf("expression nested too deeply")
	}
	t := g.peek()
	g.i++
	switch {
	case t == "":
		return nil, fmt.Errorf("unexpected end of expression")
	case t == "!" || t == "~" || t == "-":
		x, err := g.unary()
		if err != nil {
			return nil, err
		}
		return GUnary{Op: t, X: x}, nil
	case t == "(":
		x, err := g.binary(0)
		if err != nil {
			return nil, err
		}
		if g.peek() != ")" {
			return nil, fmt.Errorf("missing ')'")
		}
		g.i++
		return x, nil
	case t[0] >= '0' && t[0] <= '9':
		v, err := strconv.ParseInt(strings.TrimRight(t, "uUlL"), 0, 64)
		if err != nil {
			return nil, fmt.Errorf("bad integer %q", t)
		}
		return GInt{Val: v}, nil
	case identRE.MatchString(t):
		return GName{Name: t}, nil
	case strings.ContainsAny(t, ".-["):
		p, err := ParsePath(t)
		if err != nil {
			return nil, err
		}
		return GPath{Path: p}, nil
	}
	return nil, fmt.Errorf("unexpected %q", t)
}

func gLex(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			// A word, or an access path: a word followed by .f, ->f or [N] selections.
			j := i
			word := func() {
				for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
					j++
				}
			}
			word()
			isIdent := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		path:
			for isIdent && j < len(s) {
				switch {
				case s[j] == '.':
					j++
					word()
				case strings.HasPrefix(s[j:], "->"):
					j += 2
					word()
				case s[j] == '[':
					k := strings.IndexByte(s[j:], ']')
					if k < 0 {
						return nil, fmt.Errorf("missing ']'")
					}
					j += k + 1
				default:
					break path
				}
			}
			out = append(out, s[i:j])
			i = j
		default:
			op := ""
			for _, o := range []string{"||", "&&", "==", "!=", "<=", ">=", "<<", ">>", "|", "^", "&", "<", ">", "+", "-", "*", "/", "%", "!", "~", "(", ")"} {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("unexpected character %q", c)
			}
			out = append(out, op)
			i += len(op)
		}
	}
	return out, nil
}

// Names returns the names a guard expression uses (the roots of its paths included).
func Names(e GExpr) []string {
	switch e := e.(type) {
	case GName:
		return []string{e.Name}
	case GPath:
		return []string{e.Path.Root}
	case GUnary:
		return Names(e.X)
	case GBinary:
		return append(Names(e.X), Names(e.Y)...)
	}
	return nil
}
