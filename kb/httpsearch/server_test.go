package httpsearch

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/kb/kbtest"
	"github.com/agentry/agentry/kb/memory"
	"github.com/agentry/agentry/transport/outbound"
)

const testKey = "sk-test-0123456789abcdef"

// searchServer is a search endpoint that implements the contract over a
// kb/memory corpus, as an integrator's service would.
type searchServer struct {
	corpus *memory.Retriever
	apiKey string
}

func (s *searchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}

	if s.apiKey != "" {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, []byte("Bearer "+s.apiKey)) != 1 {
			http.Error(w, "invalid bearer token", http.StatusUnauthorized)
			return
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		http.Error(w, "content type "+ct+", want application/json", http.StatusUnsupportedMediaType)
		return
	}

	decoder := json.NewDecoder(r.Body)
	decoder.DisallowUnknownFields()
	var req Request
	if err := decoder.Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.Messages == nil {
		http.Error(w, "messages must be an array", http.StatusBadRequest)
		return
	}

	chunks, err := s.corpus.Search(r.Context(), kb.Query{
		Text: req.Query, Messages: req.Messages, TopK: req.TopK, Filter: req.Filter,
	})
	switch {
	case errors.Is(err, kb.ErrInvalidQuery):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}

	resp := Response{Results: make([]Result, len(chunks))}
	for i, c := range chunks {
		resp.Results[i] = Result{ID: c.ID, Content: c.Content, Score: c.Score, Metadata: c.Metadata}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// startSearchServer serves docs from a memory corpus on loopback.
func startSearchServer(t *testing.T, docs []kbtest.Doc, apiKey string) *httptest.Server {
	t.Helper()
	documents := make([]memory.Document, len(docs))
	for i, d := range docs {
		documents[i] = memory.Document{ID: d.ID, Text: d.Content, Metadata: d.Metadata}
	}
	corpus, err := memory.New(t.Context(), documents, memory.Options{})
	if err != nil {
		t.Fatalf("memory.New: %v", err)
	}
	server := httptest.NewServer(&searchServer{corpus: corpus, apiKey: apiKey})
	t.Cleanup(server.Close)
	return server
}

func TestConformance(t *testing.T) {
	kbtest.Run(t, func(t *testing.T, docs []kbtest.Doc) kb.Retriever {
		server := startSearchServer(t, docs, testKey)
		r, err := New(Config{
			URL:    server.URL + "/search",
			APIKey: testKey,
			Client: outbound.NewTrusted(outbound.Config{Timeout: 5 * time.Second, MaxResponseBytes: DefaultMaxResponseBytes}),
		})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return r
	}, kbtest.Options{DocID: func(c kb.Chunk) string {
		id, _, _ := strings.Cut(c.ID, "#")
		return id
	}})
}

func TestSearchWrongKey(t *testing.T) {
	server := startSearchServer(t, kbtest.Corpus(), testKey)
	r, err := New(Config{URL: server.URL, APIKey: "sk-wrong-key"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Search(t.Context(), kb.Query{Text: "password"})
	if !errors.Is(err, kb.ErrUnavailable) {
		t.Fatalf("error %v, want kb.ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "check the API key") {
		t.Errorf("error %q, want the status 401 and a hint to check the API key", err)
	}
	if strings.Contains(err.Error(), "sk-wrong-key") {
		t.Errorf("error %q contains the API key", err)
	}
}
