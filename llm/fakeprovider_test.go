package llm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"
)

// toolNamePattern is the tool name pattern OpenAI and Anthropic enforce.
var toolNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// received is one request a fake provider received.
type received struct {
	at     time.Time
	header http.Header
	body   map[string]any
}

// responseFunc writes one response of a fake provider.
type responseFunc func(w http.ResponseWriter, r *http.Request)

// fakeProvider is an httptest server that checks requests like a provider
// does and responds from a queue, repeating the last response.
type fakeProvider struct {
	t        *testing.T
	srv      *httptest.Server
	validate func(r *http.Request, body map[string]any) (status int, msg string)
	errorFmt func(msg string) any

	mu        sync.Mutex
	requests  []received
	responses []responseFunc
}

func newFakeProvider(t *testing.T, path string, validate func(*http.Request, map[string]any) (int, string), errorFmt func(string) any) *fakeProvider {
	t.Helper()
	f := &fakeProvider{t: t, validate: validate, errorFmt: errorFmt}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+path, f.serve)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.fail(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, received{at: time.Now(), header: r.Header.Clone(), body: body})
	var respond responseFunc
	if len(f.responses) > 0 {
		respond = f.responses[0]
		if len(f.responses) > 1 {
			f.responses = f.responses[1:]
		}
	}
	f.mu.Unlock()
	if status, msg := f.validate(r, body); status != 0 {
		f.fail(w, status, msg)
		return
	}
	if respond == nil {
		f.fail(w, http.StatusInternalServerError, "no response queued")
		return
	}
	respond(w, r)
}

func (f *fakeProvider) fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, f.errorFmt(msg))
}

// queue appends responses.
func (f *fakeProvider) queue(responses ...responseFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.responses = append(f.responses, responses...)
}

func (f *fakeProvider) received() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.requests...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// statusResponse responds with status and an error body in the provider's
// format. header holds key and value pairs.
func (f *fakeProvider) statusResponse(status int, header ...string) responseFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		f.fail(w, status, fmt.Sprintf("status %d from the fake provider", status))
	}
}

// hangResponse blocks until the client goes away, and closes arrived first.
func hangResponse(arrived chan<- struct{}) responseFunc {
	var once sync.Once
	return func(_ http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-r.Context().Done()
	}
}

// checkToolName returns an error message when name breaks the pattern.
func checkToolName(where, name string) string {
	if !toolNamePattern.MatchString(name) {
		return fmt.Sprintf("%s: tool name %q does not match %s", where, name, toolNamePattern)
	}
	return ""
}

func asMaps(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
