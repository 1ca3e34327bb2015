package tool

import (
	"fmt"
	"sort"
	"sync"
)

// Source supplies the tools of one namespace that can change while the
// server runs, such as those of an MCP server that connects after
// start-up or lists different tools after a reconnect. The registry calls
// Tools on every [Registry.List] and on every [Registry.Get] of a name in
// the source's namespace, unless the source is a [LookupSource], so Tools
// should return from memory. Implementations must be safe for concurrent
// use.
type Source interface {
	// Tools returns the tools available now. Tools whose name is not in
	// the source's namespace are ignored.
	Tools() []Tool
}

// LookupSource is a [Source] that finds one tool without listing all of
// them. [Registry.Get] uses Lookup when a source implements it.
type LookupSource interface {
	Source
	// Lookup returns the tool named name ("namespace:name"), if the
	// source has it now.
	Lookup(name string) (Tool, bool)
}

// SourceFunc adapts a function to [Source].
type SourceFunc func() []Tool

// Tools calls f.
func (f SourceFunc) Tools() []Tool { return f() }

// Registry holds tools by name: static tools added with [Registry.Add],
// and the tools of each namespace added with [Registry.AddSource]. A
// namespace belongs either to static tools or to one source. The zero
// value is an empty registry. A Registry is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	tools map[string]Tool
	// staticNamespaces counts the static tools of each namespace.
	staticNamespaces map[string]int
	sources          map[string]Source
}

// NewRegistry returns a registry holding tools.
func NewRegistry(tools ...Tool) (*Registry, error) {
	r := &Registry{}
	for _, t := range tools {
		if err := r.Add(t); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers t. The built-in namespace is reserved for agentry, and a
// namespace added with [Registry.AddSource] takes no static tools.
func (r *Registry) Add(t Tool) error {
	name := t.Name()
	if !ValidName(name) {
		return fmt.Errorf("%w: %q: use namespace:name with letters, digits, '_' and '-'", ErrInvalidName, name)
	}
	ns := Namespace(name)
	if ns == BuiltinNamespace {
		return fmt.Errorf("%w: %q: the namespace %q is reserved", ErrInvalidName, name, BuiltinNamespace)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tools[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	if _, ok := r.sources[ns]; ok {
		return fmt.Errorf("%w: %q: the namespace %q belongs to a tool source, such as an MCP server; choose another namespace", ErrDuplicate, name, ns)
	}
	if r.tools == nil {
		r.tools = make(map[string]Tool)
		r.staticNamespaces = make(map[string]int)
	}
	r.tools[name] = t
	r.staticNamespaces[ns]++
	return nil
}

// AddSource registers s as the supplier of every tool in namespace ns.
// The namespace must be valid, not [BuiltinNamespace], and used neither
// by a static tool nor by another source.
func (r *Registry) AddSource(ns string, s Source) error {
	if !namespacePattern.MatchString(ns) {
		return fmt.Errorf("%w: namespace %q: use 1 to 64 letters, digits, '_' and '-'", ErrInvalidName, ns)
	}
	if ns == BuiltinNamespace {
		return fmt.Errorf("%w: namespace %q is reserved", ErrInvalidName, ns)
	}
	if s == nil {
		return fmt.Errorf("tool: source for namespace %q is nil", ns)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.staticNamespaces[ns] > 0 {
		return fmt.Errorf("%w: namespace %q already has tools added with Add; choose another namespace", ErrDuplicate, ns)
	}
	if _, ok := r.sources[ns]; ok {
		return fmt.Errorf("%w: namespace %q already has a source", ErrDuplicate, ns)
	}
	if r.sources == nil {
		r.sources = make(map[string]Source)
	}
	r.sources[ns] = s
	return nil
}

// HasSource reports whether a source supplies namespace ns, whose tools
// may appear later, for example once an MCP server connects.
func (r *Registry) HasSource(ns string) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.sources[ns]
	return ok
}

// Get returns the tool named name: a static tool, or the tool that the
// source of name's namespace supplies now.
func (r *Registry) Get(name string) (Tool, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.RLock()
	t, ok := r.tools[name]
	var s Source
	if !ok {
		s = r.sources[Namespace(name)]
	}
	r.mu.RUnlock()
	if ok || s == nil || !ValidName(name) {
		return t, ok
	}

	// The source is called outside the lock, so a slow source delays no
	// other lookup.
	if ls, isLookup := s.(LookupSource); isLookup {
		t, ok := ls.Lookup(name)
		if !ok || t == nil || t.Name() != name {
			return nil, false
		}
		return t, true
	}
	for _, t := range s.Tools() {
		if t != nil && t.Name() == name {
			return t, true
		}
	}
	return nil, false
}

// List returns every tool, sorted by name: the static tools and the tools
// each source supplies now. A source's tools outside its namespace, with
// an invalid name or with a name listed before are left out.
func (r *Registry) List() []Tool {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	out := make([]Tool, 0, len(r.tools))
	for _, t := range r.tools {
		out = append(out, t)
	}
	sources := make(map[string]Source, len(r.sources))
	for ns, s := range r.sources {
		sources[ns] = s
	}
	r.mu.RUnlock()

	seen := make(map[string]bool)
	for ns, s := range sources {
		for _, t := range s.Tools() {
			if t == nil {
				continue
			}
			name := t.Name()
			if !ValidName(name) || Namespace(name) != ns || seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
