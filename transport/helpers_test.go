package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/wire"
)

const testKey = "test-key-0123456789"

// env is one running server for a test.
type env struct {
	t    *testing.T
	srv  *agentry.Server
	http *httptest.Server
	url  string
}

// setup starts a server for the manifest YAML. The string SCRIPT in the
// YAML is replaced with the path of a script file holding script, when
// script is not empty.
func setup(t *testing.T, yaml, script string) *env {
	t.Helper()
	dir := t.TempDir()
	if script != "" {
		path := filepath.Join(dir, "script.yaml")
		if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
		yaml = strings.ReplaceAll(yaml, "SCRIPT", path)
	}
	m, err := manifest.Parse([]byte(yaml), manifest.WithDir(dir), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := agentry.New(m, agentry.Options{Logger: logger})
	if err != nil {
		t.Fatalf("agentry.New: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &env{t: t, srv: srv, http: hs, url: hs.URL}
}

// demoManifest serves the built-in demo model.
const demoManifest = `
id: test
name: Test agent
agent_config:
  runtime:
    api_key: ` + testKey + `
  llms:
    default: scripted/demo
  context:
    system_prompt:
      text: You are a test agent.
`

// scriptManifest serves a scripted model whose rules are in SCRIPT, with
// the double-texting mode MODE.
func scriptManifest(mode string) string {
	return `
id: test
name: Test agent
agent_config:
  runtime:
    api_key: ` + testKey + `
    double_texting: ` + mode + `
  llms:
    default: scripted/test
    providers:
      scripted:
        script: SCRIPT
`
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r response) errorCode(t *testing.T) wire.APIError {
	t.Helper()
	var body wire.ErrorBody
	r.decode(t, &body)
	return body.Error
}

// do sends a request with the test key and a JSON body (a string is sent
// as is, anything else is marshalled).
func (e *env) do(method, path string, body any) response {
	e.t.Helper()
	return e.doWith(method, path, body, map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "application/json"})
}

func (e *env) doWith(method, path string, body any, headers map[string]string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// open opens a session and returns it.
func (e *env) open(req wire.CreateSessionRequest) wire.Session {
	e.t.Helper()
	r := e.do("POST", "/sessions", req)
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		e.t.Fatalf("open session: %d %s", r.status, r.body)
	}
	var s wire.Session
	r.decode(e.t, &s)
	return s
}

// post posts a customer message and fails the test unless it is stored.
func (e *env) post(sessionID, text string) wire.Event {
	e.t.Helper()
	r := e.do("POST", "/sessions/"+sessionID+"/messages", wire.PostMessageRequest{Text: text})
	if r.status != http.StatusCreated {
		e.t.Fatalf("post message: %d %s", r.status, r.body)
	}
	var ev wire.Event
	r.decode(e.t, &ev)
	return ev
}

// poll makes one long-poll request.
func (e *env) poll(sessionID, query string) wire.EventPage {
	e.t.Helper()
	r := e.do("GET", "/sessions/"+sessionID+"/events?"+query, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("poll %s: %d %s", query, r.status, r.body)
	}
	var page wire.EventPage
	r.decode(e.t, &page)
	return page
}

// waitReady reads events from offset from until n status ready events
// arrived, and returns every event read. It fails after 10 s.
func (e *env) waitReady(sessionID string, from int64, n int) []wire.Event {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var all []wire.Event
	for ready := 0; ready < n; {
		if time.Now().After(deadline) {
			e.t.Fatalf("no %d ready events within 10s; got %s", n, kinds(all))
		}
		page := e.poll(sessionID, "wait=5&min_offset="+itoa(from))
		for _, ev := range page.Events {
			all = append(all, ev)
			if ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady {
				ready++
			}
		}
		from = page.NextOffset
	}
	return all
}

// kinds renders events compactly for failure messages: kind or
// kind:status, and the text of messages.
func kinds(evs []wire.Event) string {
	var parts []string
	for _, ev := range evs {
		s := ev.Kind
		if ev.Status != "" {
			s += ":" + ev.Status
		}
		if ev.Text != "" {
			s += "(" + ev.Text + ")"
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
