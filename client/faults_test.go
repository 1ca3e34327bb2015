package client_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fault is a way a long-poll request fails on its way to the client.
type fault int

const (
	// dropBeforeResponse closes the connection before any response byte.
	dropBeforeResponse fault = iota
	// unavailableAfterRead lets the server read the events, then sends a
	// 503 with a JSON error body instead of them.
	unavailableAfterRead
	// truncatedBody sends the status, the headers and the first half of
	// the events page, then aborts the connection.
	truncatedBody
	// badGatewayText sends a 502 with a plain-text body, as a proxy does.
	badGatewayText
	numFaults
)

var faultNames = [numFaults]string{"drop before response", "503 after read", "truncated body", "502 text"}

// faultyEvents passes requests to next, except that every second
// long-poll request (GET .../events) fails with the next fault in turn.
// Faults that need the real response apply only to a 200, so a real 401
// or 404 always reaches the client.
type faultyEvents struct {
	next http.Handler

	mu       sync.Mutex
	polls    int
	injected [numFaults]int
}

func (f *faultyEvents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/events") {
		f.next.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	f.polls++
	n := f.polls
	f.mu.Unlock()
	if n%2 == 1 {
		f.next.ServeHTTP(w, r)
		return
	}
	kind := fault(n / 2 % int(numFaults))
	switch kind {
	case dropBeforeResponse:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic("hijacking a long-poll connection: " + err.Error())
		}
		f.count(kind)
		_ = conn.Close()
		return
	case badGatewayText:
		f.count(kind)
		http.Error(w, "upstream unavailable", http.StatusBadGateway)
		return
	}

	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	f.count(kind)
	w.Header().Set("Content-Type", "application/json")
	if kind == unavailableAfterRead {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"code":"not_ready","message":"the store is unreachable"}}`))
		return
	}
	body := rec.Body.Bytes()
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body[:len(body)/2])
	_ = http.NewResponseController(w).Flush()
	// The server closes the connection without logging for this value.
	panic(http.ErrAbortHandler)
}

func (f *faultyEvents) count(kind fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.injected[kind]++
}

// counts returns how often each fault was injected.
func (f *faultyEvents) counts() [numFaults]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// throttleFirstPoll rejects the first long-poll request with a 429 and
// Retry-After: 1, passes every other request to next, and records when
// each long-poll request arrived.
type throttleFirstPoll struct {
	next http.Handler

	mu       sync.Mutex
	arrivals []time.Time
}

func (f *throttleFirstPoll) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/events") {
		f.next.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	f.arrivals = append(f.arrivals, time.Now())
	first := len(f.arrivals) == 1
	f.mu.Unlock()
	if !first {
		f.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(`{"error":{"code":"rate_limited","message":"too many requests"}}`))
}

func (f *throttleFirstPoll) times() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.arrivals...)
}
