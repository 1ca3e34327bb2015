package tool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
)

// errRecursive reports a type that refers to itself, whose definitions
// cannot be inlined.
var errRecursive = errors.New("recursive type")

// defsPrefix starts every reference that invopop/jsonschema writes.
const defsPrefix = "#/$defs/"

// reflectSchema returns the JSON Schema of the arguments type t, an object
// schema. Field names follow the `json` tags, a field without omitempty is
// required, `jsonschema` tags add descriptions and constraints, and every
// struct rejects properties it does not declare. Definitions are inlined,
// so the schema has no "$ref", except for recursive types, which keep
// "$defs" at the root. A struct without fields yields
// {"type":"object","properties":{}}.
func reflectSchema(t reflect.Type) (json.RawMessage, error) {
	r := &jsonschema.Reflector{Anonymous: true}
	data, err := json.Marshal(r.ReflectFromType(t))
	if err != nil {
		return nil, fmt.Errorf("encode the schema of %s: %w", t, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode the schema of %s: %w", t, err)
	}
	defs, _ := doc["$defs"].(map[string]any)
	delete(doc, "$defs")
	delete(doc, "$schema")

	root, err := inlineSchema(doc, defs, map[string]bool{})
	if errors.Is(err, errRecursive) {
		root, err = expandRoot(doc, defs)
	}
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", t, err)
	}
	obj, ok := root.(map[string]any)
	if !ok || obj["type"] != "object" {
		return nil, fmt.Errorf("%w: the arguments type %s must be a struct or a map with string keys, so that its schema is an object", ErrInvalidSchema, t)
	}
	props, hasProps := obj["properties"].(map[string]any)
	switch {
	case !hasProps:
		// Some providers reject an object schema without properties.
		obj["properties"] = map[string]any{}
	case len(props) == 0 && obj["additionalProperties"] == false:
		obj = map[string]any{"type": "object", "properties": map[string]any{}}
	}
	return json.Marshal(obj)
}

// expandRoot returns the definition that the root reference of doc names,
// with every definition kept under "$defs" for the references inside.
func expandRoot(doc, defs map[string]any) (any, error) {
	ref, _ := doc["$ref"].(string)
	name, ok := strings.CutPrefix(ref, defsPrefix)
	def, found := defs[name].(map[string]any)
	if !ok || !found {
		return nil, fmt.Errorf("%w: recursive schema without a root definition", ErrInvalidSchema)
	}
	out := make(map[string]any, len(def)+1)
	for k, v := range def {
		out[k] = v
	}
	out["$defs"] = defs
	return out, nil
}

// Keywords whose values are schemas, a map of schemas or a list of
// schemas (JSON Schema draft 2020-12, the keywords invopop/jsonschema
// writes).
var (
	schemaKeywords     = []string{"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"}
	schemaMapKeywords  = []string{"properties", "patternProperties", "dependentSchemas"}
	schemaListKeywords = []string{"allOf", "anyOf", "oneOf", "prefixItems"}
)

// inlineSchema returns a copy of the schema v with each "#/$defs/NAME"
// reference replaced by the definition, itself inlined. Keywords written
// beside a reference, such as a field's description, win over the
// definition's. The schema true becomes {}, which means the same and
// which every provider accepts. active holds the definitions being
// inlined; meeting one again returns errRecursive.
func inlineSchema(v any, defs map[string]any, active map[string]bool) (any, error) {
	if b, ok := v.(bool); ok && b {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return v, nil
	}

	out := make(map[string]any, len(m))
	if ref, isRef := m["$ref"].(string); isRef {
		name, local := strings.CutPrefix(ref, defsPrefix)
		def, found := defs[name]
		if !local || !found {
			return nil, fmt.Errorf("%w: reference %q names no definition", ErrInvalidSchema, ref)
		}
		if active[name] {
			return nil, errRecursive
		}
		active[name] = true
		resolved, err := inlineSchema(def, defs, active)
		delete(active, name)
		if err != nil {
			return nil, err
		}
		if rm, ok := resolved.(map[string]any); ok {
			for k, val := range rm {
				out[k] = val
			}
		}
	}

	for k, val := range m {
		if k == "$ref" {
			continue
		}
		var err error
		switch {
		case slices.Contains(schemaKeywords, k):
			val, err = inlineSchema(val, defs, active)
		case slices.Contains(schemaMapKeywords, k):
			val, err = inlineSchemaMap(val, defs, active)
		case slices.Contains(schemaListKeywords, k):
			val, err = inlineSchemaList(val, defs, active)
		}
		if err != nil {
			return nil, err
		}
		out[k] = val
	}
	return out, nil
}

func inlineSchemaMap(v any, defs map[string]any, active map[string]bool) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return v, nil
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		s, err := inlineSchema(val, defs, active)
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	return out, nil
}

func inlineSchemaList(v any, defs map[string]any, active map[string]bool) (any, error) {
	list, ok := v.([]any)
	if !ok {
		return v, nil
	}
	out := make([]any, len(list))
	for i, val := range list {
		s, err := inlineSchema(val, defs, active)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}
