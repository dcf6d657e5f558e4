package decl

import (
	"fmt"
	"strconv"
	"strings"
)

// StepKind is how a path step selects.
type StepKind int

const (
	Dot   StepKind = iota // .field
	Arrow                 // ->field
	Elem                  // [N]
)

// PathStep is one selection in a path.
type PathStep struct {
	Kind  StepKind
	Field string
	Index int64
}

// Path is an access path ROOT{.f|->f|[N]}.
type Path struct {
	Root  string
	Steps []PathStep
}

// String is the canonical spelling, also the context key.
func (p Path) String() string {
	var b strings.Builder
	b.WriteString(p.Root)
	for _, s := range p.Steps {
		switch s.Kind {
		case Dot:
			b.WriteString("." + s.Field)
		case Arrow:
			b.WriteString("->" + s.Field)
		default:
			fmt.Fprintf(&b, "[%d]", s.Index)
		}
	}
	return b.String()
}

// ParsePath parses a path written without spaces.
func ParsePath(s string) (Path, error) {
	bad := func(why string) (Path, error) { return Path{}, fmt.Errorf("path %q: %s", s, why) }
	i := 0
	ident := func() string {
		j := i
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || j > i && s[j] >= '0' && s[j] <= '9') {
			j++
		}
		id := s[i:j]
		i = j
		return id
	}
	var p Path
	if p.Root = ident(); p.Root == "" {
		return bad("it must start with an identifier")
	}
	for i < len(s) {
		switch {
		case s[i] == '.':
			i++
			f := ident()
			if f == "" {
				return bad("field name expected after '.'")
			}
			p.Steps = append(p.Steps, PathStep{Kind: Dot, Field: f})
		case strings.HasPrefix(s[i:], "->"):
			i += 2
			f := ident()
			if f == "" {
				return bad("field name expected after '->'")
			}
			p.Steps = append(p.Steps, PathStep{Kind: Arrow, Field: f})
		case s[i] == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return bad("missing ']'")
			}
			n, err := strconv.ParseInt(s[i+1:i+j], 10, 64)
			if err != nil || n < 0 {
				return bad("index must be a non-negative decimal integer")
			}
			p.Steps = append(p.Steps, PathStep{Kind: Elem, Index: n})
			i += j + 1
		default:
			return bad(fmt.Sprintf("unexpected %q", s[i:]))
		}
	}
	return p, nil
}
