package tool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
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
	// ErrDuplicate: a tool with the same name is already registered.
	ErrDuplicate = errors.New("tool: duplicate name")
)

// Tool is a function the model can call. Implementations must be safe for
// concurrent use: several calls may run at once.
type Tool interface {
	// Name is "namespace:name", for example "crm:lookup".
	Name() string
	// Description tells the model what the tool does and when to use it.
	Description() string
	// Schema is the JSON Schema of the arguments object.
	Schema() json.RawMessage
	// Call runs the tool with arguments that already validate against
	// Schema. An error means the call failed; the model is told so and
	// the turn or run goes on.
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

// ValidName reports whether name is "namespace:name" in the allowed
// alphabet.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// Namespace returns the part of name before the colon.
func Namespace(name string) string {
	ns, _, _ := strings.Cut(name, ":")
	return ns
}

// Registry holds tools by name. It is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	tools map[string]Tool
}

// NewRegistry returns a registry holding tools.
func NewRegistry(tools ...Tool) (*Registry, error) {
	r := &Registry{tools: make(map[string]Tool)}
	for _, t := range tools {
		if err := r.Add(t); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers t. The built-in namespace is reserved for agentry.
func (r *Registry) Add(t Tool) error {
	name := t.Name()
	if !ValidName(name) {
		return fmt.Errorf("%w: %q: use namespace:name with letters, digits, '_' and '-'", ErrInvalidName, name)
	}
	if Namespace(name) == BuiltinNamespace {
		return fmt.Errorf("%w: %q: the namespace %q is reserved", ErrInvalidName, name, BuiltinNamespace)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tools[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	r.tools[name] = t
	return nil
}

// Get returns the tool named name.
func (r *Registry) Get(name string) (Tool, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.tools[name]
	return t, ok
}

// List returns every tool, sorted by name.
func (r *Registry) List() []Tool {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Tool, 0, len(r.tools))
	for _, t := range r.tools {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
