package mcp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

// Manager connects to the configured MCP servers and keeps them
// connected. A Manager is safe for concurrent use.
type Manager struct {
	// ctx lives until Close; connections and background loops use it.
	ctx     context.Context
	cancel  context.CancelFunc
	servers []*Server // in configuration order
	byID    map[string]*Server

	loops     sync.WaitGroup // one run loop per server
	closeOnce sync.Once

	// closeMu orders closeInBackground before Close's wait for closers.
	closeMu sync.Mutex
	closing bool
	closers sync.WaitGroup // connections being closed in the background
}

// NewManager validates servers and connects to all of them in parallel.
// It returns when every server's first connection attempt has finished
// (each bounded by Options.ConnectTimeout) or when ctx ends, whichever
// comes first. A server that is down is not an error: its status is
// degraded, it has no tools, and a background loop retries it with
// backoff. Its tools appear in Server.Tools, and so in a tool.Registry
// that the Manager is registered with, as soon as it connects. The error
// wraps ErrInvalidConfig when an entry is invalid.
func NewManager(ctx context.Context, servers []manifest.MCP, opts Options) (*Manager, error) {
	if err := Validate(servers); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m := &Manager{ctx: mctx, cancel: cancel, byID: make(map[string]*Server, len(servers))}
	for _, cfg := range servers {
		s := newServer(m, cfg, opts)
		m.servers = append(m.servers, s)
		m.byID[s.id] = s
	}
	for _, s := range m.servers {
		m.loops.Add(1)
		go s.run()
	}
	for _, s := range m.servers {
		select {
		case <-s.started:
		case <-ctx.Done():
			return m, nil
		}
	}
	return m, nil
}

// Register adds every server to r as the source of its id's namespace.
func (m *Manager) Register(r *tool.Registry) error {
	for _, s := range m.servers {
		if err := r.AddSource(s.id, s); err != nil {
			return fmt.Errorf("register the tools of mcp server %q: %w", s.id, err)
		}
	}
	return nil
}

// Servers returns the servers in configuration order.
func (m *Manager) Servers() []*Server { return slices.Clone(m.servers) }

// Server returns the server with the id.
func (m *Manager) Server(id string) (*Server, bool) {
	s, ok := m.byID[id]
	return s, ok
}

// Tools returns the tools of every server, sorted by name.
func (m *Manager) Tools() []tool.Tool {
	var out []tool.Tool
	for _, s := range m.servers {
		out = append(out, s.Tools()...)
	}
	slices.SortFunc(out, func(a, b tool.Tool) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// Status returns each server's status by id: StatusOK, or "degraded: "
// and the reason, for a readiness report.
func (m *Manager) Status() map[string]string {
	out := make(map[string]string, len(m.servers))
	for _, s := range m.servers {
		out[s.id] = s.Status()
	}
	return out
}

// Close stops the background loops and closes every connection, which
// ends stdio server processes. Calls in flight fail. Close waits for the
// connections to close and always returns nil.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		// Taking the connections first makes drop a no-op from here on,
		// also for the sse streams that end when ctx is cancelled.
		var conns []*conn
		for _, s := range m.servers {
			s.mu.Lock()
			if s.conn != nil {
				conns = append(conns, s.conn)
			}
			s.conn = nil
			s.closed = true
			s.status = "degraded: closed"
			s.mu.Unlock()
		}
		m.cancel()
		m.loops.Wait()
		for _, c := range conns {
			m.closeInBackground(c)
		}
		m.closeMu.Lock()
		m.closing = true
		m.closeMu.Unlock()
		m.closers.Wait()
	})
	return nil
}

// closeInBackground closes c without blocking the caller; Close waits
// for it. Once Close waits, c is closed before it returns.
func (m *Manager) closeInBackground(c *conn) {
	m.closeMu.Lock()
	if m.closing {
		m.closeMu.Unlock()
		c.close()
		return
	}
	m.closers.Add(1)
	m.closeMu.Unlock()
	go func() {
		defer m.closers.Done()
		c.close()
	}()
}
