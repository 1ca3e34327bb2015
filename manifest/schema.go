package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/invopop/jsonschema"
	validator "github.com/santhosh-tekuri/jsonschema/v5"
)

// schemaURL names the schema resource inside the validator; it is never
// fetched.
const schemaURL = "agentry-manifest.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of the manifest format as
// indented JSON. It is generated from the Go types: property names follow
// their `json` tags and every object rejects keys it does not declare.
// Editors can use it for completion; [Load] validates against it. The
// checks that need more than one value, files or the environment (see
// [Load]) are not part of the schema.
func Schema() []byte {
	return bytes.Clone(schemaJSON())
}

var schemaJSON = sync.OnceValue(func() []byte {
	r := &jsonschema.Reflector{
		Anonymous:      true,
		ExpandedStruct: true,
	}
	s := r.Reflect(&Manifest{})
	s.Title = "agentry agent manifest"
	s.Description = "One agent's configuration. Strings may use ${VAR} and ${VAR:-default}."
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("manifest: marshal generated schema: %v", err))
	}
	return b
})

// schemaTree is the generated schema decoded into generic JSON values, used
// to find the sub-schema behind a validation error or a YAML path.
var schemaTree = sync.OnceValue(func() map[string]any {
	var tree map[string]any
	if err := json.Unmarshal(schemaJSON(), &tree); err != nil {
		panic(fmt.Sprintf("manifest: decode generated schema: %v", err))
	}
	return tree
})

// compiledSchema is the validator for the generated schema, compiled once.
var compiledSchema = sync.OnceValue(func() *validator.Schema {
	c := validator.NewCompiler()
	c.Draft = validator.Draft2020
	if err := c.AddResource(schemaURL, bytes.NewReader(schemaJSON())); err != nil {
		panic(fmt.Sprintf("manifest: add generated schema: %v", err))
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		panic(fmt.Sprintf("manifest: compile generated schema: %v", err))
	}
	return s
})

// resolveSchema follows a local "$ref" of sch, then returns the sub-schema
// under key (such as "items"), itself resolved; nil when there is none.
func resolveSchema(sch map[string]any, key string) map[string]any {
	sch = deref(sch)
	if sch == nil {
		return nil
	}
	sub, _ := sch[key].(map[string]any)
	return deref(sub)
}

// propertySchema returns the schema of property name of an object schema:
// a declared property, or the additionalProperties schema of a map.
func propertySchema(sch map[string]any, name string) map[string]any {
	sch = deref(sch)
	if sch == nil {
		return nil
	}
	if props, ok := sch["properties"].(map[string]any); ok {
		if p, ok := props[name].(map[string]any); ok {
			return deref(p)
		}
	}
	return resolveSchema(sch, "additionalProperties")
}

// deref follows "$ref": "#/..." pointers into the generated schema.
func deref(sch map[string]any) map[string]any {
	for range 8 {
		ref, ok := sch["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#") {
			return sch
		}
		sch = schemaAt(strings.TrimPrefix(ref, "#"))
	}
	return sch
}

// schemaAt returns the sub-schema of the generated schema at a JSON
// pointer, or nil.
func schemaAt(ptr string) map[string]any {
	var v any = schemaTree()
	if ptr != "" {
		for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
			tok = unescapePointer(tok)
			switch c := v.(type) {
			case map[string]any:
				v = c[tok]
			case []any:
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(c) {
					return nil
				}
				v = c[i]
			default:
				return nil
			}
		}
	}
	m, _ := v.(map[string]any)
	return m
}

// schemaType returns the single "type" of sch, or "".
func schemaType(sch map[string]any) string {
	t, _ := sch["type"].(string)
	return t
}
