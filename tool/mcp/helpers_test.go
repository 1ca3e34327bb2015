package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

// testServer is an in-process MCP server with the tools the tests call.
type testServer struct {
	mcp      *server.MCPServer
	listings atomic.Int32 // tools/list requests
	mu       sync.Mutex
	calls    map[string]int // tools/call requests that reached a tool
	// release ends the calls of "hang" and "drop_once" that still wait.
	release chan struct{}
	// onDrop runs at the first call of "drop_once", which then waits for
	// its context or release.
	onDrop  func()
	dropped atomic.Bool
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{calls: make(map[string]int), release: make(chan struct{})}
	t.Cleanup(func() { close(ts.release) })
	hooks := &server.Hooks{}
	hooks.AddBeforeListTools(func(context.Context, any, *mcp.ListToolsRequest) { ts.listings.Add(1) })
	ts.mcp = server.NewMCPServer("agentry-test", "1.0.0", server.WithHooks(hooks), server.WithToolCapabilities(true))

	ts.add(mcp.NewTool("echo", mcp.WithDescription("Echoes a message."), mcp.WithString("message", mcp.Required())),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("echo: " + req.GetString("message", "")), nil
		})
	ts.add(mcp.NewTool("add", mcp.WithDescription("Adds two numbers."),
		mcp.WithNumber("a", mcp.Required()), mcp.WithNumber("b", mcp.Required())),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			sum := req.GetFloat("a", 0) + req.GetFloat("b", 0)
			return mcp.NewToolResultStructured(map[string]any{"sum": sum}, "the sum is computed"), nil
		})
	ts.add(mcp.NewTool("fail", mcp.WithDescription("Reports a failure in its own terms.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultError("the record is locked"), nil
		})
	ts.add(mcp.NewTool("broken", mcp.WithDescription("Fails with a protocol error.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return nil, errors.New("database is down")
		})
	ts.add(mcp.NewTool("hang", mcp.WithDescription("Never answers in time.")),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			select {
			case <-ctx.Done():
			case <-ts.release:
			}
			return mcp.NewToolResultText("late"), nil
		})
	ts.add(mcp.NewTool("noargs", mcp.WithDescription("Takes no arguments.")),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			args, _ := json.Marshal(req.GetArguments())
			return mcp.NewToolResultText("arguments " + string(args)), nil
		})
	ts.add(mcp.NewTool("picture", mcp.WithDescription("Returns an image.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultImage("a dot", "iVBORw0KGgo=", "image/png"), nil
		})
	ts.add(mcp.NewTool("drop_once", mcp.WithDescription("Drops the connection at its first call.")),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if !ts.dropped.Swap(true) && ts.onDrop != nil {
				ts.onDrop()
				select {
				case <-ctx.Done():
				case <-ts.release:
				}
				return mcp.NewToolResultText("first attempt"), nil
			}
			return mcp.NewToolResultText("second attempt"), nil
		})
	ts.add(mcp.NewTool("bad name", mcp.WithDescription("Has a name that tool names do not allow.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("unreachable"), nil
		})
	return ts
}

// add registers a tool that counts its calls.
func (ts *testServer) add(t mcp.Tool, handler server.ToolHandlerFunc) {
	ts.mcp.AddTool(t, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ts.mu.Lock()
		ts.calls[t.Name]++
		ts.mu.Unlock()
		return handler(ctx, req)
	})
}

// callCount returns how many calls of the tool reached the server.
func (ts *testServer) callCount(name string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.calls[name]
}

// httpFront serves a testServer over HTTP. It records the session id
// that each initialize request carries and can swap its handler, which
// makes the server forget every session.
type httpFront struct {
	*httptest.Server
	handler atomic.Pointer[http.Handler]
	// gate, when set, may respond to a request before the MCP handler
	// does. Its method argument is the JSON-RPC method of a POST.
	gate atomic.Pointer[gateFunc]

	mu          sync.Mutex
	initialized []string       // Mcp-Session-Id of each initialize request
	posts       map[string]int // POST requests by JSON-RPC method
}

// gateFunc responds to a request and returns true, or returns false to
// pass it on.
type gateFunc func(w http.ResponseWriter, r *http.Request, method string) bool

func (f *httpFront) setGate(g gateFunc) { f.gate.Store(&g) }

// postCount returns the number of POST requests of a JSON-RPC method.
func (f *httpFront) postCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts[method]
}

func (f *httpFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Method string `json:"method"`
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		_ = json.Unmarshal(body, &msg)
		f.mu.Lock()
		if f.posts == nil {
			f.posts = make(map[string]int)
		}
		f.posts[msg.Method]++
		if msg.Method == "initialize" {
			f.initialized = append(f.initialized, r.Header.Get("Mcp-Session-Id"))
		}
		f.mu.Unlock()
	}
	if gate := f.gate.Load(); gate != nil && (*gate)(w, r, msg.Method) {
		return
	}
	(*f.handler.Load()).ServeHTTP(w, r)
}

func (f *httpFront) setHandler(h http.Handler) { f.handler.Store(&h) }

// initializeSessions returns the Mcp-Session-Id of each initialize
// request so far.
func (f *httpFront) initializeSessions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.initialized...)
}

// streamableKind selects the protocol an in-process streamable-http
// server offers.
type streamableKind int

const (
	// modern offers every protocol version mcp-go implements, so clients
	// settle on the stateless 2026-07-28 protocol, which has no sessions.
	modern streamableKind = iota
	// sessions offers only the versions before 2026-07-28, so every
	// connection has an Mcp-Session-Id, as with most servers today.
	sessions
)

func newStreamableHandler(ts *testServer, kind streamableKind) http.Handler {
	if kind == sessions {
		return server.NewStreamableHTTPServer(ts.mcp, server.WithStateful(true),
			server.WithStreamableHTTPProtocolVersions(mcp.LegacyProtocolVersions()...))
	}
	return server.NewStreamableHTTPServer(ts.mcp)
}

// serveStreamable serves ts over streamable HTTP at <URL>/mcp.
func serveStreamable(t *testing.T, ts *testServer, kind streamableKind) *httpFront {
	t.Helper()
	f := &httpFront{}
	f.setHandler(newStreamableHandler(ts, kind))
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Close)
	return f
}

// serveSSE serves ts over the sse transport at <URL>/sse.
func serveSSE(t *testing.T, ts *testServer) *httpFront {
	t.Helper()
	f := &httpFront{}
	f.Server = httptest.NewUnstartedServer(f)
	f.Start()
	f.setHandler(server.NewSSEServer(ts.mcp, server.WithBaseURL(f.URL)))
	t.Cleanup(f.Close)
	return f
}

// testOptions returns Options for tests: quick retries, no periodic
// health check and no log output.
func testOptions() Options {
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("AGENTRY_MCP_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return Options{
		Logger:         logger,
		ConnectTimeout: 5 * time.Second,
		RetryMin:       20 * time.Millisecond,
		RetryMax:       200 * time.Millisecond,
		CheckInterval:  -1,
	}
}

// startManager starts a manager for servers and closes it when the test
// ends.
func startManager(t *testing.T, opts Options, servers ...manifest.MCP) *Manager {
	t.Helper()
	m, err := NewManager(t.Context(), servers, opts)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// lookup returns the tool named name, failing the test when it is
// missing.
func lookup(t *testing.T, m *Manager, name string) tool.Tool {
	t.Helper()
	s, ok := m.Server(tool.Namespace(name))
	if !ok {
		t.Fatalf("no server for %q", name)
	}
	tl, ok := s.Lookup(name)
	if !ok {
		t.Fatalf("tool %q not found; have %v", name, toolNames(m.Tools()))
	}
	return tl
}

func toolNames(tools []tool.Tool) []string {
	names := make([]string, 0, len(tools))
	for _, t := range tools {
		names = append(names, t.Name())
	}
	return names
}

// textOf decodes a result whose content is a JSON string.
func textOf(t *testing.T, res tool.Result) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(res.Content, &s); err != nil {
		t.Fatalf("content %s is not a JSON string: %v", res.Content, err)
	}
	return s
}

// eventually polls cond every 20ms until it is true or 10s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stdioServerEnv, when set, makes the test binary run as a stdio MCP
// server (see TestMain).
const stdioServerEnv = "AGENTRY_MCP_TEST_STDIO_SERVER"

// stdioMarkerEnv names a file that "drop_once" creates before the
// process exits at its first call.
const stdioMarkerEnv = "AGENTRY_MCP_TEST_MARKER"

func TestMain(m *testing.M) {
	if os.Getenv(stdioServerEnv) != "" {
		os.Exit(serveStdioTestServer())
	}
	os.Exit(m.Run())
}

// lookupOK returns the tool named name, if its server has it.
func lookupOK(m *Manager, name string) (tool.Tool, bool) {
	s, ok := m.Server(tool.Namespace(name))
	if !ok {
		return nil, false
	}
	return s.Lookup(name)
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
