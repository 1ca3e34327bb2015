package agentry_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport/sink"
	"github.com/agentry/agentry/transport/wire"
)

const eventKey = "event-test-key-0123456"

var eventSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("event-signing-key-event-signing-k"))

// eventManifest greets every session, signs event webhooks, lets session
// webhook URLs reach 127.0.0.1 and retries twice after 10ms.
var eventManifest = `
id: events
name: Event webhook agent
agent_config:
  runtime:
    api_key: ` + eventKey + `
    signing_secret: ` + eventSecret + `
    outbound:
      allow_hosts: ["127.0.0.1"]
    delivery:
      retry_schedule: ["10ms", "10ms"]
  llms:
    default: scripted/demo
  context:
    greeting: Hello! How can I help?
`

// startEventServer serves yaml with opts on loopback and returns its
// client.
func startEventServer(t *testing.T, yaml string, opts agentry.Options) *client.Client {
	t.Helper()
	m, err := manifest.Parse([]byte(yaml), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := agentry.New(m, opts)
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
	return client.New(hs.URL, eventKey)
}

// eventHooks receives event webhooks, checks them with the Go client's
// verifier and keeps the events it accepted. status, when set, picks
// the response status of each verified request by its number n.
type eventHooks struct {
	*httptest.Server
	status func(n int, ev wire.Event) int

	mu       sync.Mutex
	n        int
	accepted []wire.Event
	received []int64
	rejected int
}

func newEventHooks(t *testing.T, status func(n int, ev wire.Event) int) *eventHooks {
	h := &eventHooks{status: status}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := client.VerifyEvent(r, eventKey, eventSecret)
		h.mu.Lock()
		if err != nil {
			h.rejected++
			h.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		n := h.n
		h.n++
		h.received = append(h.received, ev.Offset)
		h.mu.Unlock()
		code := http.StatusNoContent
		if h.status != nil {
			code = h.status(n, ev)
		}
		if code < 300 {
			h.mu.Lock()
			h.accepted = append(h.accepted, ev)
			h.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *eventHooks) snapshot() (accepted []wire.Event, received []int64, rejected int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]wire.Event(nil), h.accepted...), append([]int64(nil), h.received...), h.rejected
}

// waitOffsets waits until the accepted events reach offset last and
// returns their offsets.
func (h *eventHooks) waitOffsets(t *testing.T, last int64) []int64 {
	t.Helper()
	var offsets []int64
	waitFor(t, func() bool {
		accepted, _, _ := h.snapshot()
		offsets = offsets[:0]
		for _, ev := range accepted {
			offsets = append(offsets, ev.Offset)
		}
		return len(offsets) > 0 && offsets[len(offsets)-1] >= last
	}, "events accepted up to the offset")
	return offsets
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// converse posts text and returns the session's events up to the turn's
// status ready, read by long-poll.
func converse(t *testing.T, c *client.Client, sessionID string, from int64, text string) []wire.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.PostMessage(ctx, sessionID, text); err != nil {
		t.Fatal(err)
	}
	var out []wire.Event
	for ev, err := range c.Events(ctx, sessionID, from, client.PollOptions{Wait: 5 * time.Second}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
		if ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady {
			break
		}
	}
	return out
}

func offsetsUpTo(n int64) []int64 {
	out := make([]int64, n+1)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

func TestEventWebhookMatchesLongPoll(t *testing.T) {
	hooks := newEventHooks(t, nil)
	c := startEventServer(t, eventManifest, agentry.Options{})
	ctx := context.Background()
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{ID: "flow-2b", WebhookURL: hooks.URL + "/agentry"})
	if err != nil {
		t.Fatal(err)
	}
	polled := converse(t, c, sess.ID, 0, "Hello! What can you do?")
	polled = append(polled, converse(t, c, sess.ID, polled[len(polled)-1].Offset+1, "Thanks!")...)
	last := polled[len(polled)-1].Offset
	if got := hooks.waitOffsets(t, last); !reflect.DeepEqual(got, offsetsUpTo(last)) {
		t.Fatalf("webhook offsets = %v, want %v", got, offsetsUpTo(last))
	}
	accepted, _, rejected := hooks.snapshot()
	if rejected != 0 {
		t.Errorf("%d requests failed verification", rejected)
	}
	for i, ev := range polled {
		want, _ := ev.MarshalJSON()
		got, _ := accepted[i].MarshalJSON()
		if string(got) != string(want) {
			t.Errorf("offset %d: webhook event %s, long-poll %s", ev.Offset, got, want)
		}
	}

	waitFor(t, func() bool {
		s, err := c.GetSession(ctx, sess.ID)
		return err == nil && s.Webhook != nil && s.Webhook.Cursor == last+1
	}, "the webhook cursor past the last event")
	s, err := c.GetSession(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Webhook.State != wire.DeliveryActive || s.Webhook.LastStatus != http.StatusNoContent || s.Webhook.Attempts != 0 {
		t.Errorf("webhook = %+v, want active with last status 204 and no failed attempts", *s.Webhook)
	}
}

func TestWebhookURLGuard(t *testing.T) {
	strict := strings.Replace(eventManifest, `      allow_hosts: ["127.0.0.1"]`, `      allow_hosts: ["10.9.9.9"]`, 1)
	c := startEventServer(t, strict, agentry.Options{})
	ctx := context.Background()
	for _, url := range []string{"http://10.1.2.3/hook", "http://127.0.0.1:9/hook", "http://[::ffff:192.168.0.1]/hook"} {
		_, err := c.OpenSession(ctx, wire.CreateSessionRequest{WebhookURL: url})
		assertWebhookRejected(t, err, "open with "+url)
	}
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{ID: "guarded"})
	if err != nil {
		t.Fatal(err)
	}
	private := "http://192.168.1.20/hook"
	_, err = c.UpdateSession(ctx, sess.ID, wire.PatchSessionRequest{WebhookURL: &private})
	assertWebhookRejected(t, err, "PATCH with "+private)
	s, err := c.GetSession(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.WebhookURL != "" || s.Webhook != nil {
		t.Errorf("session after rejected PATCH = url %q webhook %+v, want none", s.WebhookURL, s.Webhook)
	}
}

func assertWebhookRejected(t *testing.T, err error, what string) {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("%s = %v, want 422", what, err)
	}
	if len(ae.Details) != 1 || ae.Details[0].Path != "/webhook_url" || !strings.Contains(ae.Details[0].Message, "allow_hosts") {
		t.Errorf("%s details = %+v, want /webhook_url naming runtime.outbound.allow_hosts", what, ae.Details)
	}
}

func TestWebhookPauseAndRedeliver(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	hooks := newEventHooks(t, func(n int, ev wire.Event) int {
		if failing.Load() {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	c := startEventServer(t, eventManifest, agentry.Options{})
	ctx := context.Background()
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{WebhookURL: hooks.URL})
	if err != nil {
		t.Fatal(err)
	}
	var s wire.Session
	waitFor(t, func() bool {
		s, err = c.GetSession(ctx, sess.ID)
		return err == nil && s.Webhook != nil && s.Webhook.State == wire.DeliveryPaused
	}, "the webhook paused")
	w := s.Webhook
	if w.Cursor != 0 || w.Attempts != 3 || w.LastStatus != http.StatusInternalServerError {
		t.Errorf("paused webhook = cursor %d attempts %d status %d, want 0, 3, 500", w.Cursor, w.Attempts, w.LastStatus)
	}
	if w.LastError != "receiver responded 500 Internal Server Error" || w.LastAttemptAt == nil {
		t.Errorf("paused webhook = error %q last attempt %v, want the 500 and its time", w.LastError, w.LastAttemptAt)
	}

	polled := converse(t, c, sess.ID, 0, "Hello!")
	if _, received, _ := hooks.snapshot(); !reflect.DeepEqual(received, []int64{0, 0, 0}) {
		t.Fatalf("received offsets while paused = %v, want three attempts at 0", received)
	}

	failing.Store(false)
	s, err = c.Redeliver(ctx, sess.ID)
	if err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	if s.Webhook == nil || s.Webhook.State != wire.DeliveryActive || s.Webhook.Attempts != 0 {
		t.Errorf("webhook after redeliver = %+v, want active with attempts reset", s.Webhook)
	}
	last := polled[len(polled)-1].Offset
	if got := hooks.waitOffsets(t, last); !reflect.DeepEqual(got, offsetsUpTo(last)) {
		t.Errorf("accepted offsets after redeliver = %v, want %v", got, offsetsUpTo(last))
	}

	if _, err := c.Redeliver(ctx, "no-such-session"); !client.IsNotFound(err) {
		t.Errorf("Redeliver of an unknown session = %v, want 404", err)
	}
}

func TestWebhookPatchResumes(t *testing.T) {
	gone := newEventHooks(t, func(int, wire.Event) int { return http.StatusGone })
	fresh := newEventHooks(t, nil)
	c := startEventServer(t, eventManifest, agentry.Options{})
	ctx := context.Background()
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{WebhookURL: gone.URL})
	if err != nil {
		t.Fatal(err)
	}
	var s wire.Session
	waitFor(t, func() bool {
		s, err = c.GetSession(ctx, sess.ID)
		return err == nil && s.Webhook != nil && s.Webhook.State == wire.DeliveryDisabled
	}, "the webhook disabled by 410")
	if s.Webhook.LastStatus != http.StatusGone || s.Webhook.Attempts != 1 {
		t.Errorf("disabled webhook = status %d attempts %d, want 410 and 1", s.Webhook.LastStatus, s.Webhook.Attempts)
	}

	url := fresh.URL + "/new"
	s, err = c.UpdateSession(ctx, sess.ID, wire.PatchSessionRequest{WebhookURL: &url})
	if err != nil {
		t.Fatal(err)
	}
	if s.Webhook == nil || s.Webhook.State != wire.DeliveryActive {
		t.Errorf("webhook after PATCH = %+v, want active", s.Webhook)
	}
	polled := converse(t, c, sess.ID, 0, "Hi there")
	last := polled[len(polled)-1].Offset
	if got := fresh.waitOffsets(t, last); !reflect.DeepEqual(got, offsetsUpTo(last)) {
		t.Errorf("new URL offsets = %v, want %v from the event that failed", got, offsetsUpTo(last))
	}
	if _, received, _ := gone.snapshot(); len(received) != 1 {
		t.Errorf("the gone receiver got %d requests, want 1", len(received))
	}
}

// queueSink is an application's sink that keeps what it accepts.
type queueSink struct {
	name string
	mu   sync.Mutex
	got  []wire.Event
}

func (q *queueSink) Name() string { return q.name }

func (q *queueSink) Deliver(ctx context.Context, t sink.Target, ev wire.Event, body []byte) sink.Result {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.got = append(q.got, ev)
	return sink.Delivered()
}

func (q *queueSink) offsets(sessionID string) []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []int64
	for _, ev := range q.got {
		if ev.SessionID == sessionID {
			out = append(out, ev.Offset)
		}
	}
	return out
}

func TestOptionsSinks(t *testing.T) {
	queue := &queueSink{name: "queue"}
	c := startEventServer(t, eventManifest, agentry.Options{Sinks: []sink.Sink{queue}})
	ctx := context.Background()
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	polled := converse(t, c, sess.ID, 0, "Hello!")
	last := polled[len(polled)-1].Offset
	waitFor(t, func() bool { return len(queue.offsets(sess.ID)) == int(last+1) }, "the sink got every event")
	if got := queue.offsets(sess.ID); !reflect.DeepEqual(got, offsetsUpTo(last)) {
		t.Errorf("sink offsets = %v, want %v", got, offsetsUpTo(last))
	}
	var s wire.Session
	waitFor(t, func() bool {
		s, err = c.GetSession(ctx, sess.ID)
		return err == nil && s.Sinks["queue"].Cursor == last+1
	}, "the sink's cursor in the session")
	if s.Webhook != nil {
		t.Errorf("webhook state of a session without URL = %+v, want none", s.Webhook)
	}

	_, err = agentry.New(mustParse(t, eventManifest), agentry.Options{Sinks: []sink.Sink{&queueSink{name: "webhook"}}})
	if err == nil || !strings.Contains(err.Error(), `two sinks are named "webhook"`) {
		t.Errorf("New with a sink named webhook = %v, want a duplicate name error", err)
	}
}

func mustParse(t *testing.T, yaml string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Parse([]byte(yaml), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAsSinkFx(t *testing.T) {
	queue := &queueSink{name: "fx-queue"}
	var srv *agentry.Server
	var st store.Store
	app := fx.New(
		fx.NopLogger,
		fx.Supply(mustParse(t, eventManifest)),
		agentry.Module,
		fx.Provide(agentry.AsSink(func() *queueSink { return queue })),
		fx.Populate(&srv, &st),
	)
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Stop(ctx)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	c := client.New(hs.URL, eventKey)
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(queue.offsets(sess.ID)) == 1 }, "the fx sink got the greeting")
	if got := queue.got[0]; got.Kind != wire.KindAgentMessage || got.Text != "Hello! How can I help?" {
		t.Errorf("fx sink event = %s %q, want the greeting", got.Kind, got.Text)
	}
}

// TestWebhookResumesOnNewServer stops a server while an event's POST
// hangs and starts a new server on the same store value: delivery goes
// on from the stored cursor. The memory store keeps nothing across a
// process restart, so this is what it holds within one process.
func TestWebhookResumesOnNewServer(t *testing.T) {
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	release := make(chan struct{})
	var hang atomic.Bool
	hang.Store(true)
	hooks := newEventHooks(t, func(n int, ev wire.Event) int {
		if ev.Offset == 1 && hang.Load() {
			<-release
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	m := mustParse(t, eventManifest)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	first, err := agentry.New(m, agentry.Options{Store: st, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(first)
	c := client.New(hs.URL, eventKey)
	ctx := context.Background()
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{ID: "survivor", WebhookURL: hooks.URL})
	if err != nil {
		t.Fatal(err)
	}
	polled := converse(t, c, sess.ID, 0, "Hello!")
	waitFor(t, func() bool {
		_, received, _ := hooks.snapshot()
		return len(received) == 2
	}, "the POST of offset 1 hanging")
	hs.Close()
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := first.Shutdown(stopCtx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	hang.Store(false)
	close(release)

	second := startEventServer(t, eventManifest, agentry.Options{Store: st})
	last := polled[len(polled)-1].Offset
	if got := hooks.waitOffsets(t, last); !reflect.DeepEqual(got, offsetsUpTo(last)) {
		t.Errorf("accepted offsets across servers = %v, want %v", got, offsetsUpTo(last))
	}
	_, received, _ := hooks.snapshot()
	if received[0] != 0 || received[1] != 1 || received[2] != 1 {
		t.Errorf("received offsets = %v, want 0 once and 1 twice before the rest", received)
	}
	s, err := second.GetSession(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "survivor" {
		t.Errorf("session on the new server = %q, want survivor", s.ID)
	}
}
