package client_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/wire"
)

const testKey = "client-test-key-0123"

// testManifest serves a scripted model whose rules are in the file SCRIPT.
// Every session starts with the greeting "Welcome!".
const testManifest = `
id: client-test
name: Client test agent
agent_config:
  runtime:
    api_key: ` + testKey + `
  llms:
    default: scripted/client
    providers:
      scripted:
        script: SCRIPT
  context:
    system_prompt:
      text: You are a test agent.
    greeting: Welcome!
`

// testScript replies "echo: <message>" at once, and "too late" after 30s
// to a message that starts with "slow".
const testScript = `
- when: {user_matches: "^slow"}
  reply: {text: "too late"}
  delay: 30s
- reply: {text: "echo: {{.LastUser}}"}
`

// testServer is one agentry server on loopback.
type testServer struct {
	agent *agentry.Server
	// url serves the agent's API unchanged.
	url string
}

// startServer starts an agentry server for testManifest and returns it.
func startServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "script.yaml")
	if err := os.WriteFile(path, []byte(testScript), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := strings.ReplaceAll(testManifest, "SCRIPT", path)
	m, err := manifest.Parse([]byte(yaml), manifest.WithDir(dir), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	agent, err := agentry.New(m, agentry.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("agentry.New: %v", err)
	}
	if err := agent.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	ts := &testServer{agent: agent}
	ts.url = ts.serve(t, agent)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := agent.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return ts
}

// serve serves h on a new loopback HTTP server, closed when the test
// ends, and returns its URL.
func (ts *testServer) serve(t *testing.T, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

// client returns a client of the unchanged API with the right key.
func (ts *testServer) client() *client.Client {
	return client.New(ts.url, testKey)
}

// testContext returns a context that ends with the test or after d.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// openSession opens a new session and fails the test on error.
func openSession(t *testing.T, c *client.Client, req wire.CreateSessionRequest) wire.Session {
	t.Helper()
	s, err := c.OpenSession(testContext(t, 5*time.Second), req)
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	return s
}

// postMessage posts text and fails the test on error.
func postMessage(t *testing.T, c *client.Client, sessionID, text string) wire.Event {
	t.Helper()
	ev, err := c.PostMessage(testContext(t, 5*time.Second), sessionID, text)
	if err != nil {
		t.Fatalf("PostMessage %q: %v", text, err)
	}
	return ev
}

// readUntilReady returns the session's events from offset from up to and
// including the next status ready.
func readUntilReady(t *testing.T, c *client.Client, sessionID string, from int64) []wire.Event {
	t.Helper()
	var evs []wire.Event
	for ev, err := range c.Events(testContext(t, 10*time.Second), sessionID, from, client.PollOptions{Wait: 5 * time.Second}) {
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		evs = append(evs, ev)
		if isReady(ev) {
			return evs
		}
	}
	t.Fatalf("no status ready within 10s after offset %d; got %s", from, kinds(evs))
	return nil
}

func isReady(ev wire.Event) bool {
	return ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady
}

func hasStatus(evs []wire.Event, status string) bool {
	for _, ev := range evs {
		if ev.Kind == wire.KindStatus && ev.Status == status {
			return true
		}
	}
	return false
}

// kinds lists events as "offset:kind[/status]" for failure messages.
func kinds(evs []wire.Event) string {
	parts := make([]string, len(evs))
	for i, ev := range evs {
		parts[i] = fmt.Sprintf("%d:%s", ev.Offset, ev.Kind)
		if ev.Status != "" {
			parts[i] += "/" + ev.Status
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
