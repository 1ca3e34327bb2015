package httpsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/transport/outbound"
)

// serve starts a loopback server with handler.
func serve(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return server
}

func newRetriever(t *testing.T, cfg Config) *Retriever {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// reply returns a handler that writes status and body for every
// request.
func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestSearchRequest(t *testing.T) {
	type captured struct {
		header http.Header
		body   map[string]any
		method string
	}
	cases := []struct {
		name  string
		cfg   Config
		query kb.Query
		check func(t *testing.T, got captured)
	}{
		{"bearer and defaults", Config{APIKey: testKey}, kb.Query{Text: "reset password"}, func(t *testing.T, got captured) {
			if h := got.header.Get("Authorization"); h != "Bearer "+testKey {
				t.Errorf("Authorization = %q, want the bearer key", h)
			}
			if got.body["query"] != "reset password" {
				t.Errorf("query = %v, want %q", got.body["query"], "reset password")
			}
			if got.body["top_k"] != float64(DefaultTopK) {
				t.Errorf("top_k = %v, want the default %d", got.body["top_k"], DefaultTopK)
			}
			if messages, ok := got.body["messages"].([]any); !ok || len(messages) != 0 {
				t.Errorf("messages = %#v, want []", got.body["messages"])
			}
			if _, ok := got.body["filter"]; ok {
				t.Errorf("filter = %v, want it left out", got.body["filter"])
			}
		}},
		{"no key", Config{}, kb.Query{Text: "x"}, func(t *testing.T, got captured) {
			if h, ok := got.header["Authorization"]; ok {
				t.Errorf("Authorization = %q, want no header without a key", h)
			}
		}},
		{"config top_k", Config{TopK: 7}, kb.Query{Text: "x"}, func(t *testing.T, got captured) {
			if got.body["top_k"] != float64(7) {
				t.Errorf("top_k = %v, want 7", got.body["top_k"])
			}
		}},
		{"query fields", Config{TopK: 7}, kb.Query{
			Text:     "x",
			TopK:     2,
			Messages: []kb.Message{{Role: "user", Text: "hello"}, {Role: "assistant", Text: "hi"}},
			Filter:   map[string]any{"topic": "billing", "version": 2},
		}, func(t *testing.T, got captured) {
			if got.method != http.MethodPost {
				t.Errorf("method = %s, want POST", got.method)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if got.body["top_k"] != float64(2) {
				t.Errorf("top_k = %v, want the query's 2", got.body["top_k"])
			}
			wantMessages := []any{
				map[string]any{"role": "user", "content": "hello"},
				map[string]any{"role": "assistant", "content": "hi"},
			}
			if fmt.Sprint(got.body["messages"]) != fmt.Sprint(wantMessages) {
				t.Errorf("messages = %v, want %v", got.body["messages"], wantMessages)
			}
			wantFilter := map[string]any{"topic": "billing", "version": float64(2)}
			if fmt.Sprint(got.body["filter"]) != fmt.Sprint(wantFilter) {
				t.Errorf("filter = %v, want %v", got.body["filter"], wantFilter)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requests := make(chan captured, 1)
			server := serve(t, func(w http.ResponseWriter, r *http.Request) {
				var body map[string]any
				if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
					t.Errorf("request body: %v", err)
				}
				requests <- captured{header: r.Header.Clone(), body: body, method: r.Method}
				io.WriteString(w, `{"results": []}`)
			})
			c.cfg.URL = server.URL
			chunks, err := newRetriever(t, c.cfg).Search(t.Context(), c.query)
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if len(chunks) != 0 {
				t.Errorf("got %d chunks from an empty result list", len(chunks))
			}
			c.check(t, <-requests)
		})
	}
}

func TestSearchResults(t *testing.T) {
	// The endpoint ignores the filter and top_k, and returns results
	// unsorted.
	body := `{"results": [
		{"id": "low", "content": "c1", "score": 0.1, "metadata": {"topic": "billing"}},
		{"id": "high", "content": "c2", "score": 0.9, "metadata": {"topic": "billing", "title": "Invoices"}},
		{"id": "other", "content": "c3", "score": 0.95, "metadata": {"topic": "security"}},
		{"id": "mid", "content": "c4", "score": 0.5, "metadata": {"topic": "billing"}},
		{"id": "bare", "content": "c5", "score": 0.7}
	]}`
	server := serve(t, reply(http.StatusOK, body))
	r := newRetriever(t, Config{URL: server.URL})
	cases := []struct {
		name  string
		query kb.Query
		want  []string
	}{
		{"sorted", kb.Query{Text: "x", TopK: 10}, []string{"other", "high", "bare", "mid", "low"}},
		{"top_k", kb.Query{Text: "x", TopK: 2}, []string{"other", "high"}},
		{"filter", kb.Query{Text: "x", TopK: 10, Filter: map[string]any{"topic": "billing"}}, []string{"high", "mid", "low"}},
		{"filter then top_k", kb.Query{Text: "x", TopK: 1, Filter: map[string]any{"topic": "billing"}}, []string{"high"}},
		{"filter no match", kb.Query{Text: "x", Filter: map[string]any{"topic": "data"}}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chunks, err := r.Search(t.Context(), c.query)
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			got := make([]string, len(chunks))
			for i, ch := range chunks {
				got[i] = ch.ID
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("results %v, want %v", got, c.want)
			}
		})
	}

	t.Run("fields", func(t *testing.T) {
		chunks, err := r.Search(t.Context(), kb.Query{Text: "x", TopK: 2})
		if err != nil {
			t.Fatal(err)
		}
		high := chunks[1]
		if high.Content != "c2" || high.Score != 0.9 || high.Title() != "Invoices" {
			t.Errorf("chunk %+v, want content c2, score 0.9, title Invoices", high)
		}
	})
}

func TestSearchNullResults(t *testing.T) {
	server := serve(t, reply(http.StatusOK, `{"results": null}`))
	chunks, err := newRetriever(t, Config{URL: server.URL}).Search(t.Context(), kb.Query{Text: "x"})
	if err != nil || len(chunks) != 0 {
		t.Errorf("Search = %v, %v, want no chunks and no error", chunks, err)
	}
}

func TestSearchUnavailable(t *testing.T) {
	large := `{"results": [{"id": "a", "content": "` + strings.Repeat("x", 300) + `", "score": 1}]}`
	slow := func(w http.ResponseWriter, r *http.Request) {
		// The server notices a closed connection only after the body is
		// read.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	cases := []struct {
		name    string
		handler http.HandlerFunc
		cfg     func(cfg Config) Config
		url     string // instead of the server's
		want    []string
		wrap    error
	}{
		{name: "server error echoing the key", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream failed; auth was "+r.Header.Get("Authorization"), http.StatusBadGateway)
		}, want: []string{"502", "upstream failed", "[api key]"}},
		{name: "unauthorized", handler: reply(http.StatusUnauthorized, "no"), want: []string{"401", "check the API key"}},
		{name: "redirect", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, want: []string{"302", "redirects are not followed"}},
		{name: "not JSON", handler: reply(http.StatusOK, "<html>hello</html>"), want: []string{"invalid JSON"}},
		{name: "empty body", handler: reply(http.StatusNoContent, ""), want: []string{"invalid JSON"}},
		{name: "truncated JSON", handler: reply(http.StatusOK, `{"results": [`), want: []string{"invalid JSON", "ends early"}},
		{name: "chunked body cut by client", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, large[:50])
			w.(http.Flusher).Flush() // no Content-Length
			io.WriteString(w, large[50:])
		}, cfg: func(cfg Config) Config {
			cfg.Client = outbound.NewTrusted(outbound.Config{MaxResponseBytes: 100})
			return cfg
		}, want: []string{"ends early after 100 bytes"}},
		{name: "no results field", handler: reply(http.StatusOK, `{"hits": []}`), want: []string{`no "results"`}},
		{name: "results not array", handler: reply(http.StatusOK, `{"results": {}}`), want: []string{`invalid "results"`}},
		{name: "missing id", handler: reply(http.StatusOK, `{"results": [{"content": "c", "score": 1}]}`),
			want: []string{`result 0 has no "id"`}},
		{name: "empty id", handler: reply(http.StatusOK, `{"results": [{"id": "", "content": "c", "score": 1}]}`),
			want: []string{`result 0 has no "id"`}},
		{name: "missing content", handler: reply(http.StatusOK, `{"results": [{"id": "a", "score": 1}]}`),
			want: []string{`result 0 ("a") has no "content"`}},
		{name: "missing score", handler: reply(http.StatusOK, `{"results": [{"id": "a", "content": "c"}]}`),
			want: []string{`result 0 ("a") has no "score"`}},
		{name: "score not number", handler: reply(http.StatusOK, `{"results": [{"id": "a", "content": "c", "score": "high"}]}`),
			want: []string{`invalid "results"`}},
		{name: "metadata not object", handler: reply(http.StatusOK, `{"results": [{"id": "a", "content": "c", "score": 1, "metadata": "x"}]}`),
			want: []string{`invalid "results"`}},
		{name: "body over limit", handler: reply(http.StatusOK, large), cfg: func(cfg Config) Config {
			cfg.MaxResponseBytes = 100
			return cfg
		}, want: []string{"larger than 100 bytes"}},
		{name: "body cut by client", handler: reply(http.StatusOK, large), cfg: func(cfg Config) Config {
			cfg.Client = outbound.NewTrusted(outbound.Config{MaxResponseBytes: 100})
			return cfg
		}, want: []string{"cut at 100 of", "MaxResponseBytes"}},
		{name: "timeout", handler: slow, cfg: func(cfg Config) Config {
			cfg.Timeout = 100 * time.Millisecond
			return cfg
		}, want: []string{"timed out after 100ms"}, wrap: context.DeadlineExceeded},
		{name: "client timeout", handler: slow, cfg: func(cfg Config) Config {
			cfg.Client = outbound.NewTrusted(outbound.Config{Timeout: 100 * time.Millisecond})
			return cfg
		}, want: []string{"Client.Timeout"}},
		{name: "connection refused", url: closed.URL, want: []string{"connect"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := c.url
			if url == "" {
				url = serve(t, c.handler).URL + "/search?token=secret-in-url"
			}
			cfg := Config{URL: url, APIKey: testKey}
			if c.cfg != nil {
				cfg = c.cfg(cfg)
			}
			_, err := newRetriever(t, cfg).Search(t.Context(), kb.Query{Text: "x"})
			if !errors.Is(err, kb.ErrUnavailable) {
				t.Fatalf("error %v, want kb.ErrUnavailable", err)
			}
			if c.wrap != nil && !errors.Is(err, c.wrap) {
				t.Errorf("error %v does not wrap %v", err, c.wrap)
			}
			msg := err.Error()
			for _, want := range c.want {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			for _, secret := range []string{testKey, "secret-in-url"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q contains the secret %q", msg, secret)
				}
			}
		})
	}
}

func TestSearchCancelledInFlight(t *testing.T) {
	started := make(chan struct{})
	server := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		close(started)
		<-r.Context().Done()
	})
	r := newRetriever(t, Config{URL: server.URL})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started
		cancel()
	}()
	_, err := r.Search(ctx, kb.Query{Text: "x"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if errors.Is(err, kb.ErrUnavailable) {
		t.Errorf("error %v wraps kb.ErrUnavailable, but the caller cancelled", err)
	}
}

func TestSearchInvalidFilter(t *testing.T) {
	r := newRetriever(t, Config{URL: "http://127.0.0.1:1"})
	_, err := r.Search(t.Context(), kb.Query{Text: "x", Filter: map[string]any{"f": make(chan int)}})
	if !errors.Is(err, kb.ErrInvalidQuery) {
		t.Errorf("error %v, want kb.ErrInvalidQuery", err)
	}
}

func TestNewInvalid(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		hidden string // must not appear in the error
	}{
		{name: "empty URL", cfg: Config{}},
		{name: "relative URL", cfg: Config{URL: "/search"}},
		{name: "other scheme", cfg: Config{URL: "ftp://host/x?token=abc"}, hidden: "token=abc"},
		{name: "no host", cfg: Config{URL: "http:///search"}},
		{name: "unparsable URL with user", cfg: Config{URL: "http://user:pa ss@host/%zz"}, hidden: "pa ss"},
		{name: "key with newline", cfg: Config{URL: "http://127.0.0.1", APIKey: "sk-abc\nX-Injected: 1"}, hidden: "sk-abc"},
		{name: "negative top_k", cfg: Config{URL: "http://127.0.0.1", TopK: -1}},
		{name: "negative timeout", cfg: Config{URL: "http://127.0.0.1", Timeout: -time.Second}},
		{name: "negative max bytes", cfg: Config{URL: "http://127.0.0.1", MaxResponseBytes: -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v, want ErrInvalidConfig", err)
			}
			if c.hidden != "" && strings.Contains(err.Error(), c.hidden) {
				t.Errorf("error %q shows %q", err, c.hidden)
			}
		})
	}
}
