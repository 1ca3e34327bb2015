package tool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	validator "github.com/santhosh-tekuri/jsonschema/v5"
)

// schemaURL names an argument schema inside the validator. Its scheme
// keeps relative references from resolving to local files.
const schemaURL = "mem:///arguments.schema.json"

// maxCachedSchemas bounds the schema cache. When it is full, the cache is
// emptied, so servers that change their schemas often cannot grow it
// without bound.
const maxCachedSchemas = 1024

// compiled is the outcome of compiling one schema: a validator, an error,
// or neither for an empty schema, which accepts every object.
type compiled struct {
	schema *validator.Schema
	err    error
}

// schemaCache holds the compiled schemas by their text, so each tool's
// schema compiles once, also when an MCP server lists the same tool again
// after a reconnect.
var schemaCache struct {
	mu sync.RWMutex
	m  map[string]compiled
}

// SchemaError returns why t's schema does not compile, or nil. It wraps
// [ErrInvalidSchema]. [ValidateArgs] lets every call of such a tool go
// ahead unchecked, so callers log this error when they register the tool.
func SchemaError(t Tool) error {
	c := compiledSchema(t.Schema())
	if c.err == nil {
		return nil
	}
	return fmt.Errorf("%w of tool %s: %v; its calls go ahead without argument validation", ErrInvalidSchema, t.Name(), c.err)
}

// compiledSchema returns raw compiled, from the cache when it is there.
func compiledSchema(raw json.RawMessage) compiled {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return compiled{}
	}
	schemaCache.mu.RLock()
	c, ok := schemaCache.m[string(raw)]
	schemaCache.mu.RUnlock()
	if ok {
		return c
	}

	c = compileSchema(raw)
	schemaCache.mu.Lock()
	if schemaCache.m == nil || len(schemaCache.m) >= maxCachedSchemas {
		schemaCache.m = make(map[string]compiled)
	}
	schemaCache.m[string(raw)] = c
	schemaCache.mu.Unlock()
	return c
}

// compileSchema compiles raw as JSON Schema draft 2020-12, or as the
// draft its "$schema" names. References outside raw are rejected and
// never loaded, so a schema from an MCP server cannot make the server
// read files or reach the network.
func compileSchema(raw json.RawMessage) (c compiled) {
	defer func() {
		if r := recover(); r != nil {
			c = compiled{err: fmt.Errorf("the schema compiler failed: %v", r)}
		}
	}()
	if !json.Valid(raw) {
		return compiled{err: errors.New("not valid JSON")}
	}
	comp := validator.NewCompiler()
	comp.Draft = validator.Draft2020
	comp.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("$ref %s points outside the schema, which is never loaded", u)
	}
	if err := comp.AddResource(schemaURL, bytes.NewReader(raw)); err != nil {
		return compiled{err: errors.New(compilerMessage(err))}
	}
	s, err := comp.Compile(schemaURL)
	if err != nil {
		return compiled{err: errors.New(compilerMessage(err))}
	}
	return compiled{schema: s}
}

// compilerMessage returns the compiler's error as one line without the
// internal resource name.
func compilerMessage(err error) string {
	var ve *validator.ValidationError
	if errors.As(err, &ve) {
		var parts []string
		for _, leaf := range leafErrors(ve, nil) {
			loc := leaf.InstanceLocation
			if loc == "" {
				loc = "/"
			}
			parts = append(parts, "at "+loc+": "+leaf.Message)
		}
		return "does not match its meta-schema: " + strings.Join(parts, "; ")
	}
	var se *validator.SchemaError
	if errors.As(err, &se) && se.Err != nil {
		err = se.Err
	}
	msg := strings.TrimPrefix(err.Error(), "jsonschema: ")
	msg = strings.ReplaceAll(msg, schemaURL+"#", "#")
	return strings.ReplaceAll(msg, schemaURL, "the schema")
}

// validate checks doc against s and returns the violations, one per
// failing value and reason.
func validate(s *validator.Schema, doc any) (out []Violation) {
	defer func() {
		if r := recover(); r != nil {
			out = nil // a fault of the validator, not of the arguments
		}
	}()
	err := s.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *validator.ValidationError
	if !errors.As(err, &ve) {
		// A schema that loops forever on this value fails in the schema,
		// not in the arguments, so the call goes ahead.
		return nil
	}
	for _, leaf := range leafErrors(ve, nil) {
		out = append(out, Violation{Path: leaf.InstanceLocation, Message: leaf.Message})
	}
	return sortViolations(out)
}

// leafErrors appends the errors of ve that have no causes.
func leafErrors(ve *validator.ValidationError, out []*validator.ValidationError) []*validator.ValidationError {
	if len(ve.Causes) == 0 {
		return append(out, ve)
	}
	for _, c := range ve.Causes {
		out = leafErrors(c, out)
	}
	return out
}
