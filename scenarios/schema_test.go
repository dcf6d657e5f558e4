package scenarios

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestSchemaValidatesLibrary checks every library file against the JSON
// Schema with a validator for the keywords Schema uses, and that the
// four-errors file breaks it where the decoder says.
func TestSchemaValidatesLibrary(t *testing.T) {
	data, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	for _, f := range libraryFiles(t) {
		if problems := validateJSON(schema, jsonOf(t, f), "$"); len(problems) > 0 {
			t.Errorf("%s does not validate against the schema: %v", f, problems)
		}
	}
	got := validateJSON(schema, jsonOf(t, filepath.Join("testdata", "four-errors.yaml")), "$")
	want := []string{
		"$.specialization.guard_policy: type number, want string",
		"$.timeline[0].event: \"socket-explode\" not in enum",
		"$.workload: unknown property warmpu",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("four-errors.yaml against the schema: %q, want %q (the time out of range is the validator's alone)", got, want)
	}
}

// TestSchemaHasEveryField: every key of the Go types is in the schema.
func TestSchemaHasEveryField(t *testing.T) {
	data, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	var walk func(typ reflect.Type, s map[string]any, path string)
	walk = func(typ reflect.Type, s map[string]any, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			if typ.Kind() == reflect.Slice {
				s = s["items"].(map[string]any)
			}
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == durationType {
			return
		}
		props := s["properties"].(map[string]any)
		for i := range typ.NumField() {
			key := yamlKey(typ.Field(i))
			sub, ok := props[key].(map[string]any)
			if !ok {
				t.Errorf("%s.%s is not in the schema", path, key)
				continue
			}
			walk(typ.Field(i).Type, sub, path+"."+key)
		}
	}
	walk(reflect.TypeFor[Scenario](), schema, "$")
}

func jsonOf(t *testing.T, file string) any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	// Through JSON, so numbers are float64 as a JSON validator sees them.
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(j, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// validateJSON checks v against the keywords Schema emits: type,
// properties, additionalProperties false, required, items, enum,
// minimum, maximum and pattern.
func validateJSON(s map[string]any, v any, path string) []string {
	var out []string
	typ, _ := s["type"].(string)
	switch x := v.(type) {
	case map[string]any:
		if typ != "object" {
			return []string{fmt.Sprintf("%s: type object, want %s", path, typ)}
		}
		props := s["properties"].(map[string]any)
		for k, val := range x {
			sub, ok := props[k].(map[string]any)
			if !ok {
				out = append(out, fmt.Sprintf("%s: unknown property %s", path, k))
				continue
			}
			out = append(out, validateJSON(sub, val, path+"."+k)...)
		}
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				out = append(out, fmt.Sprintf("%s: missing %s", path, r))
			}
		}
	case []any:
		if typ != "array" {
			return []string{fmt.Sprintf("%s: type array, want %s", path, typ)}
		}
		for i, e := range x {
			out = append(out, validateJSON(s["items"].(map[string]any), e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case string:
		if typ != "string" {
			return []string{fmt.Sprintf("%s: type string, want %s", path, typ)}
		}
		if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, any(x)) {
			out = append(out, fmt.Sprintf("%s: %q not in enum", path, x))
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			out = append(out, fmt.Sprintf("%s: %q does not match %s", path, x, p))
		}
	case float64:
		if typ != "number" && !(typ == "integer" && x == float64(int64(x))) {
			return []string{fmt.Sprintf("%s: type number, want %s", path, typ)}
		}
		if lo, ok := s["minimum"].(float64); ok && x < lo {
			out = append(out, fmt.Sprintf("%s: %v below %v", path, x, lo))
		}
		if hi, ok := s["maximum"].(float64); ok && x > hi {
			out = append(out, fmt.Sprintf("%s: %v above %v", path, x, hi))
		}
	case bool:
		if typ != "boolean" {
			return []string{fmt.Sprintf("%s: type boolean, want %s", path, typ)}
		}
	default:
		out = append(out, fmt.Sprintf("%s: unexpected %T", path, v))
	}
	return out
}
