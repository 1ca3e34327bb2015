package mcp

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/manifest"
)

// everythingPackage is the reference MCP server of the Model Context
// Protocol project, pinned in testdata/npm/package.json.
const everythingPackage = "@modelcontextprotocol/server-everything"

// everything runs the reference server with one HTTP transport on a
// loopback port. Stopping and starting it again keeps the port.
type everything struct {
	t      *testing.T
	node   string
	script string
	mode   string // "streamableHttp" or "sse", the server's names
	port   int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	output *tailBuffer
}

// everythingScript returns the node program and the server's entry
// point, skipping the test when they are missing.
func everythingScript(t *testing.T) (node, script string) {
	t.Helper()
	node = testenv.RequireProgram(t, "node")
	modules := testenv.RequireNPMPackage(t, everythingPackage)
	return node, filepath.Join(modules, filepath.FromSlash(everythingPackage), "dist", "index.js")
}

// startEverything starts the server in mode and stops it when the test
// ends.
func startEverything(t *testing.T, mode string) *everything {
	t.Helper()
	node, script := everythingScript(t)
	e := &everything{t: t, node: node, script: script, mode: mode, port: portOf(t, closedAddr(t))}
	e.start()
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("server output:\n%s", e.output)
		}
	})
	return e
}

// start runs the server and waits until its port accepts connections.
func (e *everything) start() {
	e.t.Helper()
	preload, err := filepath.Abs(filepath.Join("..", "..", "testdata", "mcp-listen-loopback.cjs"))
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(e.node, "--require", preload, e.script, e.mode)
	cmd.Env = append(stdioEnv(manifest.MCP{}), fmt.Sprintf("PORT=%d", e.port))
	output := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start %s: %v", everythingPackage, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	e.mu.Lock()
	e.cmd, e.exited, e.output = cmd, exited, output
	e.mu.Unlock()

	addr := fmt.Sprintf("127.0.0.1:%d", e.port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return
		}
		select {
		case <-exited:
			e.t.Fatalf("%s exited before listening:\n%s", everythingPackage, output)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s did not listen on %s within 15s:\n%s", everythingPackage, addr, output)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop kills the server and waits for it to exit.
func (e *everything) stop() {
	e.mu.Lock()
	cmd, exited := e.cmd, e.exited
	e.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

func (e *everything) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", e.port, path)
}

// tailBuffer keeps the last 16 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - 16<<10; over > 0 {
		b.buf = b.buf[over:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func TestEverything(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server func(t *testing.T) manifest.MCP
	}{
		{"streamable-http", func(t *testing.T) manifest.MCP {
			e := startEverything(t, "streamableHttp")
			return manifest.MCP{URL: e.url("/mcp")}
		}},
		{"sse", func(t *testing.T) manifest.MCP {
			e := startEverything(t, "sse")
			return manifest.MCP{URL: e.url("/sse"), Transport: manifest.MCPSSE}
		}},
		{"stdio", func(t *testing.T) manifest.MCP {
			node, script := everythingScript(t)
			return manifest.MCP{Transport: manifest.MCPStdio, Command: node, Args: []string{script, "stdio"},
				Env: map[string]string{"AGENTRY_PROBE": "probe-value"}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AGENTRY_TEST_SECRET", "must-not-leak")
			cfg := tc.server(t)
			cfg.ID = "everything"
			cfg.Timeout = manifest.Duration(2 * time.Second)
			m := startManager(t, testOptions(), cfg)
			if got := m.Status()["everything"]; got != StatusOK {
				t.Fatalf("status = %q, want %q", got, StatusOK)
			}

			echo := lookup(t, m, "everything:echo")
			if !strings.Contains(string(echo.Schema()), `"message"`) {
				t.Errorf("echo schema %s has no message property", echo.Schema())
			}
			if got := string(lookup(t, m, "everything:get-tiny-image").Schema()); got != `{"type":"object"}` {
				t.Errorf("get-tiny-image schema = %s, want {\"type\":\"object\"}", got)
			}
			res, err := echo.Call(t.Context(), json.RawMessage(`{"message":"hi"}`))
			if err != nil {
				t.Fatalf("echo: %v", err)
			}
			if got := textOf(t, res); got != "Echo: hi" {
				t.Errorf("echo content = %q, want %q", got, "Echo: hi")
			}

			res, err = lookup(t, m, "everything:get-structured-content").Call(t.Context(), json.RawMessage(`{"location":"Chicago"}`))
			if err != nil {
				t.Fatalf("get-structured-content: %v", err)
			}
			var weather struct{ Temperature float64 }
			if err := json.Unmarshal(res.Content, &weather); err != nil {
				t.Fatalf("get-structured-content content %s is not the structured object: %v", res.Content, err)
			}
			if weather.Temperature != 36 {
				t.Errorf("temperature = %v, want the server's 36 for Chicago", weather.Temperature)
			}

			res, err = lookup(t, m, "everything:get-tiny-image").Call(t.Context(), nil)
			if err != nil {
				t.Fatalf("get-tiny-image: %v", err)
			}
			var items []struct{ Type, MimeType string }
			if err := json.Unmarshal(res.Content, &items); err != nil {
				t.Fatalf("get-tiny-image content is not an array: %v", err)
			}
			if !containsImage(items) {
				t.Errorf("get-tiny-image content has no image/png item: %s", res.Content)
			}

			res, err = echo.Call(t.Context(), json.RawMessage(`{"message":42}`))
			if err != nil {
				t.Fatalf("echo with an invalid argument: %v", err)
			}
			if !res.IsError {
				t.Errorf("echo with a number: IsError = false, want true; content %s", res.Content)
			}

			_, err = lookup(t, m, "everything:trigger-long-running-operation").Call(t.Context(), json.RawMessage(`{"duration":10,"steps":2}`))
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("long operation: error = %v, want ErrTimeout", err)
			}
			if _, err := echo.Call(t.Context(), json.RawMessage(`{"message":"after"}`)); err != nil {
				t.Fatalf("echo after the timeout: %v", err)
			}

			if cfg.Transport == manifest.MCPStdio {
				res, err = lookup(t, m, "everything:get-env").Call(t.Context(), nil)
				if err != nil {
					t.Fatalf("get-env: %v", err)
				}
				var env map[string]string
				if err := json.Unmarshal([]byte(textOf(t, res)), &env); err != nil {
					t.Fatalf("get-env text: %v", err)
				}
				if env["AGENTRY_PROBE"] != "probe-value" {
					t.Errorf("AGENTRY_PROBE = %q, want the configured value", env["AGENTRY_PROBE"])
				}
				if _, ok := env["AGENTRY_TEST_SECRET"]; ok {
					t.Error("the server inherited AGENTRY_TEST_SECRET")
				}
			}
		})
	}
}

func containsImage(items []struct{ Type, MimeType string }) bool {
	for _, item := range items {
		if item.Type == "image" && item.MimeType == "image/png" {
			return true
		}
	}
	return false
}

func TestEverythingRestart(t *testing.T) {
	for _, tc := range []struct {
		name, mode, path, transport string
	}{
		{"streamable-http", "streamableHttp", "/mcp", manifest.MCPStreamableHTTP},
		{"sse", "sse", "/sse", manifest.MCPSSE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEverything(t, tc.mode)
			opts := testOptions()
			opts.RetryMin, opts.RetryMax = 50*time.Millisecond, 500*time.Millisecond
			m := startManager(t, opts, manifest.MCP{ID: "everything", URL: e.url(tc.path), Transport: tc.transport,
				Timeout: manifest.Duration(5 * time.Second)})
			echo := lookup(t, m, "everything:echo")
			call := func() error {
				res, err := echo.Call(t.Context(), json.RawMessage(`{"message":"ping"}`))
				if err == nil && textOf(t, res) != "Echo: ping" {
					return fmt.Errorf("content %s", res.Content)
				}
				return err
			}
			if err := call(); err != nil {
				t.Fatalf("first call: %v", err)
			}

			// A restarted server has no sessions. Over streamable HTTP it
			// responds to the old session id with 400, and the call
			// reconnects and retries. Over sse the event stream ends with
			// the old process, and the call connects anew.
			e.stop()
			if tc.transport == manifest.MCPSSE {
				eventually(t, "the dropped stream is noticed", func() bool { return m.Status()["everything"] != StatusOK })
			}
			e.start()
			if err := call(); err != nil {
				t.Fatalf("call after a restart: %v", err)
			}
			if got := m.Status()["everything"]; got != StatusOK {
				t.Errorf("status after the restart = %q, want %q", got, StatusOK)
			}

			// While the server is down, calls fail and the status gives
			// the reason. Once it is back, calls work again.
			e.stop()
			if err := call(); err == nil {
				t.Fatal("call while the server is down succeeded")
			}
			if got := m.Status()["everything"]; !strings.HasPrefix(got, "degraded: ") {
				t.Errorf("status while down = %q, want degraded", got)
			}
			e.start()
			eventually(t, "calls work after the server is back", func() bool { return call() == nil })
			eventually(t, "status ok after the server is back", func() bool { return m.Status()["everything"] == StatusOK })
		})
	}
}

func TestEverythingBearer(t *testing.T) {
	e := startEverything(t, "streamableHttp")
	target, err := url.Parse(e.url(""))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // pass event streams on as they arrive
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer x")) != 1 {
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	for _, tc := range []struct {
		name, key string
		ok        bool
	}{
		{"right token", "x", true},
		{"wrong token", "y", false},
		{"no token", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := startManager(t, testOptions(), manifest.MCP{ID: "everything", URL: front.URL + "/mcp", APIKey: tc.key})
			status := m.Status()["everything"]
			if !tc.ok {
				if !strings.HasPrefix(status, "degraded: ") {
					t.Errorf("status = %q, want degraded", status)
				}
				return
			}
			if status != StatusOK {
				t.Fatalf("status = %q, want %q", status, StatusOK)
			}
			res, err := lookup(t, m, "everything:echo").Call(t.Context(), json.RawMessage(`{"message":"through the proxy"}`))
			if err != nil {
				t.Fatalf("echo: %v", err)
			}
			if got := textOf(t, res); got != "Echo: through the proxy" {
				t.Errorf("content = %q", got)
			}
		})
	}
}
