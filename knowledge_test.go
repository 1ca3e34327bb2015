package agentry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/agentry/agentry/transport/wire"
)

// kbManifest serves an OpenAI-format model at BASE with the search block
// SEARCH.
const kbManifest = `
id: kb
name: KB test
agent_config:
  runtime:
    api_key: agent-key
  llms:
    default: openai/gpt-test
    providers:
      openai: {api_key: sk-test, base_url: BASE/v1}
  search:
SEARCH
`

func TestKnowledgeBaseSnippetsAndCitations(t *testing.T) {
	docs := t.TempDir()
	files := map[string]string{
		"cards.md":  "# Card delivery\n\nNew debit cards arrive within five working days by post.\n",
		"travel.md": "# Travel insurance\n\nThe premium plan covers travel insurance worldwide.\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(docs, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ss := newSequenceServer(t,
		map[string]any{"role": "assistant", "content": "Hello! How can I help?"},
		map[string]any{"role": "assistant", "content": "When will my debit card arrive?"}, // the query rewrite
		map[string]any{"role": "assistant", "content": "Within five working days."},
	)
	search := "    type: memory\n    documents: [" + docs + "]\n    top_k: 1"
	yaml := strings.NewReplacer("BASE", ss.URL, "SEARCH", search).Replace(kbManifest)
	c := serveTools(t, yaml, "", nil)
	s, err := c.OpenSession(context.Background(), wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// A first message needs no rewrite: it is the query itself.
	turnEvents(t, c, s.ID, "hello there")
	evs := turnEvents(t, c, s.ID, "and when does my new one come?")
	reply := find(evs, wire.KindAgentMessage)
	if reply == nil || len(reply.Citations) != 1 {
		t.Fatalf("reply = %+v, want one citation", reply)
	}
	if !strings.HasPrefix(reply.Citations[0].ID, filepath.Join(docs, "cards.md")) || reply.Citations[0].Title != "Card delivery" {
		t.Errorf("citation = %+v, want the card delivery chunk", reply.Citations[0])
	}
	reqs := ss.requests()
	if len(reqs) != 3 {
		t.Fatalf("model got %d requests, want a reply, a rewrite and a reply", len(reqs))
	}
	if !strings.Contains(reqs[1], "standalone search query") {
		t.Errorf("the second request is not the query rewrite: %.300s", reqs[1])
	}
	prompt := reqs[2]
	if !strings.Contains(prompt, "five working days") || !strings.Contains(prompt, "untrusted") {
		t.Errorf("the reply's prompt lacks the snippet marked as untrusted: %.400s", prompt)
	}
	if strings.Contains(prompt, "travel insurance worldwide") {
		t.Error("the prompt holds a chunk beyond top_k")
	}
}

func TestKnowledgeBaseFailureStillReplies(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer down.Close()
	ss := newSequenceServer(t,
		map[string]any{"role": "assistant", "content": "card delivery time"},
		map[string]any{"role": "assistant", "content": "I could not look that up, sorry."},
	)
	search := "    type: external\n    url: " + down.URL + "/search"
	yaml := strings.NewReplacer("BASE", ss.URL, "SEARCH", search).Replace(kbManifest)
	c := serveTools(t, yaml, "", nil)
	s, err := c.OpenSession(context.Background(), wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	evs := turnEvents(t, c, s.ID, "when does my card come?")
	reply := find(evs, wire.KindAgentMessage)
	if reply == nil || reply.Text == "" {
		t.Fatalf("no reply after the search failed: %v", kindsOf(evs))
	}
	if len(reply.Citations) != 0 {
		t.Errorf("citations = %+v, want none", reply.Citations)
	}
}

func TestKnowledgeBaseSearchIsTraced(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(provider)
	t.Cleanup(func() { otel.SetTracerProvider(previous) })

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer down.Close()
	ss := newSequenceServer(t, map[string]any{"role": "assistant", "content": "Sorry."})
	search := "    type: external\n    url: " + down.URL + "/search"
	yaml := strings.NewReplacer("BASE", ss.URL, "SEARCH", search).Replace(kbManifest)
	c := serveTools(t, yaml, "", nil)
	s, err := c.OpenSession(context.Background(), wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	turnEvents(t, c, s.ID, "when does my card come?")

	var found bool
	for _, span := range recorder.Ended() {
		if span.Name() != "kb.search" {
			continue
		}
		found = true
		if span.Status().Code != codes.Error || len(span.Events()) == 0 {
			t.Errorf("kb.search span status %v with %d events, want an error with the recorded exception", span.Status().Code, len(span.Events()))
		}
		var sessionAttr bool
		for _, a := range span.Attributes() {
			sessionAttr = sessionAttr || (string(a.Key) == "agentry.session_id" && a.Value.AsString() == s.ID)
		}
		if !sessionAttr {
			t.Errorf("kb.search span lacks the session id: %v", span.Attributes())
		}
	}
	if !found {
		t.Fatal("no kb.search span was recorded")
	}
}
