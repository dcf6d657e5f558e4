// Package ctxschema loads specialization contexts: the static values of one specialization as
// JSON, versioned by schema.json ("specbed.context/v1"). Load checks a context against the schema
// (structure, kinds, each kind's range); Check then holds it against a resolved declaration file
// (every declared key present, no other key, kinds matching the C types, declared ranges).
// Errors name the offending field. Values are kept as typed numbers and bytes: nothing
// downstream ever sees a context string.
package ctxschema

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"sort"
	"strings"

	"specbed/specializer/decl"
	"specbed/specializer/ir"
)

// SchemaJSON is the versioned schema (JSON Schema 2020-12) this package enforces.
//
//go:embed schema.json
var SchemaJSON []byte

// Version is the schema identifier every context names.
const Version = "specbed.context/v1"

// Value is one typed static value.
type Value struct {
	Kind string // u8..u64, s8..s64, bool, ipv4, bytes, ptr
	// Bits holds integers as 64-bit two's complement (sign-extended), bool as 0/1, ipv4 as the
	// 32-bit field value on the little-endian targets, ptr as 1 (nonnull) or 0 (null).
	Bits  uint64
	Bytes []byte // kind bytes
}

// Context is a loaded context.
type Context struct {
	Label  string
	Values map[string]Value
	// Hash is the hex SHA-256 of the canonical encoding of Values (the label is not part of it).
	Hash string
}

// FieldError is a problem with one context field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("context field %s: %s", e.Field, e.Msg) }

// schema is what this package reads out of schema.json.
type schema struct {
	id         string
	labelMax   int
	maxValues  int
	keyPattern *regexp.Regexp
	keyMax     int
	intRanges  map[string][2]*big.Int
	kinds      map[string]bool
	bytesMax   int
}

var theSchema = mustSchema()

func mustSchema() *schema {
	s, err := readSchema(SchemaJSON)
	if err != nil {
		panic("ctxschema: embedded schema.json: " + err.Error())
	}
	return s
}

// readSchema extracts the limits the loader enforces from the JSON Schema document.
func readSchema(data []byte) (*schema, error) {
	var doc struct {
		ID         string `json:"$id"`
		Properties struct {
			Label struct {
				MaxLength int `json:"maxLength"`
			} `json:"label"`
			Values struct {
				MaxProperties int `json:"maxProperties"`
				PropertyNames struct {
					Pattern   string `json:"pattern"`
					MaxLength int    `json:"maxLength"`
				} `json:"propertyNames"`
			} `json:"values"`
		} `json:"properties"`
		Defs struct {
			Value struct {
				OneOf []struct {
					Properties struct {
						Type struct {
							Const string `json:"const"`
						} `json:"type"`
						Value struct {
							Type      any         `json:"type"`
							Minimum   json.Number `json:"minimum"`
							Maximum   json.Number `json:"maximum"`
							MaxLength int         `json:"maxLength"`
						} `json:"value"`
					} `json:"properties"`
				} `json:"oneOf"`
			} `json:"value"`
		} `json:"$defs"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	s := &schema{id: doc.ID, labelMax: doc.Properties.Label.MaxLength, maxValues: doc.Properties.Values.MaxProperties,
		keyMax: doc.Properties.Values.PropertyNames.MaxLength, intRanges: map[string][2]*big.Int{}, kinds: map[string]bool{}}
	var err error
	if s.keyPattern, err = regexp.Compile(doc.Properties.Values.PropertyNames.Pattern); err != nil {
		return nil, err
	}
	for _, k := range doc.Defs.Value.OneOf {
		name := k.Properties.Type.Const
		s.kinds[name] = true
		if k.Properties.Value.Type == "integer" {
			lo, ok1 := new(big.Int).SetString(string(k.Properties.Value.Minimum), 10)
			hi, ok2 := new(big.Int).SetString(string(k.Properties.Value.Maximum), 10)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("kind %s: bad integer range", name)
			}
			s.intRanges[name] = [2]*big.Int{lo, hi}
		}
		if name == "bytes" {
			s.bytesMax = k.Properties.Value.MaxLength
		}
	}
	if s.id != Version || len(s.intRanges) != 8 || s.bytesMax == 0 {
		return nil, fmt.Errorf("unexpected schema %q with %d integer kinds", s.id, len(s.intRanges))
	}
	return s, nil
}

// Load parses and checks a context.
func Load(data []byte) (*Context, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	top, err := object(dec, "context")
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("context: trailing data after the JSON object")
	}
	for k := range top {
		if k != "schema" && k != "values" && k != "label" {
			return nil, &FieldError{Field: k, Msg: "unknown top-level field"}
		}
	}
	var version string
	if err := json.Unmarshal(top["schema"], &version); err != nil || version != theSchema.id {
		return nil, &FieldError{Field: "schema", Msg: fmt.Sprintf("want %q", theSchema.id)}
	}
	c := &Context{Values: map[string]Value{}}
	if raw, ok := top["label"]; ok {
		if err := json.Unmarshal(raw, &c.Label); err != nil || len(c.Label) > theSchema.labelMax {
			return nil, &FieldError{Field: "label", Msg: fmt.Sprintf("want a string of at most %d bytes", theSchema.labelMax)}
		}
	}
	raw, ok := top["values"]
	if !ok {
		return nil, &FieldError{Field: "values", Msg: "missing"}
	}
	vdec := json.NewDecoder(bytes.NewReader(raw))
	vdec.UseNumber()
	vals, err := object(vdec, "values")
	if err != nil {
		return nil, err
	}
	if len(vals) > theSchema.maxValues {
		return nil, &FieldError{Field: "values", Msg: fmt.Sprintf("more than %d values", theSchema.maxValues)}
	}
	for key, rv := range vals {
		if len(key) > theSchema.keyMax || !theSchema.keyPattern.MatchString(key) {
			return nil, &FieldError{Field: fmt.Sprintf("%q", key), Msg: "not an access path or name"}
		}
		v, err := value(rv)
		if err != nil {
			return nil, &FieldError{Field: key, Msg: err.Error()}
		}
		c.Values[key] = v
	}
	c.Hash = c.hash()
	return c, nil
}

// object reads one JSON object as raw members, refusing duplicate keys (encoding/json would
// silently keep the last).
func object(dec *json.Decoder, what string) (map[string]json.RawMessage, error) {
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%s: want a JSON object", what)
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		key := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &FieldError{Field: key, Msg: err.Error()}
		}
		if _, dup := out[key]; dup {
			return nil, &FieldError{Field: key, Msg: "given twice"}
		}
		out[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// value decodes and range-checks one {"type": K, "value": V}.
func value(raw json.RawMessage) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	m, err := object(dec, "value")
	if err != nil {
		return Value{}, errors.New(`want {"type": KIND, "value": V}`)
	}
	for k := range m {
		if k != "type" && k != "value" {
			return Value{}, fmt.Errorf("unknown member %q", k)
		}
	}
	var kind string
	if err := json.Unmarshal(m["type"], &kind); err != nil || !theSchema.kinds[kind] {
		return Value{}, fmt.Errorf("type must be one of %s", strings.Join(kinds(), ", "))
	}
	rv, ok := m["value"]
	if !ok {
		return Value{}, errors.New("missing value")
	}
	v := Value{Kind: kind}
	var num json.Number
	var str string
	isNum := unmarshalNumber(rv, &num) == nil
	isStr := json.Unmarshal(rv, &str) == nil
	switch {
	case theSchema.intRanges[kind][0] != nil:
		if !isNum {
			return v, fmt.Errorf("%s value must be an integer", kind)
		}
		b, err := checkInt(num, kind)
		if err != nil {
			return v, err
		}
		v.Bits = b
	case kind == "bool":
		var b bool
		if err := json.Unmarshal(rv, &b); err != nil {
			return v, errors.New("bool value must be true or false")
		}
		if b {
			v.Bits = 1
		}
	case kind == "ipv4":
		switch {
		case isStr:
			b, err := dotted(str)
			if err != nil {
				return v, err
			}
			v.Bits = b
		case isNum:
			b, err := checkInt(num, "u32")
			if err != nil {
				return v, fmt.Errorf("ipv4 integer: %w", err)
			}
			v.Bits = b
		default:
			return v, errors.New(`ipv4 value must be "a.b.c.d" or an integer`)
		}
	case kind == "bytes":
		if !isStr || len(str) > theSchema.bytesMax {
			return v, fmt.Errorf("bytes value must be a hex string of at most %d digits", theSchema.bytesMax)
		}
		b, err := hex.DecodeString(str)
		if err != nil {
			return v, errors.New("bytes value is not hex")
		}
		v.Bytes = b
	case kind == "ptr":
		switch {
		case isStr && str == "null":
		case isStr && str == "nonnull":
			v.Bits = 1
		default:
			return v, errors.New(`ptr value must be "null" or "nonnull"`)
		}
	}
	return v, nil
}

func unmarshalNumber(raw json.RawMessage, n *json.Number) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return err
	}
	num, ok := x.(json.Number)
	if !ok {
		return errors.New("not a number")
	}
	*n = num
	return nil
}

// checkInt range-checks an integer for a kind and returns its 64-bit two's complement bits.
func checkInt(num json.Number, kind string) (uint64, error) {
	b, ok := new(big.Int).SetString(string(num), 10)
	if !ok {
		return 0, fmt.Errorf("%s value %s is not an integer", kind, num)
	}
	r := theSchema.intRanges[kind]
	if b.Cmp(r[0]) < 0 || b.Cmp(r[1]) > 0 {
		return 0, fmt.Errorf("%s value %s out of range %s..%s", kind, num, r[0], r[1])
	}
	if b.Sign() < 0 {
		return uint64(b.Int64()), nil
	}
	return b.Uint64(), nil
}

// dotted parses a.b.c.d into the little-endian value of those four bytes in memory order.
func dotted(s string) (uint64, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return 0, fmt.Errorf("ipv4 %q is not a.b.c.d", s)
	}
	var v uint64
	for i, p := range parts {
		var n uint64
		if len(p) == 0 || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return 0, fmt.Errorf("ipv4 %q is not a.b.c.d", s)
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("ipv4 %q is not a.b.c.d", s)
			}
			n = n*10 + uint64(c-'0')
		}
		if n > 255 {
			return 0, fmt.Errorf("ipv4 %q: %d is not a byte", s, n)
		}
		v |= n << (8 * uint(i))
	}
	return v, nil
}

func kinds() []string {
	var ks []string
	for k := range theSchema.kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Rehash recomputes the hash of a context whose values were changed in place (tests that
// derive contexts do that).
func Rehash(c *Context) string { return c.hash() }

func (c *Context) hash() string {
	keys := make([]string, 0, len(c.Values))
	for k := range c.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		v := c.Values[k]
		fmt.Fprintf(h, "%s\t%s\t%d\t%x\n", k, v.Kind, v.Bits, v.Bytes)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Check holds c against a resolved declaration file.
func (c *Context) Check(r *decl.Resolved) error {
	want := map[string]bool{}
	for _, k := range r.ContextKeys() {
		v, ok := c.Values[k]
		if null := c.nullAbove(k); null != "" {
			// Nothing exists below a NULL pointer: the guest cannot produce such a value.
			if ok {
				return &FieldError{Field: k, Msg: null + " is NULL in this context: leave the fields below it out"}
			}
			continue
		}
		want[k] = true
		if !ok {
			return &FieldError{Field: k, Msg: "declared static but missing from the context"}
		}
		t, rng := r.KeyType(k)
		if err := fits(v, t, rng); err != nil {
			return &FieldError{Field: k, Msg: err.Error()}
		}
	}
	keys := make([]string, 0, len(c.Values))
	for k := range c.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !want[k] {
			return &FieldError{Field: k, Msg: "not declared static in " + r.File.Path}
		}
	}
	return nil
}

// fits checks a value's kind against the C type t (nil: any integer kind) and a declared range.
func fits(v Value, t ir.Type, rng *decl.Range) error {
	switch t := t.(type) {
	case nil:
		if theSchema.intRanges[v.Kind][0] == nil {
			return fmt.Errorf("a declared value takes an integer kind, not %s", v.Kind)
		}
		if !rng.Contains(int64(v.Bits)) {
			return fmt.Errorf("value %d outside the declared range %s", int64(v.Bits), rng)
		}
	case *ir.IntType:
		switch {
		case t.Bool && v.Kind != "bool":
			return fmt.Errorf("the C type is _Bool: want kind bool, not %s", v.Kind)
		case !t.Bool && v.Kind == "bool":
			return fmt.Errorf("the C type is %s: kind bool fits only _Bool", t)
		case v.Kind == "ipv4" && (t.Bytes != 4 || t.Signed):
			return fmt.Errorf("the C type is %s: ipv4 fits only a 32-bit unsigned field", t)
		case theSchema.intRanges[v.Kind][0] != nil && kindOf(t) != v.Kind:
			return fmt.Errorf("the C type is %s: want kind %s, not %s", t, kindOf(t), v.Kind)
		case theSchema.intRanges[v.Kind][0] == nil && v.Kind != "bool" && v.Kind != "ipv4":
			return fmt.Errorf("the C type is %s: want kind %s, not %s", t, kindOf(t), v.Kind)
		}
		if rng != nil && !rng.Contains(t.Int64(t.Wrap(v.Bits))) {
			return fmt.Errorf("value %d outside the declared range %s", t.Int64(t.Wrap(v.Bits)), rng)
		}
	case *ir.PtrType:
		if v.Kind != "ptr" {
			return fmt.Errorf("the C type is a pointer: want kind ptr, not %s", v.Kind)
		}
	case *ir.ArrayType:
		if v.Kind != "bytes" || int64(len(v.Bytes)) != t.Len {
			return fmt.Errorf("the C type is %s: want kind bytes with exactly %d bytes", t, t.Len)
		}
	default:
		return fmt.Errorf("the C type %s takes no context value", t)
	}
	return nil
}

func kindOf(t *ir.IntType) string {
	if t.Signed {
		return fmt.Sprintf("s%d", 8*t.Bytes)
	}
	return fmt.Sprintf("u%d", 8*t.Bytes)
}

// nullAbove returns the static pointer on key's path that this context makes NULL, or "".
func (c *Context) nullAbove(key string) string {
	p, err := decl.ParsePath(key)
	if err != nil {
		return ""
	}
	for i := 1; i < len(p.Steps); i++ {
		if p.Steps[i].Kind != decl.Arrow {
			continue
		}
		prefix := decl.Path{Root: p.Root, Steps: p.Steps[:i]}.String()
		if v, ok := c.Values[prefix]; ok && v.Kind == "ptr" && v.Bits == 0 {
			return prefix
		}
	}
	return ""
}
