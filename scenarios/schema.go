package scenarios

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
)

// SchemaID names the schema of scenario files.
const SchemaID = "https://specbed.invalid/schemas/scenario.json"

// Schema is a JSON Schema (draft 2020-12) of scenario files, made from
// the Go types and their tags, for editors. It checks keys, types, enums
// and ranges; the checks across keys (an event's keys per kind, times
// within the workload) are the validator's alone.
func Schema() ([]byte, error) {
	s := typeSchema(reflect.TypeFor[Scenario](), reflect.StructField{})
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "specbed scenario"
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("scenario schema: %w", err)
	}
	return append(out, '\n'), nil
}

// typeSchema is the schema of a Go type; field carries the tags that
// apply to its values.
func typeSchema(t reflect.Type, field reflect.StructField) map[string]any {
	switch {
	case t == durationType:
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
	case t.Kind() == reflect.Pointer:
		return typeSchema(t.Elem(), field)
	case t.Kind() == reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			props[yamlKey(f)] = typeSchema(f.Type, f)
			if f.Tag.Get("required") == "true" {
				required = append(required, yamlKey(f))
			}
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if required != nil {
			s["required"] = required
		}
		return s
	case t.Kind() == reflect.Slice:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem(), field)}
	case t.Kind() == reflect.String:
		s := map[string]any{"type": "string"}
		if name := field.Tag.Get("enum"); name != "" {
			s["enum"] = enumValues(name)
		}
		return s
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	}
	s := map[string]any{"type": "number"}
	if t.Kind() == reflect.Int || t.Kind() == reflect.Int64 {
		s["type"] = "integer"
	}
	lo, hi := fieldRange(field)
	if !math.IsInf(lo, -1) {
		s["minimum"] = lo
	}
	if !math.IsInf(hi, 1) {
		s["maximum"] = hi
	}
	return s
}
