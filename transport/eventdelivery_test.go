package transport_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
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

func TestWebhookDeliveryOrder(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, nil)
	ids := []string{"s-a", "s-b", "s-c"}
	for _, id := range ids {
		openHookSession(t, st, id, recv.URL+"/hook?token=path-secret")
	}
	startDeliverer(t, deliveryConfig(t, st))
	for range 4 {
		for _, id := range ids {
			appendN(t, st, id, 3)
		}
	}
	for _, id := range ids {
		if got := recv.waitAccepted(t, id, 11); !reflect.DeepEqual(got, sequence(12)) {
			t.Errorf("session %s: accepted offsets %v, want %v", id, got, sequence(12))
		}
		d := waitCursor(t, st, id, sink.WebhookName, 12)
		if d.Cursor != 12 || d.State != store.DeliveryActive || d.LastStatus != http.StatusNoContent {
			t.Errorf("session %s: delivery = cursor %d state %q status %d, want 12, active, 204",
				id, d.Cursor, d.State, d.LastStatus)
		}
	}
	if n := len(recv.all()); n != 36 {
		t.Errorf("receiver got %d requests, want 36: one per event", n)
	}
}

func TestWebhookRequestFormat(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, nil)
	openHookSession(t, st, "s-1", recv.URL+"/hook")
	startDeliverer(t, deliveryConfig(t, st))
	appendTexts(t, st, "s-1", "Where is my card?")
	recv.waitAccepted(t, "s-1", 0)

	r := recv.all()[0]
	if got := r.header.Get("Authorization"); got != "Bearer "+hookToken {
		t.Errorf("Authorization = %q, want the bearer token", got)
	}
	if got := r.header.Get("x-session-id"); got != "s-1" {
		t.Errorf("x-session-id = %q, want s-1", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	id := r.header.Get(webhook.HeaderID)
	if id != "evt_s-1_0" || strings.Contains(id, ".") {
		t.Errorf("webhook-id = %q, want evt_s-1_0 without '.'", id)
	}
	err := webhook.Verify([][]byte{hookKey}, id, r.header.Get(webhook.HeaderTimestamp),
		r.header.Get(webhook.HeaderSignature), r.body, time.Now(), 0)
	if err != nil {
		t.Errorf("signature does not verify: %v", err)
	}

	// The body is the event's JSON as long-poll and SSE return it.
	events, err := st.ListEvents(context.Background(), "s-1", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(wire.Event{
		SessionID: "s-1", Offset: 0, Kind: wire.KindUserMessage, CreatedAt: events[0].CreatedAt.UTC(),
		Text: "Where is my card?", Source: wire.SourceCustomer,
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.body) != string(want) {
		t.Errorf("body = %s, want %s", r.body, want)
	}
}

func TestWebhookRetryKeepsOrder(t *testing.T) {
	st := memory.New()
	// The third request (offset 2) fails twice with 500, then the
	// receiver recovers.
	recv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 2 || n == 3 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	openHookSession(t, st, "s-1", recv.URL)
	startDeliverer(t, deliveryConfig(t, st))
	appendN(t, st, "s-1", 5)

	if got := recv.waitAccepted(t, "s-1", 4); !reflect.DeepEqual(got, sequence(5)) {
		t.Errorf("accepted offsets %v, want %v: nothing lost, nothing out of order", got, sequence(5))
	}
	all := recv.offsets("s-1", false)
	if want := []int64{0, 1, 2, 2, 2, 3, 4}; !reflect.DeepEqual(all, want) {
		t.Errorf("received offsets %v, want %v: duplicates only of the retried event", all, want)
	}
	reqs := recv.all()
	for _, i := range []int{3, 4} {
		if string(reqs[i].body) != string(reqs[2].body) {
			t.Errorf("retry %d body differs from the first attempt: %s vs %s", i, reqs[i].body, reqs[2].body)
		}
		if got, want := reqs[i].header.Get(webhook.HeaderID), reqs[2].header.Get(webhook.HeaderID); got != want {
			t.Errorf("retry %d webhook-id = %q, want %q as on the first attempt", i, got, want)
		}
	}
	d := waitCursor(t, st, "s-1", sink.WebhookName, 5)
	if d.Attempts != 0 || d.LastError != "" {
		t.Errorf("after recovery = attempts %d error %q, want 0 and none", d.Attempts, d.LastError)
	}
}

func TestWebhookHangTimesOut(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			<-r.Context().Done() // hangs until the sender gives up
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	openHookSession(t, st, "s-1", recv.URL)
	cfg := deliveryConfig(t, st)
	cfg.Sinks = []sink.Sink{newWebhookSink(t, 200*time.Millisecond)}
	cfg.AttemptTimeout = 200 * time.Millisecond
	cfg.Schedule = &outbound.Schedule{Delays: []time.Duration{time.Second}}
	startDeliverer(t, cfg)
	appendN(t, st, "s-1", 2)

	d := waitState(t, st, "s-1", sink.WebhookName, store.DeliveryRetrying)
	if d.LastError != "request timed out" || d.LastStatus != 0 || d.Attempts != 1 {
		t.Errorf("after the hang = error %q status %d attempts %d, want request timed out, 0, 1",
			d.LastError, d.LastStatus, d.Attempts)
	}
	if got := recv.waitAccepted(t, "s-1", 1); !reflect.DeepEqual(got, sequence(2)) {
		t.Errorf("accepted offsets %v, want %v", got, sequence(2))
	}
}

func TestWebhookGoneDisables(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.WriteHeader(http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	openHookSession(t, st, "s-1", recv.URL)
	startDeliverer(t, deliveryConfig(t, st))
	appendN(t, st, "s-1", 2)

	d := waitState(t, st, "s-1", sink.WebhookName, store.DeliveryDisabled)
	if d.Cursor != 0 || d.LastStatus != http.StatusGone || d.Attempts != 1 {
		t.Errorf("disabled delivery = cursor %d status %d attempts %d, want 0, 410, 1", d.Cursor, d.LastStatus, d.Attempts)
	}
	appendN(t, st, "s-1", 1)
	time.Sleep(300 * time.Millisecond)
	if n := len(recv.all()); n != 1 {
		t.Fatalf("receiver got %d requests after 410, want 1: a disabled webhook gets nothing", n)
	}

	if _, err := st.ResumeDelivery(context.Background(), "s-1", ""); err != nil {
		t.Fatal(err)
	}
	if got := recv.waitAccepted(t, "s-1", 2); !reflect.DeepEqual(got, sequence(3)) {
		t.Errorf("accepted offsets after resume %v, want %v", got, sequence(3))
	}
}

func TestWebhookRedirectNotFollowed(t *testing.T) {
	st := memory.New()
	elsewhere := newHookReceiver(t, nil)
	recv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/moved", http.StatusTemporaryRedirect)
	})
	openHookSession(t, st, "s-1", recv.URL)
	cfg := deliveryConfig(t, st)
	cfg.Schedule = &outbound.Schedule{Delays: []time.Duration{10 * time.Millisecond}}
	startDeliverer(t, cfg)
	appendN(t, st, "s-1", 1)

	d := waitState(t, st, "s-1", sink.WebhookName, store.DeliveryPaused)
	if d.LastStatus != http.StatusTemporaryRedirect || !strings.Contains(d.LastError, "redirects are not followed") {
		t.Errorf("after redirects = status %d error %q, want 307 and a note that redirects are not followed",
			d.LastStatus, d.LastError)
	}
	if d.Cursor != 0 || d.Attempts != 2 {
		t.Errorf("after redirects = cursor %d attempts %d, want 0 and 2", d.Cursor, d.Attempts)
	}
	if n := len(elsewhere.all()); n != 0 {
		t.Errorf("the redirect target got %d requests, want 0", n)
	}
}

func TestWebhookPausesAndResumes(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n < 4 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	openHookSession(t, st, "s-1", recv.URL)
	startDeliverer(t, deliveryConfig(t, st))
	appendN(t, st, "s-1", 1)

	d := waitState(t, st, "s-1", sink.WebhookName, store.DeliveryPaused)
	if d.Attempts != 4 || d.Cursor != 0 || d.LastStatus != http.StatusServiceUnavailable {
		t.Errorf("paused delivery = attempts %d cursor %d status %d, want 4 (the schedule), 0, 503",
			d.Attempts, d.Cursor, d.LastStatus)
	}
	appendN(t, st, "s-1", 2)
	time.Sleep(300 * time.Millisecond)
	if got := recv.offsets("s-1", false); !reflect.DeepEqual(got, []int64{0, 0, 0, 0}) {
		t.Fatalf("received offsets while paused %v, want only the four attempts at 0", got)
	}

	if _, err := st.ResumeDelivery(context.Background(), "s-1", ""); err != nil {
		t.Fatal(err)
	}
	if got := recv.waitAccepted(t, "s-1", 2); !reflect.DeepEqual(got, sequence(3)) {
		t.Errorf("accepted offsets after resume %v, want %v: the paused event first", got, sequence(3))
	}
}

func TestWebhookHonoursRetryAfter(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	openHookSession(t, st, "s-1", recv.URL)
	startDeliverer(t, deliveryConfig(t, st))
	appendN(t, st, "s-1", 1)

	recv.waitAccepted(t, "s-1", 0)
	reqs := recv.all()
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Errorf("retry came %s after a 429 with Retry-After: 1, want at least 1s", gap)
	}
}

func TestWebhookDefaultURL(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, nil)
	defaultKey := []byte("default-key-default-key-default!!")

	// The guarded client reaches no loopback address; the trusted one,
	// for the operator's default URL, does.
	guarded, err := outbound.NewClient(outbound.Config{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := sink.NewWebhook(sink.WebhookConfig{
		Client:             guarded,
		Trusted:            outbound.NewTrusted(outbound.Config{Timeout: 2 * time.Second}),
		SigningKeys:        [][]byte{hookKey},
		DefaultSigningKeys: [][]byte{defaultKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	openHookSession(t, st, "by-default", "")
	openHookSession(t, st, "own-url", recv.URL+"/own")
	cfg := deliveryConfig(t, st)
	cfg.Sinks = []sink.Sink{hook}
	cfg.DefaultURL = recv.URL + "/default"
	cfg.Schedule = &outbound.Schedule{}
	startDeliverer(t, cfg)
	appendN(t, st, "by-default", 1)
	appendN(t, st, "own-url", 1)

	recv.waitAccepted(t, "by-default", 0)
	r := recv.all()[0]
	err = webhook.Verify([][]byte{defaultKey}, r.header.Get(webhook.HeaderID), r.header.Get(webhook.HeaderTimestamp),
		r.header.Get(webhook.HeaderSignature), r.body, time.Now(), 0)
	if err != nil {
		t.Errorf("POST to the default URL does not verify with the default key: %v", err)
	}
	if got := r.header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want none without a token", got)
	}

	d := waitState(t, st, "own-url", sink.WebhookName, store.DeliveryPaused)
	if !strings.Contains(d.LastError, "blocked") {
		t.Errorf("session URL on loopback = error %q, want the outbound guard's rejection", d.LastError)
	}
	if got := recv.offsets("own-url", false); len(got) != 0 {
		t.Errorf("the guarded session URL got offsets %v, want none", got)
	}
}

func TestWebhookHoldsEventsWithoutURL(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, nil)
	openHookSession(t, st, "s-1", "")
	startDeliverer(t, deliveryConfig(t, st))
	appendN(t, st, "s-1", 3)

	time.Sleep(200 * time.Millisecond)
	if d := deliveryOf(t, st, "s-1", sink.WebhookName); d.Cursor != 0 {
		t.Fatalf("cursor without a URL = %d, want 0: events are held, not skipped", d.Cursor)
	}
	url := recv.URL
	if _, err := st.UpdateSession(context.Background(), "s-1", store.SessionPatch{WebhookURL: &url}); err != nil {
		t.Fatal(err)
	}
	if got := recv.waitAccepted(t, "s-1", 2); !reflect.DeepEqual(got, sequence(3)) {
		t.Errorf("accepted offsets after setting the URL %v, want %v", got, sequence(3))
	}
}

func TestEventDelivererConfig(t *testing.T) {
	st := memory.New()
	hook := newWebhookSink(t, time.Second)
	tests := []struct {
		name  string
		sinks []sink.Sink
		want  string
	}{
		{"no sinks", nil, "at least one sink"},
		{"nil sink", []sink.Sink{nil}, "sink 0 is nil"},
		{"duplicate", []sink.Sink{hook, &recordingSink{name: sink.WebhookName}}, "two sinks are named"},
		{"invalid name", []sink.Sink{&recordingSink{name: "a.b"}}, "is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := transport.NewEventDeliverer(transport.EventDelivererConfig{Store: st, Sinks: tt.sinks})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewEventDeliverer = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestDeliveryResumesAfterRestart stops a deliverer while an attempt
// hangs and starts another on the same store: it resumes at the cursor,
// so only the interrupted event arrives twice.
func TestDeliveryResumesAfterRestart(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 2 {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	openHookSession(t, st, "s-1", recv.URL)
	cfg := deliveryConfig(t, st)
	cfg.Owner = "first"
	first := startDeliverer(t, cfg)
	appendN(t, st, "s-1", 5)
	waitUntil(t, 5*time.Second, func() bool { return recv.inFlight.Load() == 1 && len(recv.all()) == 3 },
		"the attempt at offset 2 hanging")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := first.Stop(ctx); err != nil {
		t.Fatalf("Stop during a hanging attempt: %v", err)
	}
	d := deliveryOf(t, st, "s-1", sink.WebhookName)
	if d.Cursor != 2 || d.Attempts != 0 {
		t.Errorf("after Stop = cursor %d attempts %d, want 2 and 0: a cancelled attempt is not counted", d.Cursor, d.Attempts)
	}
	if d.Lease != (store.Lease{}) {
		t.Errorf("lease after Stop = %+v, want released", d.Lease)
	}

	cfg.Owner = "second"
	startDeliverer(t, cfg)
	if got := recv.waitAccepted(t, "s-1", 4); !reflect.DeepEqual(got, sequence(5)) {
		t.Errorf("accepted offsets = %v, want %v", got, sequence(5))
	}
	if got, want := recv.offsets("s-1", false), []int64{0, 1, 2, 2, 3, 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("received offsets = %v, want %v: only the interrupted event twice", got, want)
	}
}

// TestDeliveryLeaseHeartbeat has an attempt outlast the lease TTL: the
// heartbeat keeps the lease, so the session is not claimed a second time
// while its first POST is in flight.
func TestDeliveryLeaseHeartbeat(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			time.Sleep(time.Second)
		}
		w.WriteHeader(http.StatusOK)
	})
	openHookSession(t, st, "s-1", recv.URL)
	cfg := deliveryConfig(t, st)
	cfg.LeaseTTL = 300 * time.Millisecond
	startDeliverer(t, cfg)
	appendN(t, st, "s-1", 2)

	if got := recv.waitAccepted(t, "s-1", 1); !reflect.DeepEqual(got, sequence(2)) {
		t.Errorf("accepted offsets = %v, want %v", got, sequence(2))
	}
	if got := recv.offsets("s-1", false); !reflect.DeepEqual(got, sequence(2)) {
		t.Errorf("received offsets = %v, want %v: no second claim during the long attempt", got, sequence(2))
	}
	if n := recv.maxInFlight.Load(); n != 1 {
		t.Errorf("%d requests of one session were in flight at once, want 1", n)
	}
}
