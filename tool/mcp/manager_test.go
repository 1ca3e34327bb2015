package mcp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

func TestManagerTools(t *testing.T) {
	ts := newTestServer(t)
	f := serveStreamable(t, ts, modern)
	m := startManager(t, testOptions(), manifest.MCP{ID: "crm", URL: f.URL + "/mcp"})

	want := []string{"crm:add", "crm:broken", "crm:drop_once", "crm:echo", "crm:fail", "crm:hang", "crm:noargs", "crm:picture"}
	if got := toolNames(m.Tools()); !slices.Equal(got, want) {
		t.Errorf("tools = %v, want %v (\"bad name\" left out)", got, want)
	}

	echo := lookup(t, m, "crm:echo")
	if echo.Description() != "Echoes a message." {
		t.Errorf("description = %q", echo.Description())
	}
	var schema struct {
		Type       string
		Properties map[string]map[string]any
		Required   []string
	}
	if err := json.Unmarshal(echo.Schema(), &schema); err != nil {
		t.Fatalf("schema %s: %v", echo.Schema(), err)
	}
	if schema.Type != "object" || schema.Properties["message"]["type"] != "string" || !slices.Equal(schema.Required, []string{"message"}) {
		t.Errorf("echo schema = %s, want an object with the required string message", echo.Schema())
	}
	if got := string(lookup(t, m, "crm:noargs").Schema()); got != `{"type":"object"}` {
		t.Errorf("noargs schema = %s, want {\"type\":\"object\"}", got)
	}
	if _, ok := lookupOK(m, "crm:unknown"); ok {
		t.Error("Lookup found a tool that the server does not list")
	}
	if got := m.Status(); len(got) != 1 || got["crm"] != StatusOK {
		t.Errorf("status = %v, want crm ok", got)
	}
}

func TestManagerAllowList(t *testing.T) {
	ts := newTestServer(t)
	f := serveStreamable(t, ts, modern)
	m := startManager(t, testOptions(), manifest.MCP{ID: "crm", URL: f.URL + "/mcp", Tools: []string{"echo", "fail", "missing"}})

	if got := toolNames(m.Tools()); !slices.Equal(got, []string{"crm:echo", "crm:fail"}) {
		t.Errorf("tools = %v, want only the allowed crm:echo and crm:fail", got)
	}
	if _, ok := lookupOK(m, "crm:add"); ok {
		t.Error("Lookup found crm:add, which the allow-list hides")
	}
}

func TestManagerRegistry(t *testing.T) {
	ts := newTestServer(t)
	f := serveStreamable(t, ts, modern)
	m := startManager(t, testOptions(),
		manifest.MCP{ID: "crm", URL: f.URL + "/mcp", Tools: []string{"echo"}},
		manifest.MCP{ID: "billing", URL: f.URL + "/mcp", Tools: []string{"add"}})
	native := tool.MustFunc("local:ping", "Answers pong.", func(context.Context, struct{}) (string, error) { return "pong", nil })
	reg, err := tool.NewRegistry(native)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(reg); err != nil {
		t.Fatalf("Register: %v", err)
	}

	if got := toolNames(reg.List()); !slices.Equal(got, []string{"billing:add", "crm:echo", "local:ping"}) {
		t.Errorf("registry tools = %v", got)
	}
	echo, ok := reg.Get("crm:echo")
	if !ok {
		t.Fatal("registry has no crm:echo")
	}
	res, err := echo.Call(t.Context(), json.RawMessage(`{"message":"via registry"}`))
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if got := textOf(t, res); got != "echo: via registry" {
		t.Errorf("content = %q", got)
	}
	if err := m.Register(reg); !errors.Is(err, tool.ErrDuplicate) {
		t.Errorf("second Register: error = %v, want tool.ErrDuplicate", err)
	}
}

func TestManagerServerDown(t *testing.T) {
	ts := newTestServer(t)
	f := serveStreamable(t, ts, modern)
	down := closedAddr(t)
	m := startManager(t, testOptions(),
		manifest.MCP{ID: "up", URL: f.URL + "/mcp"},
		manifest.MCP{ID: "down", URL: "http://" + down + "/mcp?token=secret-in-url"})

	status := m.Status()
	if status["up"] != StatusOK {
		t.Errorf("up status = %q, want %q", status["up"], StatusOK)
	}
	if !strings.HasPrefix(status["down"], "degraded: ") {
		t.Errorf("down status = %q, want degraded", status["down"])
	}
	if strings.Contains(status["down"], "secret-in-url") {
		t.Errorf("down status %q contains the URL's query", status["down"])
	}
	s, _ := m.Server("down")
	if n := len(s.Tools()); n != 0 {
		t.Errorf("down has %d tools, want 0", n)
	}
	if _, err := lookup(t, m, "up:echo").Call(t.Context(), json.RawMessage(`{"message":"x"}`)); err != nil {
		t.Errorf("the up server's tool failed: %v", err)
	}
}

func TestManagerLateServer(t *testing.T) {
	ts := newTestServer(t)
	addr := closedAddr(t)
	m := startManager(t, testOptions(), manifest.MCP{ID: "late", Hostname: "127.0.0.1", Port: portOf(t, addr)})
	reg, err := tool.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	if got := m.Status()["late"]; !strings.HasPrefix(got, "degraded: ") {
		t.Fatalf("status before the server starts = %q, want degraded", got)
	}
	if _, ok := reg.Get("late:echo"); ok {
		t.Fatal("late:echo is listed before the server starts")
	}

	listener, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(newStreamableHandler(ts, modern))
	srv.Listener = listener
	srv.Start()
	t.Cleanup(srv.Close)

	eventually(t, "late:echo appears in the registry", func() bool {
		_, ok := reg.Get("late:echo")
		return ok
	})
	if got := m.Status()["late"]; got != StatusOK {
		t.Errorf("status after the server starts = %q, want %q", got, StatusOK)
	}
	echo, _ := reg.Get("late:echo")
	if _, err := echo.Call(t.Context(), json.RawMessage(`{"message":"x"}`)); err != nil {
		t.Errorf("call: %v", err)
	}
}

func TestManagerConnectsInParallel(t *testing.T) {
	// Each server holds its first request until both servers have one,
	// so connecting one after the other would time out.
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() {
		arrived.Wait()
		close(both)
	}()

	var servers []manifest.MCP
	for _, id := range []string{"one", "two"} {
		ts := newTestServer(t)
		f := serveStreamable(t, ts, modern)
		var once sync.Once
		f.setGate(func(http.ResponseWriter, *http.Request, string) bool {
			once.Do(func() {
				arrived.Done()
				select {
				case <-both:
				case <-time.After(3 * time.Second):
				}
			})
			return false
		})
		servers = append(servers, manifest.MCP{ID: id, URL: f.URL + "/mcp"})
	}

	opts := testOptions()
	opts.ConnectTimeout = 2 * time.Second
	m := startManager(t, opts, servers...)
	for id, status := range m.Status() {
		if status != StatusOK {
			t.Errorf("%s status = %q, want %q", id, status, StatusOK)
		}
	}
}

func TestManagerAuthHeaders(t *testing.T) {
	ts := newTestServer(t)
	handler := newStreamableHandler(ts, sessions)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(auth, []byte("Bearer s3cret")) != 1 || r.Header.Get("X-Tenant") != "acme" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name string
		cfg  manifest.MCP
		ok   bool
	}{
		{"key and header", manifest.MCP{APIKey: "s3cret", Headers: map[string]string{"X-Tenant": "acme"}}, true},
		{"key replaces header", manifest.MCP{APIKey: "s3cret", Headers: map[string]string{"X-Tenant": "acme", "authorization": "Bearer old"}}, true},
		{"bearer in headers", manifest.MCP{Headers: map[string]string{"X-Tenant": "acme", "Authorization": "Bearer s3cret"}}, true},
		{"wrong key", manifest.MCP{APIKey: "wrong-key-value", Headers: map[string]string{"X-Tenant": "acme"}}, false},
		{"no header", manifest.MCP{APIKey: "s3cret"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.ID, cfg.URL = "auth", srv.URL+"/mcp"
			m := startManager(t, testOptions(), cfg)
			status := m.Status()["auth"]
			if tc.ok {
				if status != StatusOK {
					t.Fatalf("status = %q, want %q", status, StatusOK)
				}
				if _, err := lookup(t, m, "auth:echo").Call(t.Context(), json.RawMessage(`{"message":"x"}`)); err != nil {
					t.Errorf("call: %v", err)
				}
				return
			}
			if !strings.HasPrefix(status, "degraded: ") {
				t.Errorf("status = %q, want degraded", status)
			}
			if cfg.APIKey != "" && strings.Contains(status, cfg.APIKey) {
				t.Errorf("status %q contains the api key", status)
			}
		})
	}
}

func TestManagerToolListChanged(t *testing.T) {
	ts := newTestServer(t)
	f := serveSSE(t, ts)
	m := startManager(t, testOptions(), manifest.MCP{ID: "srv", URL: f.URL + "/sse", Transport: manifest.MCPSSE})
	if _, ok := lookupOK(m, "srv:new_tool"); ok {
		t.Fatal("srv:new_tool listed before it exists")
	}

	// Adding a tool sends notifications/tools/list_changed on the sse
	// stream, and the manager lists the tools again.
	ts.add(mcp.NewTool("new_tool", mcp.WithDescription("Added later.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("new"), nil
		})
	eventually(t, "srv:new_tool appears", func() bool {
		_, ok := lookupOK(m, "srv:new_tool")
		return ok
	})
}

func TestManagerHealthCheck(t *testing.T) {
	ts := newTestServer(t)
	f := serveStreamable(t, ts, sessions)
	opts := testOptions()
	opts.CheckInterval = 50 * time.Millisecond
	m := startManager(t, opts, manifest.MCP{ID: "srv", URL: f.URL + "/mcp"})

	// While the server refuses everything, the check finds out without
	// any call.
	f.setGate(func(w http.ResponseWriter, _ *http.Request, _ string) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	eventually(t, "status degraded", func() bool { return m.Status()["srv"] != StatusOK })

	f.setGate(func(http.ResponseWriter, *http.Request, string) bool { return false })
	eventually(t, "status ok again", func() bool { return m.Status()["srv"] == StatusOK })
	if _, err := lookup(t, m, "srv:echo").Call(t.Context(), json.RawMessage(`{"message":"x"}`)); err != nil {
		t.Errorf("call after recovery: %v", err)
	}
}

func TestManagerClose(t *testing.T) {
	ts := newTestServer(t)
	f := serveStreamable(t, ts, sessions)
	m, err := NewManager(t.Context(), []manifest.MCP{{ID: "srv", URL: f.URL + "/mcp"}}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	echo := lookup(t, m, "srv:echo")
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = echo.Call(t.Context(), json.RawMessage(`{"message":"x"}`))
	if !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: error = %v, want ErrClosed", err)
	}
	if got := m.Status()["srv"]; !strings.HasPrefix(got, "degraded: ") {
		t.Errorf("status after Close = %q, want degraded", got)
	}
}

func TestNewManagerInvalid(t *testing.T) {
	_, err := NewManager(t.Context(), []manifest.MCP{{ID: "built-in", URL: "http://127.0.0.1:1/mcp"}}, testOptions())
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("error = %v, want ErrInvalidConfig", err)
	}
}

// closedAddr returns a loopback address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return tcp.Port
}
