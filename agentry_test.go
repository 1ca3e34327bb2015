package agentry_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/wire"
)

// chatServer speaks the OpenAI chat-completions wire format, returns
// reply for every request, and keeps the request bodies it received.
type chatServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newChatServer(t *testing.T, reply string) *chatServer {
	cs := &chatServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, `{"error":{"message":"no such route"}}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		cs.mu.Lock()
		cs.bodies = append(cs.bodies, string(body))
		cs.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test",
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": reply},
			}},
			"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
		})
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *chatServer) requests() []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]string(nil), cs.bodies...)
}

// serve starts the manifest's agent on a loopback HTTP server and returns
// a client for it.
func serve(t *testing.T, yaml string, env map[string]string) *client.Client {
	t.Helper()
	m, err := manifest.Parse([]byte(yaml), manifest.WithLookupEnv(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agentry.New(m, agentry.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Shutdown(context.Background())
	})
	c := client.New(hs.URL, m.AgentConfig.Runtime.APIKey)
	baseURLs.Store(c, hs.URL)
	return c
}

// baseURLs maps each client made by serve to its server's URL.
var baseURLs sync.Map

func clientURL(t *testing.T, c *client.Client) string {
	t.Helper()
	u, ok := baseURLs.Load(c)
	if !ok {
		t.Fatal("client not made by serve")
	}
	return u.(string)
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// awaitReply reads the session's events from offset from until status
// ready and returns the agent's reply text and the error event, if any.
func awaitReply(t *testing.T, c *client.Client, sessionID string, from int64) (string, *wire.ErrorInfo) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var reply string
	var failure *wire.ErrorInfo
	for ev, err := range c.Events(ctx, sessionID, from, client.PollOptions{Wait: 5 * time.Second}) {
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		switch {
		case ev.Kind == wire.KindAgentMessage:
			reply = ev.Text
		case ev.Kind == wire.KindStatus && ev.Status == wire.StatusError:
			failure = ev.Error
		case ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady:
			return reply, failure
		}
	}
	t.Fatal("no status ready within 15s")
	return "", nil
}

const openAIManifest = `
id: prompt-test
name: Prompt test
agent_config:
  runtime:
    api_key: agent-key
  llms:
    default: openai/gpt-test
    providers:
      openai:
        api_key: sk-test
        base_url: ${BASE_URL}/v1
  context:
    system_prompt:
      text: You help customers of Example Bank.
    language: German
    variables:
      - name: tier
        description: the customer's plan
        scope: customer
      - name: region
        default_value: EU
`

func TestPromptShowsVariablesNotMetadata(t *testing.T) {
	cs := newChatServer(t, "Guten Tag!")
	c := serve(t, openAIManifest, map[string]string{"BASE_URL": cs.URL})
	ctx := context.Background()

	if _, err := c.PutCustomer(ctx, "cust-1", wire.PutCustomerRequest{
		Name:      "Ada",
		Variables: map[string]any{"tier": "platinum-4471"},
		Metadata:  map[string]any{"crm_ref": "meta-customer-9001"},
	}); err != nil {
		t.Fatal(err)
	}
	s, err := c.OpenSession(ctx, wire.CreateSessionRequest{
		CustomerID: "cust-1",
		Variables:  map[string]any{"order": "ord-5512"},
		Metadata:   map[string]any{"zendesk_ticket": "meta-session-7002"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(ctx, s.ID, wire.PostMessageRequest{
		Text:     "Where is my card?",
		Metadata: map[string]any{"channel_ref": "meta-message-3003"},
	}); err != nil {
		t.Fatal(err)
	}
	reply, failure := awaitReply(t, c, s.ID, 0)
	if failure != nil {
		t.Fatalf("turn failed: %+v", failure)
	}
	if reply != "Guten Tag!" {
		t.Errorf("reply = %q", reply)
	}

	reqs := cs.requests()
	if len(reqs) != 1 {
		t.Fatalf("model received %d requests, want 1", len(reqs))
	}
	body := reqs[0]
	for _, want := range []string{"platinum-4471", "ord-5512", "region: EU", "Where is my card?", "Example Bank", "German"} {
		if !strings.Contains(body, want) {
			t.Errorf("model input lacks %q", want)
		}
	}
	for _, secret := range []string{"meta-customer-9001", "meta-session-7002", "meta-message-3003", "crm_ref", "zendesk_ticket", "channel_ref"} {
		if strings.Contains(body, secret) {
			t.Errorf("model input contains metadata %q", secret)
		}
	}
}

func TestProviderFailureEndsTurnWithError(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
	}))
	defer down.Close()
	c := serve(t, openAIManifest, map[string]string{"BASE_URL": down.URL})
	ctx := context.Background()
	s, err := c.OpenSession(ctx, wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PostMessage(ctx, s.ID, "hello"); err != nil {
		t.Fatal(err)
	}
	reply, failure := awaitReply(t, c, s.ID, 0)
	if reply != "" {
		t.Errorf("failed turn replied %q", reply)
	}
	if failure == nil || failure.Code != "model_error" {
		t.Fatalf("error event = %+v, want code model_error", failure)
	}
	if strings.Contains(failure.Message, "sk-test") {
		t.Error("error event shows the provider key")
	}
}
