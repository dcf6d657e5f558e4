package scenarios

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
	"github.com/hashicorp/go-multierror"
)

// Error is one problem in a scenario file, at the place it was found.
type Error struct {
	File         string
	Line, Column int
	// Path names the value, e.g. "timeline[2].at".
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Column, e.Path, e.Msg)
}

// Load reads and validates the scenario file at path.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a scenario; file names it in errors. The
// error, if any, is a *multierror.Error holding every problem found, each
// an *Error; the scenario is nil then.
func Parse(file string, data []byte) (*Scenario, error) {
	d := &decoder{file: file, pos: map[string]token.Position{}, bad: map[string]bool{}}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		d.errs = multierror.Append(d.errs, syntaxError(file, err))
		return nil, d.errs
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			d.fail(doc.Body, "", "a scenario file holds one YAML document")
			continue
		}
		body = doc.Body
	}
	if body == nil {
		return nil, multierror.Append(nil, &Error{File: file, Line: 1, Column: 1, Msg: "empty file"})
	}
	s := &Scenario{}
	d.value(body, reflect.ValueOf(s).Elem(), "", reflect.StructField{})
	// The checks across keys run on what decoded, so that one run
	// reports every error; they skip what failed to decode.
	s.setDefaults()
	d.check(s)
	if d.errs != nil {
		slices.SortStableFunc(d.errs.Errors, byPlace)
		d.errs.ErrorFormat = listErrors
		return nil, d.errs
	}
	return s, nil
}

// byPlace orders errors by their line and column in the file.
func byPlace(a, b error) int {
	var ea, eb *Error
	if !errors.As(a, &ea) || !errors.As(b, &eb) {
		return 0
	}
	if ea.Line != eb.Line {
		return ea.Line - eb.Line
	}
	return ea.Column - eb.Column
}

// listErrors prints one error a line.
func listErrors(errs []error) string {
	lines := make([]string, len(errs))
	for i, err := range errs {
		lines[i] = err.Error()
	}
	return fmt.Sprintf("%d error(s):\n%s", len(errs), strings.Join(lines, "\n"))
}

// syntaxError places a parser error; go-yaml's own message holds the
// excerpt of the source.
func syntaxError(file string, err error) error {
	e := &Error{File: file, Line: 1, Column: 1, Msg: err.Error()}
	var se interface{ GetToken() *token.Token }
	if errors.As(err, &se) && se.GetToken() != nil {
		p := se.GetToken().Position
		e.Line, e.Column = p.Line, p.Column
		e.Msg = strings.TrimSpace(err.Error())
	}
	return e
}

// decoder walks the AST of one file against the Go types, filling them
// and collecting every error with its position.
type decoder struct {
	file string
	errs *multierror.Error
	// pos holds where each value given in the file starts, by path;
	// bad the paths whose value did not decode.
	pos map[string]token.Position
	bad map[string]bool
}

func (d *decoder) fail(n ast.Node, path, format string, args ...any) {
	d.bad[path] = true
	e := &Error{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if tk := n.GetToken(); tk != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	d.errs = multierror.Append(d.errs, e)
}

// failAt reports an error at the value of path, or of its closest
// ancestor given in the file.
func (d *decoder) failAt(path, format string, args ...any) {
	e := &Error{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	for p := path; ; p = parent(p) {
		if pos, ok := d.pos[p]; ok {
			e.Line, e.Column = pos.Line, pos.Column
			break
		}
		if p == "" {
			e.Line, e.Column = 1, 1
			break
		}
	}
	d.errs = multierror.Append(d.errs, e)
}

// has reports whether the file gave a value at path.
func (d *decoder) has(path string) bool {
	_, ok := d.pos[path]
	return ok
}

// decoded reports whether the file gave a value at path that decoded.
func (d *decoder) decoded(path string) bool { return d.has(path) && !d.bad[path] }

func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var durationType = reflect.TypeFor[Duration]()

// value decodes node into v; field carries the enum, min and max tags
// that apply to v (or to each element of a slice).
func (d *decoder) value(n ast.Node, v reflect.Value, path string, field reflect.StructField) {
	n = unwrap(n)
	switch n.(type) {
	case *ast.AliasNode:
		d.fail(n, path, "aliases are not supported: write the value out")
		return
	case *ast.NullNode:
		d.fail(n, path, "no value (want %s)", describe(v.Type()))
		return
	}
	d.pos[path] = position(n)
	switch {
	case v.Type() == durationType:
		d.duration(n, v, path)
	case v.Kind() == reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		d.value(n, v.Elem(), path, field)
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case v.Kind() == reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.fail(n, path, "wrong type: want a list, got %s", kindOf(n))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values)))
		for i, e := range seq.Values {
			d.value(e, v.Index(i), fmt.Sprintf("%s[%d]", path, i), field)
		}
	default:
		d.scalar(n, v, path, field)
	}
}

// position is where a node starts: a block mapping at its first key.
func position(n ast.Node) token.Position {
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 && !m.IsFlowStyle {
		n = m.Values[0].Key
	}
	if tk := n.GetToken(); tk != nil {
		return *tk.Position
	}
	return token.Position{Line: 1, Column: 1}
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		case *ast.MappingValueNode:
			// A one-key mapping can come as its only entry.
			return &ast.MappingNode{BaseNode: x.BaseNode, Start: x.GetToken(), Values: []*ast.MappingValueNode{x}}
		default:
			return n
		}
	}
}

func (d *decoder) mapping(n ast.Node, v reflect.Value, path string) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.fail(n, path, "wrong type: want a mapping with keys %s, got %s", strings.Join(keysOf(v.Type()), ", "), kindOf(n))
		return
	}
	seen := map[string]bool{}
	for _, kv := range m.Values {
		key := strings.TrimSpace(unwrap(kv.Key).GetToken().Value)
		kpath := join(path, key)
		i, ok := fieldIndex(v.Type(), key)
		switch {
		case !ok:
			d.fail(kv.Key, kpath, "unknown key %q%s (allowed: %s)", key, suggest(key, keysOf(v.Type())), strings.Join(keysOf(v.Type()), ", "))
		case seen[key]:
			d.fail(kv.Key, kpath, "duplicate key %q", key)
		default:
			seen[key] = true
			d.value(kv.Value, v.Field(i), kpath, v.Type().Field(i))
		}
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Tag.Get("required") == "true" && !seen[yamlKey(f)] {
			d.fail(n, path, "missing required key %q", yamlKey(f))
		}
	}
}

func (d *decoder) duration(n ast.Node, v reflect.Value, path string) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		d.fail(n, path, "wrong type: want a duration such as \"250ms\" or \"2s\", got %s", kindOf(n))
		return
	}
	t, err := time.ParseDuration(s.Value)
	if err != nil || t < 0 {
		d.fail(n, path, "%q is not a duration >= 0 (such as \"250ms\", \"2s\")", s.Value)
		return
	}
	v.Set(reflect.ValueOf(Duration{t}))
}

func (d *decoder) scalar(n ast.Node, v reflect.Value, path string, field reflect.StructField) {
	switch v.Kind() {
	case reflect.String:
		if lit, ok := n.(*ast.LiteralNode); ok {
			n = lit.Value // a block scalar: | or >
		}
		s, ok := n.(*ast.StringNode)
		if !ok {
			d.fail(n, path, "wrong type: want a string%s, got %s", enumHint(field), kindOf(n))
			return
		}
		if name := field.Tag.Get("enum"); name != "" && !slices.Contains(enumValues(name), s.Value) {
			allowed := enumValues(name)
			d.fail(n, path, "%q is not allowed%s (allowed: %s)", s.Value, suggest(s.Value, allowed), strings.Join(allowed, ", "))
			return
		}
		v.SetString(s.Value)
	case reflect.Int, reflect.Int64:
		i, ok := n.(*ast.IntegerNode)
		if !ok {
			d.fail(n, path, "wrong type: want an integer%s, got %s", rangeHint(field), kindOf(n))
			return
		}
		x, err := strconv.ParseInt(i.GetToken().Value, 0, 64)
		if err != nil {
			d.fail(n, path, "%s is not a 64-bit integer", i.GetToken().Value)
			return
		}
		if d.inRange(n, path, field, float64(x)) {
			v.SetInt(x)
		}
	case reflect.Float64:
		var x float64
		switch f := n.(type) {
		case *ast.FloatNode:
			x = f.Value
		case *ast.IntegerNode:
			x, _ = strconv.ParseFloat(f.GetToken().Value, 64)
		default:
			d.fail(n, path, "wrong type: want a number%s, got %s", rangeHint(field), kindOf(n))
			return
		}
		if d.inRange(n, path, field, x) {
			v.SetFloat(x)
		}
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.fail(n, path, "wrong type: want true or false, got %s", kindOf(n))
			return
		}
		v.SetBool(b.Value)
	default:
		panic(fmt.Sprintf("scenarios: field %s of kind %s has no decoder", path, v.Kind()))
	}
}

// inRange checks x against the field's min and max tags.
func (d *decoder) inRange(n ast.Node, path string, field reflect.StructField, x float64) bool {
	lo, hi := fieldRange(field)
	if x < lo || x > hi {
		d.fail(n, path, "%v is out of range%s", x, rangeHint(field))
		return false
	}
	return true
}

// fieldRange is a field's bounds from its min and max tags.
func fieldRange(f reflect.StructField) (lo, hi float64) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if s := f.Tag.Get("min"); s != "" {
		lo, _ = strconv.ParseFloat(s, 64)
	}
	if s := f.Tag.Get("max"); s != "" {
		hi, _ = strconv.ParseFloat(s, 64)
	}
	return lo, hi
}

func rangeHint(f reflect.StructField) string {
	lo, hi := f.Tag.Get("min"), f.Tag.Get("max")
	switch {
	case lo != "" && hi != "":
		return fmt.Sprintf(" (allowed: %s..%s)", lo, hi)
	case lo != "":
		return fmt.Sprintf(" (allowed: >= %s)", lo)
	case hi != "":
		return fmt.Sprintf(" (allowed: <= %s)", hi)
	}
	return ""
}

func enumHint(f reflect.StructField) string {
	if name := f.Tag.Get("enum"); name != "" {
		return " (allowed: " + strings.Join(enumValues(name), ", ") + ")"
	}
	return ""
}

// kindOf names a node's YAML type for messages.
func kindOf(n ast.Node) string {
	switch n.(type) {
	case *ast.StringNode, *ast.LiteralNode:
		return fmt.Sprintf("the string %q", strings.TrimSpace(n.GetToken().Value))
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "the number " + n.GetToken().Value
	case *ast.BoolNode:
		return "the boolean " + n.GetToken().Value
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	return n.Type().String()
}

// describe names what a Go type takes, for messages.
func describe(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.Pointer:
		return describe(t.Elem())
	case t.Kind() == reflect.Struct:
		return "a mapping"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	}
	return "a number"
}

func yamlKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return key
}

func fieldIndex(t reflect.Type, key string) (int, bool) {
	for i := range t.NumField() {
		if yamlKey(t.Field(i)) == key {
			return i, true
		}
	}
	return 0, false
}

func keysOf(t reflect.Type) []string {
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = yamlKey(t.Field(i))
	}
	return keys
}

// suggest names the allowed word closest to a misspelt one.
func suggest(word string, allowed []string) string {
	best, dist := "", 3
	for _, a := range allowed {
		if d := editDistance(word, a); d < dist {
			best, dist = a, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(", did you mean %q?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
