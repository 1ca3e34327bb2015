package mcp

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

// StatusOK is the status of a connected server whose last request
// succeeded. Any other status starts with "degraded: ".
const StatusOK = "ok"

// Server is one configured MCP server: its connection, the tools it
// lists and its health. It is a tool.LookupSource for the namespace of
// its id. A Server is safe for concurrent use.
//
// A tool call runs within the server's timeout (manifest.MCP.Timeout,
// default DefaultCallTimeout). A call may find the connection or the
// session gone: a streamable-http server responds with 404 or 400 to the
// session id, the sse stream dropped, or the stdio process exited. The
// call then closes the connection, connects anew without the old session
// id, lists the tools again and retries once, all within the same
// timeout. Any other failure, and a failed retry, is returned as the
// call's error. A call that times out leaves the connection in place.
type Server struct {
	m       *Manager
	cfg     manifest.MCP
	id      string
	url     string // endpoint of the HTTP transports
	redact  redactor
	timeout time.Duration
	opts    Options
	log     *slog.Logger
	allowed map[string]bool // nil when every tool is allowed

	// dialing holds a token while a connection attempt runs, so that calls
	// and the background loop share one attempt.
	dialing chan struct{}
	// wake and refresh signal the background loop: the connection was
	// dropped, or the server announced a change of its tool list.
	wake, refresh chan struct{}
	// started is closed when the first connection attempt has finished.
	started chan struct{}

	mu     sync.RWMutex
	conn   *conn // nil while disconnected
	tools  []tool.Tool
	byName map[string]tool.Tool
	status string
	closed bool
}

var _ tool.LookupSource = (*Server)(nil)

func newServer(m *Manager, cfg manifest.MCP, opts Options) *Server {
	s := &Server{
		m:       m,
		cfg:     cfg,
		id:      cfg.ID,
		timeout: cfg.Timeout.Or(DefaultCallTimeout),
		opts:    opts,
		log:     opts.Logger.With("mcp_server", cfg.ID, "transport", transportOf(cfg)),
		dialing: make(chan struct{}, 1),
		wake:    make(chan struct{}, 1),
		refresh: make(chan struct{}, 1),
		started: make(chan struct{}),
		status:  "degraded: not connected yet",
	}
	if transportOf(cfg) != manifest.MCPStdio {
		s.url = cfg.Endpoint()
		s.redact = newRedactor(s.url)
	}
	if len(cfg.Tools) > 0 {
		s.allowed = make(map[string]bool, len(cfg.Tools))
		for _, name := range cfg.Tools {
			s.allowed[name] = true
		}
	}
	return s
}

// ID returns the server's id, the namespace of its tools.
func (s *Server) ID() string { return s.id }

// Tools returns the server's tools, sorted by name: those of its last
// successful listing that the allow-list admits. A server that lost its
// connection keeps them, and calls to them fail until it reconnects. A
// server that has never connected has none.
func (s *Server) Tools() []tool.Tool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.tools)
}

// Lookup returns the tool named name ("<id>:<tool>") if the server has
// it now.
func (s *Server) Lookup(name string) (tool.Tool, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.byName[name]
	return t, ok
}

// Status returns StatusOK, or "degraded: " and the reason.
func (s *Server) Status() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.status
}

// current returns the live connection, or nil.
func (s *Server) current() *conn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.conn
}

// connection returns the live connection, or connects within ctx. The
// error wraps ErrUnavailable, or ErrClosed after Manager.Close.
func (s *Server) connection(ctx context.Context) (*conn, error) {
	if c := s.current(); c != nil {
		return c, nil
	}
	select {
	case s.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: mcp server %q: waiting for a connection attempt: %w", ErrUnavailable, s.id, ctx.Err())
	}
	defer func() { <-s.dialing }()
	if c := s.current(); c != nil {
		return c, nil
	}
	if s.m.ctx.Err() != nil {
		return nil, fmt.Errorf("%w: mcp server %q", ErrClosed, s.id)
	}

	start := time.Now()
	c, listing, err := s.dial(ctx)
	if err != nil {
		err = s.redact.wrap(err)
		s.setStatus(degraded(err))
		return nil, fmt.Errorf("%w: mcp server %q: %w", ErrUnavailable, s.id, err)
	}
	if err := s.install(c, listing.tools); err != nil {
		return nil, err
	}
	s.log.Info("mcp server connected", "tools", len(listing.tools), "took", sinceStart(start).String())
	for _, name := range listing.skipped {
		s.log.Warn("mcp tool left out: its name has characters that tool names do not allow, or it is listed twice", "tool", name)
	}
	for _, name := range listing.missing {
		s.log.Warn("mcp allow-list names a tool that the server does not list", "tool", name)
	}
	return c, nil
}

// dial connects, initializes and lists the tools within ctx.
func (s *Server) dial(ctx context.Context) (*conn, toolListing, error) {
	connCtx, cancel := context.WithCancel(s.m.ctx)
	c := &conn{cancel: cancel}
	cl, err := s.newClient(c)
	if err != nil {
		cancel()
		return nil, toolListing{}, fmt.Errorf("create client: %w", err)
	}
	c.client = cl
	cl.OnConnectionLost(func(err error) {
		s.drop(c, fmt.Errorf("connection lost: %w", err))
	})
	cl.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == mcp.MethodNotificationToolsListChanged {
			signal(s.refresh)
		}
	})

	if err := startWithin(ctx, connCtx, cancel, cl); err != nil {
		c.close()
		return nil, toolListing{}, fmt.Errorf("start %s transport: %w", transportOf(s.cfg), err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: s.opts.ClientName, Version: s.opts.ClientVersion}
	if _, err := safely(func() (*mcp.InitializeResult, error) { return cl.Initialize(ctx, init) }); err != nil {
		c.close()
		return nil, toolListing{}, fmt.Errorf("initialize: %w", err)
	}
	listing, err := s.listTools(ctx, c)
	if err != nil {
		c.close()
		return nil, toolListing{}, err
	}
	return c, listing, nil
}

// install makes c the live connection with its tools, unless the manager
// was closed meanwhile.
func (s *Server) install(c *conn, tools []tool.Tool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.close()
		return fmt.Errorf("%w: mcp server %q", ErrClosed, s.id)
	}
	s.conn = c
	s.setToolsLocked(tools)
	s.status = StatusOK
	s.mu.Unlock()
	return nil
}

// drop closes c if it is the live connection, and wakes the background
// loop to reconnect.
func (s *Server) drop(c *conn, err error) {
	err = s.redact.wrap(err)
	s.mu.Lock()
	if s.conn != c || s.closed {
		s.mu.Unlock()
		return
	}
	s.conn = nil
	s.status = degraded(err)
	s.mu.Unlock()
	s.log.Warn("mcp server disconnected", "error", err)
	s.m.closeInBackground(c)
	signal(s.wake)
}

func (s *Server) setStatus(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.status = status
	}
}

func (s *Server) setToolsLocked(tools []tool.Tool) {
	s.tools = tools
	s.byName = make(map[string]tool.Tool, len(tools))
	for _, t := range tools {
		s.byName[t.Name()] = t
	}
}

// degraded returns the status text for err: its first line, shortened.
func degraded(err error) string {
	reason, _, _ := strings.Cut(err.Error(), "\n")
	const maxReason = 300
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "..."
	}
	return "degraded: " + reason
}

// signal sends on a channel of capacity 1 without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
