package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	validator "github.com/santhosh-tekuri/jsonschema/v5"
)

// ErrJSONSchema marks a JSON Schema that [CompileJSONSchema] rejects.
var ErrJSONSchema = errors.New("invalid JSON Schema")

// draft2020 is the $schema URI of JSON Schema draft 2020-12.
const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// jsonSchemaURL names a compiled schema inside the validator. Its scheme
// keeps relative "$ref"s from resolving to local files.
const jsonSchemaURL = "mem:///schema.json"

// CompileJSONSchema compiles raw, a JSON object, as a JSON Schema of draft
// 2020-12, the way loading checks the routines' input_schema and
// output_schema and each think node's output_schema. A "$schema" other
// than draft 2020-12 is rejected, and so is every "$ref" outside raw,
// which is never fetched. The schema asserts "format" (an annotation only
// by default under draft 2020-12), so "format": "email" rejects a string
// that is not an email address. Errors match [ErrJSONSchema] and quote
// the compiler's message.
func CompileJSONSchema(raw json.RawMessage) (*validator.Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, fmt.Errorf("%w: must be a JSON object", ErrJSONSchema)
	}
	if s, ok := doc["$schema"]; ok && s != draft2020 && s != draft2020+"#" {
		return nil, fmt.Errorf("%w: $schema must be %s or absent", ErrJSONSchema, draft2020)
	}

	c := validator.NewCompiler()
	c.Draft = validator.Draft2020
	c.AssertFormat = true
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("$ref %s points outside the schema; put the definition under $defs", u)
	}
	if err := c.AddResource(jsonSchemaURL, bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrJSONSchema, compilerMessage(err))
	}
	s, err := c.Compile(jsonSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrJSONSchema, compilerMessage(err))
	}
	return s, nil
}

// compilerMessage rewords an error of the schema compiler into one line.
// A schema that breaks the draft's meta-schema yields each failed value's
// location inside the schema and the reason.
func compilerMessage(err error) string {
	var ve *validator.ValidationError
	if errors.As(err, &ve) {
		// A failed "type" yields one leaf per allowed form; the first one
		// of each location is enough.
		var parts []string
		seen := map[string]bool{}
		for _, leaf := range leafErrors(ve, nil) {
			loc := leaf.InstanceLocation
			if loc == "" {
				loc = "/"
			}
			if seen[loc] {
				continue
			}
			seen[loc] = true
			parts = append(parts, fmt.Sprintf("at %s: %s", loc, leaf.Message))
		}
		return strings.Join(parts, "; ")
	}
	var se *validator.SchemaError
	if errors.As(err, &se) && se.Err != nil {
		err = se.Err
	}
	msg := strings.TrimPrefix(err.Error(), "jsonschema: ")
	msg = strings.ReplaceAll(msg, jsonSchemaURL+"#", "#")
	return strings.ReplaceAll(msg, jsonSchemaURL, "the schema")
}
