package tool

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
)

// BuiltinNamespace is reserved for the tools agentry itself provides,
// such as built-in:emit_output.
const BuiltinNamespace = "built-in"

// Sentinel errors.
var (
	// ErrNotFound: no tool has the name.
	ErrNotFound = errors.New("tool: not found")
	// ErrInvalidName: a name is not "namespace:name" in the allowed
	// alphabet.
	ErrInvalidName = errors.New("tool: invalid name")
	// ErrDuplicate: a tool with the same name, or a source with the same
	// namespace, is already registered.
	ErrDuplicate = errors.New("tool: duplicate name")
	// ErrInvalidArguments: the arguments of a call are not a JSON object
	// that matches the tool's schema. [ArgumentsError] wraps it.
	ErrInvalidArguments = errors.New("tool: invalid arguments")
	// ErrInvalidSchema: a tool's argument schema does not compile, or a
	// native tool's argument type does not reflect to an object schema.
	ErrInvalidSchema = errors.New("tool: invalid schema")
)

// Tool is a function the model can call. Implementations must be safe for
// concurrent use: several calls may run at once.
type Tool interface {
	// Name is "namespace:name", for example "crm:lookup".
	Name() string
	// Description tells the model what the tool does and when to use it.
	Description() string
	// Schema is the JSON Schema of the arguments object. Callers must not
	// modify the returned bytes.
	Schema() json.RawMessage
	// Call runs the tool with arguments that already validate against
	// Schema (see [ValidateArgs]). An error means the call failed; the
	// model is told so and the turn or run goes on.
	Call(ctx context.Context, args json.RawMessage) (Result, error)
}

// Result is what a tool returns to the model.
type Result struct {
	// Content is any JSON value.
	Content json.RawMessage
	// IsError marks a result that reports a failure in the tool's own
	// terms, which the model sees as such.
	IsError bool
}

// namePattern is the alphabet of a tool name's two parts.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}:[A-Za-z0-9_.-]{1,64}$`)

// namespacePattern is the alphabet of the part before the colon.
var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidName reports whether name is "namespace:name" in the allowed
// alphabet.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// Namespace returns the part of name before the colon.
func Namespace(name string) string {
	ns, _, _ := strings.Cut(name, ":")
	return ns
}
