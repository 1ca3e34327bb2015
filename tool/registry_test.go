package tool

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// mcpServer stands for an MCP client: its tools appear when it connects
// and change when it lists them again.
type mcpServer struct {
	mu    sync.Mutex
	tools []Tool
	calls atomic.Int64 // calls of Tools
}

func (s *mcpServer) Tools() []Tool {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Tool(nil), s.tools...)
}

func (s *mcpServer) set(tools ...Tool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tools = tools
}

// lookupServer is an mcpServer that also finds single tools.
type lookupServer struct {
	*mcpServer
	lookups atomic.Int64
}

func (s *lookupServer) Lookup(name string) (Tool, bool) {
	s.lookups.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tools {
		if t.Name() == name {
			return t, true
		}
	}
	return nil, false
}

func names(tools []Tool) string {
	out := make([]string, len(tools))
	for i, t := range tools {
		out[i] = t.Name()
	}
	return strings.Join(out, ",")
}

func TestRegistrySource(t *testing.T) {
	reg, err := NewRegistry(schemaTool{name: "native:ping"})
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	crm := &mcpServer{}
	if err := reg.AddSource("crm", crm); err != nil {
		t.Fatalf("AddSource: %v", err)
	}
	if _, ok := reg.Get("crm:lookup"); ok {
		t.Error("Get found crm:lookup before the server connected")
	}
	if got := names(reg.List()); got != "native:ping" {
		t.Errorf("List before connecting = %s, want native:ping", got)
	}

	crm.set(
		schemaTool{name: "crm:lookup"},
		schemaTool{name: "crm:create"},
		schemaTool{name: "other:stray"}, // outside the namespace
		schemaTool{name: "crm:bad name"},
		schemaTool{name: "crm:lookup"}, // listed twice
		nil,
	)
	if tl, ok := reg.Get("crm:lookup"); !ok || tl.Name() != "crm:lookup" {
		t.Errorf("Get(crm:lookup) = %v, %v after the server connected", tl, ok)
	}
	for _, name := range []string{"other:stray", "crm:bad name", "crm:missing"} {
		if _, ok := reg.Get(name); ok {
			t.Errorf("Get(%q) found a tool", name)
		}
	}
	if got, want := names(reg.List()), "crm:create,crm:lookup,native:ping"; got != want {
		t.Errorf("List = %s, want %s", got, want)
	}

	crm.set(schemaTool{name: "crm:create"})
	if _, ok := reg.Get("crm:lookup"); ok {
		t.Error("Get found crm:lookup after the server stopped listing it")
	}
}

func TestRegistryStaticFirst(t *testing.T) {
	crm := &mcpServer{}
	reg, _ := NewRegistry(schemaTool{name: "native:ping"})
	if err := reg.AddSource("crm", crm); err != nil {
		t.Fatalf("AddSource: %v", err)
	}
	if _, ok := reg.Get("native:ping"); !ok {
		t.Fatal("Get(native:ping) found nothing")
	}
	if _, ok := reg.Get("native:other"); ok {
		t.Fatal("Get(native:other) found a tool")
	}
	if n := crm.calls.Load(); n != 0 {
		t.Errorf("the crm source was listed %d times for lookups in another namespace", n)
	}
}

func TestRegistryLookupSource(t *testing.T) {
	crm := &lookupServer{mcpServer: &mcpServer{}}
	crm.set(schemaTool{name: "crm:lookup"})
	reg := &Registry{}
	if err := reg.AddSource("crm", crm); err != nil {
		t.Fatalf("AddSource: %v", err)
	}
	if _, ok := reg.Get("crm:lookup"); !ok {
		t.Fatal("Get(crm:lookup) found nothing")
	}
	if _, ok := reg.Get("crm:missing"); ok {
		t.Error("Get(crm:missing) found a tool")
	}
	if crm.lookups.Load() != 2 || crm.calls.Load() != 0 {
		t.Errorf("lookups %d, listings %d; want 2 lookups and no listing", crm.lookups.Load(), crm.calls.Load())
	}
}

func TestRegistryNamespaces(t *testing.T) {
	none := SourceFunc(func() []Tool { return nil })
	cases := []struct {
		name  string
		setup func(r *Registry) error
		want  error
	}{
		{"source over static", func(r *Registry) error {
			if err := r.Add(schemaTool{name: "crm:local"}); err != nil {
				return err
			}
			return r.AddSource("crm", none)
		}, ErrDuplicate},
		{"static over source", func(r *Registry) error {
			if err := r.AddSource("crm", none); err != nil {
				return err
			}
			return r.Add(schemaTool{name: "crm:local"})
		}, ErrDuplicate},
		{"two sources", func(r *Registry) error {
			if err := r.AddSource("crm", none); err != nil {
				return err
			}
			return r.AddSource("crm", none)
		}, ErrDuplicate},
		{"duplicate tool", func(r *Registry) error {
			if err := r.Add(schemaTool{name: "crm:a"}); err != nil {
				return err
			}
			return r.Add(schemaTool{name: "crm:a"})
		}, ErrDuplicate},
		{"built-in source", func(r *Registry) error { return r.AddSource(BuiltinNamespace, none) }, ErrInvalidName},
		{"built-in tool", func(r *Registry) error { return r.Add(schemaTool{name: "built-in:x"}) }, ErrInvalidName},
		{"namespace with colon", func(r *Registry) error { return r.AddSource("crm:x", none) }, ErrInvalidName},
		{"empty namespace", func(r *Registry) error { return r.AddSource("", none) }, ErrInvalidName},
		{"nil source", func(r *Registry) error { return r.AddSource("crm", nil) }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.setup(&Registry{})
			if err == nil {
				t.Fatal("no error")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
		})
	}
}

func TestRegistryNil(t *testing.T) {
	var reg *Registry
	if _, ok := reg.Get("crm:lookup"); ok {
		t.Error("Get on a nil registry found a tool")
	}
	if got := reg.List(); got != nil {
		t.Errorf("List on a nil registry = %v", got)
	}
}

func TestRegistryConcurrent(t *testing.T) {
	reg := &Registry{}
	crm := &mcpServer{}
	if err := reg.AddSource("crm", crm); err != nil {
		t.Fatalf("AddSource: %v", err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				switch i % 4 {
				case 0:
					crm.set(schemaTool{name: fmt.Sprintf("crm:t%d", j)})
				case 1:
					_ = reg.Add(schemaTool{name: fmt.Sprintf("n%d:t%d", i, j)})
				case 2:
					reg.Get(fmt.Sprintf("crm:t%d", j))
				default:
					reg.List()
				}
			}
		}()
	}
	wg.Wait()
	if got := len(reg.List()); got != 2*200+1 {
		t.Errorf("List has %d tools, want %d", got, 2*200+1)
	}
}
