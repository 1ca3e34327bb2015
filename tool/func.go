package tool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Func returns a tool that calls fn, a native Go function. Its schema is
// reflected from Args with invopop/jsonschema:
//
//   - property names follow the `json` tags, and a field without
//     omitempty is required;
//   - `jsonschema` tags add descriptions and constraints, for example
//     `jsonschema:"description=Customer id,minLength=1"`;
//   - every struct rejects properties it does not declare
//     ("additionalProperties": false);
//   - nested types are inlined, so the schema has no "$ref", except for
//     recursive types, which keep their definitions under "$defs";
//   - Args = struct{} yields {"type":"object","properties":{}}.
//
// Args must be a struct, a pointer to one, or a map with string keys.
// Call decodes the arguments into Args, rejecting unknown fields (the
// fieldless struct{} ignores them), and with numbers in `any` fields as
// [json.Number], so large integers keep their precision. The arguments
// "", null and whitespace mean {}. Call returns the value of fn encoded as
// JSON as the result's content, or, when Res is [Result], that result
// itself, so a tool can set IsError. An error from fn is returned as the
// call's error.
//
// Func returns an error wrapping [ErrInvalidName] for an invalid name and
// [ErrInvalidSchema] when Args does not reflect to an object schema that
// compiles.
func Func[Args, Res any](name, description string, fn func(ctx context.Context, args Args) (Res, error)) (Tool, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("%w: %q: use namespace:name with letters, digits, '_' and '-'", ErrInvalidName, name)
	}
	if strings.TrimSpace(description) == "" {
		return nil, fmt.Errorf("tool %q: description is empty: tell the model what the tool does and when to use it", name)
	}
	if fn == nil {
		return nil, fmt.Errorf("tool %q: function is nil", name)
	}
	argsType := reflect.TypeFor[Args]()
	schema, err := reflectSchema(argsType)
	if err != nil {
		return nil, fmt.Errorf("tool %q: %w", name, err)
	}
	if c := compiledSchema(schema); c.err != nil {
		return nil, fmt.Errorf("%w of tool %q: %v", ErrInvalidSchema, name, c.err)
	}
	return &funcTool[Args, Res]{
		name:        name,
		description: description,
		schema:      schema,
		ignoreExtra: bytes.Equal(schema, emptyObjectSchema),
		fn:          fn,
	}, nil
}

// MustFunc is like [Func] but panics on an error. It suits tools declared
// in package variables.
func MustFunc[Args, Res any](name, description string, fn func(ctx context.Context, args Args) (Res, error)) Tool {
	t, err := Func(name, description, fn)
	if err != nil {
		panic(err)
	}
	return t
}

// emptyObjectSchema is the schema of an argument type without fields, as
// reflectSchema encodes it.
var emptyObjectSchema = []byte(`{"properties":{},"type":"object"}`)

// funcTool is the [Tool] that [Func] returns.
type funcTool[Args, Res any] struct {
	name        string
	description string
	schema      json.RawMessage
	// ignoreExtra is true when Args has no fields, so unknown fields are
	// ignored instead of rejected.
	ignoreExtra bool
	fn          func(context.Context, Args) (Res, error)
}

func (f *funcTool[Args, Res]) Name() string            { return f.name }
func (f *funcTool[Args, Res]) Description() string     { return f.description }
func (f *funcTool[Args, Res]) Schema() json.RawMessage { return f.schema }

// Call decodes args into Args, calls the function and encodes its result.
func (f *funcTool[Args, Res]) Call(ctx context.Context, args json.RawMessage) (Result, error) {
	var a Args
	if err := f.decode(normalizeArgs(args), &a); err != nil {
		return Result{}, &ArgumentsError{Tool: f.name, Violations: []Violation{{Message: err.Error()}}}
	}
	res, err := f.fn(ctx, a)
	if err != nil {
		return Result{}, err
	}
	if r, ok := any(res).(Result); ok {
		return r, nil
	}
	content, err := json.Marshal(res)
	if err != nil {
		return Result{}, fmt.Errorf("tool %q: encode the result as JSON: %w", f.name, err)
	}
	return Result{Content: content}, nil
}

// decode reads exactly one JSON value from args into a.
func (f *funcTool[Args, Res]) decode(args json.RawMessage, a *Args) error {
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	if !f.ignoreExtra {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(a); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the arguments object")
	}
	return nil
}
