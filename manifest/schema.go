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
// Editors can use it for completion; [Load] validates against it after
// replacing each routine file path with the file's routine, so an entry
// of context.routines is a string here and a routine object there. The
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

// JSONSchemaExtend lets each context.routines and context.policies entry
// of the generated schema be the path of a file as well as the value.
func (Context) JSONSchemaExtend(s *jsonschema.Schema) {
	for key, what := range map[string]string{"routines": "routine", "policies": "policy"} {
		p, ok := s.Properties.Get(key)
		if !ok || p.Items == nil {
			continue
		}
		p.Items = &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			{Type: "string", Description: "path of a YAML file that holds one " + what + ", relative to the manifest"},
			p.Items,
		}}
	}
}

// schemaTree is the schema that [Load] validates against, decoded into
// generic JSON values, used to find the sub-schema behind a validation
// error or a YAML path. It narrows the routine and policy entries of the
// generated schema to objects, because their files are read before
// validation. A string left in a list is a file that failed to load.
var schemaTree = sync.OnceValue(func() map[string]any {
	var tree map[string]any
	if err := json.Unmarshal(schemaJSON(), &tree); err != nil {
		panic(fmt.Sprintf("manifest: decode generated schema: %v", err))
	}
	for key, def := range map[string]string{"routines": "Routine", "policies": "Policy"} {
		list, _ := schemaAtIn(tree, "/$defs/Context/properties/"+key).(map[string]any)
		if list == nil {
			panic("manifest: generated schema has no context." + key)
		}
		list["items"] = map[string]any{"$ref": "#/$defs/" + def}
	}
	return tree
})

// compiledSchema is the validator for [schemaTree], compiled once.
var compiledSchema = sync.OnceValue(func() *validator.Schema {
	data, err := json.Marshal(schemaTree())
	if err != nil {
		panic(fmt.Sprintf("manifest: encode schema: %v", err))
	}
	c := validator.NewCompiler()
	c.Draft = validator.Draft2020
	if err := c.AddResource(schemaURL, bytes.NewReader(data)); err != nil {
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

// schemaAt returns the sub-schema of [schemaTree] at a JSON pointer, or
// nil.
func schemaAt(ptr string) map[string]any {
	m, _ := schemaAtIn(schemaTree(), ptr).(map[string]any)
	return m
}

// schemaAtIn returns the value at a JSON pointer inside doc, or nil.
func schemaAtIn(doc map[string]any, ptr string) any {
	var v any = doc
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
	return v
}

// schemaType returns the single "type" of sch, or "".
func schemaType(sch map[string]any) string {
	t, _ := sch["type"].(string)
	return t
}
