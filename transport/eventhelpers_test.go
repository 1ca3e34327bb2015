package transport_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport"
	"github.com/agentry/agentry/transport/outbound"
	"github.com/agentry/agentry/transport/sink"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// hookToken is the bearer token of the webhook POSTs in these tests.
const hookToken = "hook-token-0123456789"

// hookKey signs the webhook POSTs to sessions' URLs in these tests.
var hookKey = []byte("0123456789abcdef0123456789abcdef")

// hookSecret is hookKey as a signing secret.
var hookSecret = webhook.SecretPrefix + base64.StdEncoding.EncodeToString(hookKey)

// hookRequest is one POST a hookReceiver got, with the status it sent: 0
// when the sender went away before a response.
type hookRequest struct {
	header http.Header
	body   []byte
	event  wire.Event
	at     time.Time
	status int
}

// hookReceiver is an event webhook receiver on loopback. respond writes
// the response to the n-th request (from 0); the default is 204.
type hookReceiver struct {
	*httptest.Server
	respond func(n int, w http.ResponseWriter, r *http.Request)

	mu          sync.Mutex
	requests    []hookRequest
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
}

func newHookReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *hookReceiver {
	t.Helper()
	h := &hookReceiver{respond: respond}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	for {
		high := h.maxInFlight.Load()
		if n <= high || h.maxInFlight.CompareAndSwap(high, n) {
			break
		}
	}
	body, _ := io.ReadAll(r.Body)
	req := hookRequest{header: r.Header.Clone(), body: body, at: time.Now()}
	_ = json.Unmarshal(body, &req.event)

	h.mu.Lock()
	index := len(h.requests)
	h.requests = append(h.requests, req)
	h.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w}
	if h.respond != nil {
		h.respond(index, rec, r)
	} else {
		rec.WriteHeader(http.StatusNoContent)
	}
	if rec.status == 0 && r.Context().Err() == nil {
		rec.status = http.StatusOK // net/http's implicit status
	}
	h.mu.Lock()
	h.requests[index].status = rec.status
	h.mu.Unlock()
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// all returns a copy of the requests so far.
func (h *hookReceiver) all() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.requests)
}

// offsets returns the offsets of the session's events in arrival order.
// With accepted set it keeps only those the receiver responded 2xx to.
func (h *hookReceiver) offsets(sessionID string, accepted bool) []int64 {
	var out []int64
	for _, r := range h.all() {
		if r.event.SessionID != sessionID {
			continue
		}
		if accepted && (r.status < 200 || r.status > 299) {
			continue
		}
		out = append(out, r.event.Offset)
	}
	return out
}

// waitAccepted waits until the session's events up to offset last were
// accepted, and returns the accepted offsets.
func (h *hookReceiver) waitAccepted(t *testing.T, sessionID string, last int64) []int64 {
	t.Helper()
	var got []int64
	waitUntil(t, 10*time.Second, func() bool {
		got = h.offsets(sessionID, true)
		return len(got) > 0 && got[len(got)-1] >= last
	}, fmt.Sprintf("session %s: events up to offset %d accepted", sessionID, last))
	return got
}

// waitUntil polls cond until it holds, failing the test after timeout.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sequence returns the offsets from 0 to n-1.
func sequence(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

// testLogger discards logs unless the tests run verbose.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newWebhookSink returns the webhook sink with a guarded client that
// reaches 127.0.0.1, and attempts bounded by timeout.
func newWebhookSink(t testing.TB, timeout time.Duration) *sink.Webhook {
	t.Helper()
	client, err := outbound.NewClient(outbound.Config{AllowHosts: []string{"127.0.0.1"}, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := sink.NewWebhook(sink.WebhookConfig{
		Client:      client,
		BearerToken: hookToken,
		SigningKeys: [][]byte{hookKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	return hook
}

// deliveryConfig returns a config with the webhook sink, a fast retry
// schedule of three retries without jitter, and 2s attempts.
func deliveryConfig(t testing.TB, st store.Store) transport.EventDelivererConfig {
	return transport.EventDelivererConfig{
		Store:          st,
		Sinks:          []sink.Sink{newWebhookSink(t, 2*time.Second)},
		Schedule:       &outbound.Schedule{Delays: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}},
		AttemptTimeout: 2 * time.Second,
		PollInterval:   50 * time.Millisecond,
		Logger:         testLogger(),
	}
}

// startDeliverer starts a deliverer and stops it when the test ends.
func startDeliverer(t testing.TB, cfg transport.EventDelivererConfig) *transport.EventDeliverer {
	t.Helper()
	d, err := transport.NewEventDeliverer(cfg)
	if err != nil {
		t.Fatalf("NewEventDeliverer: %v", err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return d
}

// openHookSession creates a session that delivers to url.
func openHookSession(t testing.TB, st *memory.Store, id, url string) {
	t.Helper()
	if _, _, err := st.CreateSession(context.Background(), store.Session{ID: id, WebhookURL: url}, nil); err != nil {
		t.Fatalf("CreateSession(%q): %v", id, err)
	}
}

// appendTexts appends one user_message event per text.
func appendTexts(t testing.TB, st store.Store, id string, texts ...string) {
	t.Helper()
	events := make([]store.NewEvent, len(texts))
	for i, text := range texts {
		payload, err := json.Marshal(map[string]string{"text": text, "source": "customer"})
		if err != nil {
			t.Fatal(err)
		}
		events[i] = store.NewEvent{Kind: "user_message", Payload: payload}
	}
	if _, err := st.Append(context.Background(), id, events, store.AppendOptions{}); err != nil {
		t.Fatalf("Append(%q): %v", id, err)
	}
}

// appendN appends n events with the texts "m0", "m1" and so on.
func appendN(t testing.TB, st store.Store, id string, n int) {
	t.Helper()
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprint("m", i)
	}
	appendTexts(t, st, id, texts...)
}

// deliveryOf returns the session's delivery state for the sink.
func deliveryOf(t testing.TB, st store.Store, id, sinkName string) store.Delivery {
	t.Helper()
	sess, err := st.GetSession(context.Background(), id)
	if err != nil {
		t.Fatalf("GetSession(%q): %v", id, err)
	}
	d, ok := sess.Deliveries[sinkName]
	if !ok {
		d.State = store.DeliveryActive
	}
	return d
}

// waitState waits until the session's delivery to the sink is in state.
func waitState(t *testing.T, st store.Store, id, sinkName, state string) store.Delivery {
	t.Helper()
	var d store.Delivery
	waitUntil(t, 10*time.Second, func() bool {
		d = deliveryOf(t, st, id, sinkName)
		return d.State == state
	}, fmt.Sprintf("session %s: delivery to %s %s", id, sinkName, state))
	return d
}

// waitCursor waits until the session's cursor for the sink reaches
// cursor, because a receiver responds before the deliverer stores the
// outcome.
func waitCursor(t *testing.T, st store.Store, id, sinkName string, cursor int64) store.Delivery {
	t.Helper()
	var d store.Delivery
	waitUntil(t, 10*time.Second, func() bool {
		d = deliveryOf(t, st, id, sinkName)
		return d.Cursor >= cursor
	}, fmt.Sprintf("session %s: cursor of %s at %d", id, sinkName, cursor))
	return d
}
