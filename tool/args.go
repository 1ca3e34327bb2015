package tool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Violation is one way in which a call's arguments fail to match the
// tool's schema.
type Violation struct {
	// Path is a JSON pointer (RFC 6901) to the failing value inside the
	// arguments, such as "/customer/id"; "" is the arguments object.
	Path string
	// Message describes the problem, such as "expected integer, but got
	// string".
	Message string
}

// String returns the violation as "path: message", with "/" for the
// arguments object.
func (v Violation) String() string {
	path := v.Path
	if path == "" {
		path = "/"
	}
	return path + ": " + v.Message
}

// ArgumentsError reports the arguments of a call that do not match the
// tool's schema. It matches [ErrInvalidArguments] with [errors.Is]. Its
// message lists every violation and requests a corrected call, so it can
// be shown to the model as it is.
type ArgumentsError struct {
	// Tool is the tool's name.
	Tool string
	// Violations lists what is wrong, at least one entry.
	Violations []Violation
}

func (e *ArgumentsError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return fmt.Sprintf("invalid arguments for tool %s: %s; call it again with arguments that match its schema",
		e.Tool, strings.Join(parts, "; "))
}

// Unwrap returns [ErrInvalidArguments].
func (e *ArgumentsError) Unwrap() error { return ErrInvalidArguments }

// emptyObject is the arguments of a call without arguments.
var emptyObject = json.RawMessage(`{}`)

// normalizeArgs returns {} for arguments that are empty, only whitespace,
// the JSON literal null or a JSON string of only whitespace, and args
// otherwise. Models send those forms for tools without parameters.
func normalizeArgs(args json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return emptyObject
	}
	if trimmed[0] == '"' {
		var s string
		if json.Unmarshal(trimmed, &s) == nil && strings.TrimSpace(s) == "" {
			return emptyObject
		}
	}
	return args
}

// ValidateArgs normalizes the arguments of a call of t and checks them
// against t's schema. Arguments that are empty, only whitespace, null or a
// JSON string of only whitespace such as "" become {}; other arguments are
// returned unchanged. The returned arguments are what the call should
// receive and what a transcript should store, also when there are
// violations.
//
// The arguments must be one JSON object. A schema that is empty or null
// accepts every object. Each schema is compiled once and cached, as JSON
// Schema draft 2020-12 unless its "$schema" names another draft. A "$ref"
// outside the schema is never loaded. When the schema does not compile,
// ValidateArgs returns no violations so the call goes ahead, and
// [SchemaError] returns the reason, for the caller to log once.
func ValidateArgs(t Tool, args json.RawMessage) (json.RawMessage, []Violation) {
	args = normalizeArgs(args)
	doc, v := decodeArgs(args)
	if v != nil {
		return args, []Violation{*v}
	}
	c := compiledSchema(t.Schema())
	if c.schema == nil {
		return args, nil
	}
	return args, validate(c.schema, doc)
}

// decodeArgs decodes args, which must be one JSON object, with numbers as
// [json.Number] as the validator expects.
func decodeArgs(args json.RawMessage) (any, *Violation) {
	if !json.Valid(args) {
		var v any
		err := json.Unmarshal(args, &v)
		msg := "invalid JSON"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, &Violation{Message: msg + "; send the arguments as one JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &Violation{Message: "invalid JSON: " + err.Error()}
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, &Violation{Message: fmt.Sprintf("must be a JSON object, not %s", jsonKind(doc))}
	}
	return doc, nil
}

// jsonKind names the JSON type of a decoded value for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// sortViolations orders violations by path, then message, and drops
// repeats.
func sortViolations(list []Violation) []Violation {
	slices.SortFunc(list, func(a, b Violation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(list)
}
