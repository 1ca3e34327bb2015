package mcp

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/manifest"
)

// transportCase is an in-process server behind one transport.
type transportCase struct {
	name  string
	serve func(t *testing.T, ts *testServer) manifest.MCP
}

var transportCases = []transportCase{
	{"streamable-modern", func(t *testing.T, ts *testServer) manifest.MCP {
		f := serveStreamable(t, ts, modern)
		return manifest.MCP{ID: "srv", URL: f.URL + "/mcp"}
	}},
	{"streamable-sessions", func(t *testing.T, ts *testServer) manifest.MCP {
		f := serveStreamable(t, ts, sessions)
		return manifest.MCP{ID: "srv", URL: f.URL + "/mcp", Transport: manifest.MCPStreamableHTTP}
	}},
	{"sse", func(t *testing.T, ts *testServer) manifest.MCP {
		f := serveSSE(t, ts)
		return manifest.MCP{ID: "srv", URL: f.URL + "/sse", Transport: manifest.MCPSSE}
	}},
}

func TestCallResults(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			m := startManager(t, testOptions(), tc.serve(t, ts))

			res, err := lookup(t, m, "srv:echo").Call(t.Context(), json.RawMessage(`{"message":"hi"}`))
			if err != nil {
				t.Fatalf("echo: %v", err)
			}
			if got := textOf(t, res); got != "echo: hi" {
				t.Errorf("echo content = %q, want %q", got, "echo: hi")
			}
			if res.IsError {
				t.Error("echo IsError = true")
			}

			res, err = lookup(t, m, "srv:add").Call(t.Context(), json.RawMessage(`{"a":2,"b":3}`))
			if err != nil {
				t.Fatalf("add: %v", err)
			}
			var structured struct{ Sum float64 }
			if err := json.Unmarshal(res.Content, &structured); err != nil {
				t.Fatalf("add content %s is not the structured object: %v", res.Content, err)
			}
			if structured.Sum != 5 {
				t.Errorf("add sum = %v, want 5", structured.Sum)
			}

			res, err = lookup(t, m, "srv:fail").Call(t.Context(), nil)
			if err != nil {
				t.Fatalf("fail: %v", err)
			}
			if !res.IsError {
				t.Error("fail IsError = false, want true")
			}
			if got := textOf(t, res); got != "the record is locked" {
				t.Errorf("fail content = %q", got)
			}

			for _, args := range []string{``, `null`, `""`, `{}`} {
				res, err = lookup(t, m, "srv:noargs").Call(t.Context(), json.RawMessage(args))
				if err != nil {
					t.Fatalf("noargs with %q: %v", args, err)
				}
				if got := textOf(t, res); got != "arguments {}" {
					t.Errorf("noargs with %q: content = %q, want %q", args, got, "arguments {}")
				}
			}

			res, err = lookup(t, m, "srv:picture").Call(t.Context(), nil)
			if err != nil {
				t.Fatalf("picture: %v", err)
			}
			var items []map[string]any
			if err := json.Unmarshal(res.Content, &items); err != nil {
				t.Fatalf("picture content %s is not an array: %v", res.Content, err)
			}
			if len(items) != 2 || items[0]["type"] != "text" || items[1]["type"] != "image" || items[1]["mimeType"] != "image/png" {
				t.Errorf("picture content = %s, want a text and an image item", res.Content)
			}
		})
	}
}

func TestCallProtocolError(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			m := startManager(t, testOptions(), tc.serve(t, ts))

			_, err := lookup(t, m, "srv:broken").Call(t.Context(), nil)
			if !errors.Is(err, ErrCallFailed) {
				t.Fatalf("error = %v, want ErrCallFailed", err)
			}
			if !strings.Contains(err.Error(), "database is down") {
				t.Errorf("error %q does not carry the server's message", err)
			}
			if n := ts.callCount("broken"); n != 1 {
				t.Errorf("broken reached the server %d times, want 1 (no retry)", n)
			}
			if n := ts.listings.Load(); n != 1 {
				t.Errorf("tools listed %d times, want 1 (no reconnect)", n)
			}
			if got := m.Status()["srv"]; got != StatusOK {
				t.Errorf("status = %q, want %q", got, StatusOK)
			}
		})
	}
}

func TestCallTimeout(t *testing.T) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			cfg := tc.serve(t, ts)
			cfg.Timeout = manifest.Duration(300 * time.Millisecond)
			m := startManager(t, testOptions(), cfg)

			_, err := lookup(t, m, "srv:hang").Call(t.Context(), nil)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("error = %v, want ErrTimeout", err)
			}
			if !strings.Contains(err.Error(), "300ms") {
				t.Errorf("error %q does not name the timeout", err)
			}

			res, err := lookup(t, m, "srv:echo").Call(t.Context(), json.RawMessage(`{"message":"still here"}`))
			if err != nil {
				t.Fatalf("echo after the timeout: %v", err)
			}
			if got := textOf(t, res); got != "echo: still here" {
				t.Errorf("echo content = %q", got)
			}
			if n := ts.listings.Load(); n != 1 {
				t.Errorf("tools listed %d times, want 1: a timeout must not reconnect", n)
			}
		})
	}
}

func TestCallForgottenSession(t *testing.T) {
	for _, status := range []int{404, 400} {
		t.Run(map[int]string{404: "404", 400: "400"}[status], func(t *testing.T) {
			ts := newTestServer(t)
			f := serveStreamable(t, ts, sessions)
			m := startManager(t, testOptions(), manifest.MCP{ID: "srv", URL: f.URL + "/mcp"})
			echo := lookup(t, m, "srv:echo")
			if _, err := echo.Call(t.Context(), json.RawMessage(`{"message":"one"}`)); err != nil {
				t.Fatalf("first call: %v", err)
			}
			old := f.initializeSessions()
			if len(old) != 1 {
				t.Fatalf("initialize requests = %d, want 1", len(old))
			}

			// A new handler has none of the old sessions, as after a
			// restart. mcp-go responds to an unknown session with 404,
			// and the gate responds with 400 like the TypeScript SDK's
			// examples.
			f.setHandler(newStreamableHandler(ts, sessions))
			if status == 400 {
				forgotten := sessionOf(t, m)
				f.setGate(func(w http.ResponseWriter, r *http.Request, _ string) bool {
					if r.Header.Get("Mcp-Session-Id") != forgotten {
						return false
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":2}`))
					return true
				})
			}

			res, err := echo.Call(t.Context(), json.RawMessage(`{"message":"two"}`))
			if err != nil {
				t.Fatalf("call on the forgotten session: %v", err)
			}
			if got := textOf(t, res); got != "echo: two" {
				t.Errorf("content = %q, want %q", got, "echo: two")
			}
			sessions := f.initializeSessions()
			if len(sessions) != 2 {
				t.Fatalf("initialize requests = %d, want 2 (one reconnect)", len(sessions))
			}
			for i, id := range sessions {
				if id != "" {
					t.Errorf("initialize request %d carried session id %q, want none", i, id)
				}
			}
			if n := ts.listings.Load(); n != 2 {
				t.Errorf("tools listed %d times, want 2 (listed again after the reconnect)", n)
			}
			if n := ts.callCount("echo"); n != 2 {
				t.Errorf("echo reached the server %d times, want 2", n)
			}
			if got := m.Status()["srv"]; got != StatusOK {
				t.Errorf("status = %q, want %q", got, StatusOK)
			}
		})
	}
}

// sessionOf returns the session id of the live connection of server srv.
func sessionOf(t *testing.T, m *Manager) string {
	t.Helper()
	s, _ := m.Server("srv")
	c := s.current()
	if c == nil {
		t.Fatal("srv is not connected")
	}
	id := c.client.GetSessionId()
	if id == "" {
		t.Fatal("srv has no session id")
	}
	return id
}

func TestCallRetriesOnlyOnce(t *testing.T) {
	ts := newTestServer(t)
	f := serveStreamable(t, ts, sessions)
	m := startManager(t, testOptions(), manifest.MCP{ID: "srv", URL: f.URL + "/mcp"})
	echo := lookup(t, m, "srv:echo")

	// Every tools/call gets the response to an unknown session, so the
	// retry on the new session fails too.
	f.setGate(func(w http.ResponseWriter, r *http.Request, method string) bool {
		if method != "tools/call" {
			return false
		}
		http.NotFound(w, r)
		return true
	})

	_, err := echo.Call(t.Context(), json.RawMessage(`{"message":"x"}`))
	if !errors.Is(err, ErrCallFailed) {
		t.Fatalf("error = %v, want ErrCallFailed", err)
	}
	if !strings.Contains(err.Error(), "after a reconnect") {
		t.Errorf("error %q does not say that the call was retried", err)
	}
	if got := f.postCount("tools/call"); got != 2 {
		t.Errorf("tools/call requests = %d, want 2 (the call and one retry)", got)
	}
	if n := ts.callCount("echo"); n != 0 {
		t.Errorf("echo reached the server %d times, want 0", n)
	}
}

func TestCallReconnectFails(t *testing.T) {
	ts := newTestServer(t)
	f := serveStreamable(t, ts, sessions)
	m := startManager(t, testOptions(), manifest.MCP{ID: "srv", URL: f.URL + "/mcp"})
	echo := lookup(t, m, "srv:echo")

	// The server drops the session and then rejects every new one.
	f.setGate(func(w http.ResponseWriter, r *http.Request, method string) bool {
		if r.Header.Get("Mcp-Session-Id") == "" && method != "initialize" && method != "server/discover" {
			return false
		}
		if method == "initialize" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		http.NotFound(w, r)
		return true
	})

	_, err := echo.Call(t.Context(), json.RawMessage(`{"message":"x"}`))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "initialize") {
		t.Errorf("error %q does not name the failed step", err)
	}
	if got := f.postCount("tools/call"); got != 1 {
		t.Errorf("tools/call requests = %d, want 1", got)
	}
	if got := m.Status()["srv"]; !strings.HasPrefix(got, "degraded: ") {
		t.Errorf("status = %q, want degraded", got)
	}
	// The tools stay listed while the server is down, so the model's
	// calls return an error that gives the reason.
	if _, ok := lookupOK(m, "srv:echo"); !ok {
		t.Error("srv:echo disappeared while the server is down")
	}
}

func TestCallDisconnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind streamableKind
		sse  bool
	}{
		{name: "streamable-modern", kind: modern},
		{name: "streamable-sessions", kind: sessions},
		{name: "sse", sse: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			var f *httpFront
			cfg := manifest.MCP{ID: "srv"}
			if tc.sse {
				f = serveSSE(t, ts)
				cfg.URL, cfg.Transport = f.URL+"/sse", manifest.MCPSSE
			} else {
				f = serveStreamable(t, ts, tc.kind)
				cfg.URL = f.URL + "/mcp"
			}
			ts.onDrop = f.CloseClientConnections
			m := startManager(t, testOptions(), cfg)

			res, err := lookup(t, m, "srv:drop_once").Call(t.Context(), nil)
			if err != nil {
				t.Fatalf("call with a dropped connection: %v", err)
			}
			if got := textOf(t, res); got != "second attempt" {
				t.Errorf("content = %q, want the retry's %q", got, "second attempt")
			}
			if n := ts.callCount("drop_once"); n != 2 {
				t.Errorf("drop_once reached the server %d times, want 2", n)
			}
			if n := ts.listings.Load(); n != 2 {
				t.Errorf("tools listed %d times, want 2", n)
			}
		})
	}
}

func TestStdioServer(t *testing.T) {
	t.Setenv("AGENTRY_TEST_SECRET", "must-not-leak")
	marker := filepath.Join(t.TempDir(), "dropped")
	cfg := manifest.MCP{
		ID:        "srv",
		Transport: manifest.MCPStdio,
		Command:   testBinary(t),
		Env: map[string]string{
			stdioServerEnv:  "1",
			stdioMarkerEnv:  marker,
			"AGENTRY_PROBE": "probe-value",
		},
		Timeout: manifest.Duration(2 * time.Second),
	}
	m := startManager(t, testOptions(), cfg)
	if got := m.Status()["srv"]; got != StatusOK {
		t.Fatalf("status = %q, want %q", got, StatusOK)
	}

	res, err := lookup(t, m, "srv:echo").Call(t.Context(), json.RawMessage(`{"message":"over stdio"}`))
	if err != nil {
		t.Fatalf("echo: %v", err)
	}
	if got := textOf(t, res); got != "echo: over stdio" {
		t.Errorf("echo content = %q", got)
	}

	res, err = lookup(t, m, "srv:env").Call(t.Context(), nil)
	if err != nil {
		t.Fatalf("env: %v", err)
	}
	var env struct {
		Names []string
		Probe string
	}
	if err := json.Unmarshal(res.Content, &env); err != nil {
		t.Fatalf("env content %s: %v", res.Content, err)
	}
	if env.Probe != "probe-value" {
		t.Errorf("AGENTRY_PROBE in the server = %q, want the configured value", env.Probe)
	}
	if slices.Contains(env.Names, "AGENTRY_TEST_SECRET") {
		t.Error("the server inherited AGENTRY_TEST_SECRET from agentry's environment")
	}
	if !slices.Contains(env.Names, "PATH") {
		t.Error("the server did not inherit PATH")
	}

	_, err = lookup(t, m, "srv:hang").Call(t.Context(), nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("hang: error = %v, want ErrTimeout", err)
	}
	if _, err := lookup(t, m, "srv:echo").Call(t.Context(), json.RawMessage(`{"message":"after"}`)); err != nil {
		t.Fatalf("echo after the timeout: %v", err)
	}

	// The process exits during the call; the retry starts a new one.
	res, err = lookup(t, m, "srv:drop_once").Call(t.Context(), nil)
	if err != nil {
		t.Fatalf("drop_once: %v", err)
	}
	if got := textOf(t, res); !strings.HasPrefix(got, "second attempt") {
		t.Errorf("drop_once content = %q, want the retry's answer", got)
	}
	if got := m.Status()["srv"]; got != StatusOK {
		t.Errorf("status after the restart = %q, want %q", got, StatusOK)
	}
}

// testBinary returns the path of the running test binary, which serves
// MCP over stdio when stdioServerEnv is set.
func testBinary(t *testing.T) string {
	t.Helper()
	path, err := os.Executable()
	if err != nil {
		t.Fatalf("find the test binary: %v", err)
	}
	return path
}
