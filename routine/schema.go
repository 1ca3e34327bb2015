package routine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/agentry/agentry/internal/jsonreply"
	"github.com/agentry/agentry/internal/strictjson"
)

// Violation is one way a JSON value fails its schema.
type Violation struct {
	// Path is the JSON pointer (RFC 6901) of the offending value, for
	// example "/applicant/id"; "" is the whole value. A missing required
	// property and a property that is not allowed are reported at the
	// property's own path.
	Path string `json:"path"`
	// Message describes the problem in plain words.
	Message string `json:"message"`
}

// schema is a compiled JSON Schema and the document it came from.
type schema struct {
	raw      json.RawMessage
	compiled *jsonschema.Schema
}

// compileSchema compiles raw under draft 2020-12 (unless raw names
// another draft in $schema) with format assertion on: a value whose
// "format" is a known one (email, date-time, uuid, ...) and does not
// match fails. References to other documents are rejected, so a schema
// never reads files or the network. name identifies the schema in
// errors, for example "routines/kyc/input_schema".
func compileSchema(name string, raw json.RawMessage) (*schema, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrInvalidSchema, name)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	c.LoadURL = func(ref string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("reference to %q is not allowed: put the schema under $defs and refer to it as #/$defs/NAME", ref)
	}
	location := "mem:///" + url.PathEscape(name) + ".json"
	if err := c.AddResource(location, bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("%w: %s is not valid JSON: %w", ErrInvalidSchema, name, err)
	}
	compiled, err := c.Compile(location)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidSchema, name, err)
	}
	return &schema{raw: raw, compiled: compiled}, nil
}

// decodeJSON decodes exactly one JSON value; see [jsonreply.Decode]: it
// keeps every digit of numbers and rejects a key written twice.
func decodeJSON(raw []byte) (any, error) {
	return jsonreply.Decode(raw)
}

// validate decodes raw and checks it, returning every violation, or nil
// when raw is valid. Each key written twice in one object is a violation
// at the key's pointer, listed with the schema's violations of the value
// that keeps the last occurrence.
func (s *schema) validate(raw []byte) []Violation {
	dups, err := strictjson.Scan(raw)
	if err == nil && len(dups) > 0 {
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return []Violation{{Path: "", Message: "is not valid JSON: " + err.Error()}}
		}
		out := s.validateValue(v)
		for _, p := range dups {
			out = append(out, Violation{Path: p, Message: "duplicate key"})
		}
		return sortViolations(out)
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return []Violation{{Path: "", Message: "is not valid JSON: " + err.Error()}}
	}
	return s.validateValue(v)
}

// validateValue checks a value decoded by decodeJSON and returns its
// violations sorted by path.
func (s *schema) validateValue(v any) []Violation {
	err := s.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Violation{{Path: "", Message: "cannot be validated: " + err.Error()}}
	}
	var out []Violation
	for _, leaf := range leaves(ve, nil) {
		for _, v := range describe(leaf) {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	// The library visits properties in map order; sorting makes the list
	// the same on every call.
	return sortViolations(out)
}

// sortViolations sorts vs by path, then message, and drops repeats.
func sortViolations(vs []Violation) []Violation {
	slices.SortFunc(vs, func(a, b Violation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(vs)
}

// leaves returns the errors under ve that have no causes: each names one
// failed keyword.
func leaves(ve *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return append(out, ve)
	}
	for _, c := range ve.Causes {
		out = leaves(c, out)
	}
	return out
}

// typeWords are the plain names of JSON types.
var typeWords = map[string]string{
	"object":  "an object",
	"array":   "an array",
	"string":  "a string",
	"number":  "a number",
	"integer": "an integer",
	"boolean": "a boolean",
	"null":    "null",
}

// describe turns one leaf error of jsonschema v5.3.1 into violations with
// plain messages. It reads the failed keyword from the end of the keyword
// location and, where the library's message lists property names, the
// names from the message.
func describe(e *jsonschema.ValidationError) []Violation {
	keyword := e.KeywordLocation
	if i := strings.LastIndexByte(keyword, '/'); i >= 0 {
		keyword = keyword[i+1:]
	}
	at := func(msg string) []Violation { return []Violation{{Path: e.InstanceLocation, Message: msg}} }
	switch keyword {
	case "type":
		// "expected object, but got string"
		want, got, ok := strings.Cut(strings.TrimPrefix(e.Message, "expected "), ", but got ")
		if !ok {
			break
		}
		var words []string
		for _, t := range strings.Split(want, " or ") {
			words = append(words, typeWords[t])
		}
		return at(fmt.Sprintf("must be %s, not %s", strings.Join(words, " or "), typeWords[got]))
	case "required":
		// "missing properties: 'a', 'b'"
		names, ok := quotedNames(strings.TrimPrefix(e.Message, "missing properties: "))
		if !ok {
			break
		}
		var out []Violation
		for _, n := range names {
			out = append(out, Violation{Path: childPath(e.InstanceLocation, n), Message: "is required"})
		}
		return out
	case "additionalProperties":
		// "additionalProperties 'x', 'y' not allowed"; a schema-valued
		// additionalProperties reports through its own keywords instead.
		list, ok := strings.CutPrefix(e.Message, "additionalProperties ")
		if !ok {
			break
		}
		names, ok := quotedNames(strings.TrimSuffix(list, " not allowed"))
		if !ok {
			break
		}
		var out []Violation
		for _, n := range names {
			out = append(out, Violation{Path: childPath(e.InstanceLocation, n), Message: "is not allowed: the schema defines no such property"})
		}
		return out
	case "unevaluatedProperties":
		if e.Message == "not allowed" {
			return at("is not allowed: the schema defines no such property")
		}
	case "format":
		// "'abc' is not valid 'email'"
		if i := strings.LastIndex(e.Message, " is not valid "); i >= 0 {
			if names, ok := quotedNames(e.Message[i+len(" is not valid "):]); ok && len(names) == 1 {
				return at(fmt.Sprintf("must be a valid %s", names[0]))
			}
		}
	case "pattern":
		return at(strings.Replace(e.Message, "does not match", "must match", 1))
	case "enum", "const":
		return at(strings.TrimPrefix(e.Message, "value "))
	}
	if e.Message == "" {
		return at("is invalid")
	}
	return at(e.Message)
}

// childPath returns the JSON pointer of property name under parent.
func childPath(parent, name string) string {
	name = strings.ReplaceAll(name, "~", "~0")
	name = strings.ReplaceAll(name, "/", "~1")
	return parent + "/" + name
}

// quotedNames parses a comma-separated list of names quoted the way
// jsonschema v5 quotes them: Go %q syntax between single quotes, with \"
// written as " and ' written as \'. It returns the names sorted.
func quotedNames(list string) ([]string, bool) {
	var names []string
	for list != "" {
		if list[0] != '\'' {
			return nil, false
		}
		end := -1
		for i := 1; i < len(list); i++ {
			if list[i] == '\\' {
				i++
				continue
			}
			if list[i] == '\'' {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, false
		}
		body := strings.ReplaceAll(list[1:end], `\'`, `'`)
		body = strings.ReplaceAll(body, `"`, `\"`)
		name, err := strconv.Unquote(`"` + body + `"`)
		if err != nil {
			return nil, false
		}
		names = append(names, name)
		list = strings.TrimPrefix(list[end+1:], ", ")
	}
	slices.Sort(names)
	return names, len(names) > 0
}
