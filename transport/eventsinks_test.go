package transport_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport/sink"
	"github.com/agentry/agentry/transport/wire"
)

// recordingSink is an application's sink that keeps the events it
// accepted. result, when set, decides each attempt; n counts the
// attempts of the sink from 0.
type recordingSink struct {
	name   string
	result func(n int, ev wire.Event) sink.Result

	mu       sync.Mutex
	attempts int
	accepted []wire.Event
	bodies   [][]byte
}

func (s *recordingSink) Name() string { return s.name }

func (s *recordingSink) Deliver(ctx context.Context, t sink.Target, ev wire.Event, body []byte) sink.Result {
	s.mu.Lock()
	n := s.attempts
	s.attempts++
	s.mu.Unlock()
	res := sink.Delivered()
	if s.result != nil {
		res = s.result(n, ev)
	}
	if res.Kind == sink.Delivered().Kind {
		s.mu.Lock()
		s.accepted = append(s.accepted, ev)
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
	}
	return res
}

// offsets returns the offsets of the session's accepted events.
func (s *recordingSink) offsets(sessionID string) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, ev := range s.accepted {
		if ev.SessionID == sessionID {
			out = append(out, ev.Offset)
		}
	}
	return out
}

func (s *recordingSink) waitOffsets(t *testing.T, sessionID string, n int) []int64 {
	t.Helper()
	var got []int64
	waitUntil(t, 10*time.Second, func() bool {
		got = s.offsets(sessionID)
		return len(got) >= n
	}, "sink "+s.name+": events of session "+sessionID)
	return got
}

func TestSinkGetsEveryEvent(t *testing.T) {
	st := memory.New()
	queue := &recordingSink{name: "queue"}
	cfg := deliveryConfig(t, st)
	cfg.Sinks = append(cfg.Sinks, queue)
	// No webhook URL: the webhook holds the events, the queue sink needs
	// no URL and gets them all.
	openHookSession(t, st, "s-1", "")
	openHookSession(t, st, "s-2", "")
	startDeliverer(t, cfg)
	appendN(t, st, "s-1", 4)
	appendN(t, st, "s-2", 2)

	if got := queue.waitOffsets(t, "s-1", 4); !reflect.DeepEqual(got, sequence(4)) {
		t.Errorf("sink offsets of s-1 = %v, want %v", got, sequence(4))
	}
	if got := queue.waitOffsets(t, "s-2", 2); !reflect.DeepEqual(got, sequence(2)) {
		t.Errorf("sink offsets of s-2 = %v, want %v", got, sequence(2))
	}
	var ev wire.Event
	if err := json.Unmarshal(queue.bodies[0], &ev); err != nil || ev.Offset != queue.accepted[0].Offset {
		t.Errorf("sink body = %s (%v), want the JSON of the event", queue.bodies[0], err)
	}
	if d := deliveryOf(t, st, "s-1", sink.WebhookName); d.Cursor != 0 {
		t.Errorf("webhook cursor without a URL = %d, want 0", d.Cursor)
	}
}

func TestFailingSinkHoldsNoOther(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, nil)
	broken := &recordingSink{name: "broken", result: func(int, wire.Event) sink.Result {
		return sink.Retry("queue unavailable", 0)
	}}
	cfg := deliveryConfig(t, st)
	cfg.Sinks = append(cfg.Sinks, broken)
	openHookSession(t, st, "s-1", recv.URL)
	startDeliverer(t, cfg)
	appendN(t, st, "s-1", 3)

	if got := recv.waitAccepted(t, "s-1", 2); !reflect.DeepEqual(got, sequence(3)) {
		t.Errorf("webhook offsets = %v, want %v while the other sink fails", got, sequence(3))
	}
	d := waitState(t, st, "s-1", "broken", store.DeliveryPaused)
	if d.LastError != "queue unavailable" || d.Cursor != 0 {
		t.Errorf("failing sink = error %q cursor %d, want its reason and 0", d.LastError, d.Cursor)
	}
}

func TestSinkGoneAndPanic(t *testing.T) {
	st := memory.New()
	flaky := &recordingSink{name: "flaky", result: func(n int, ev wire.Event) sink.Result {
		switch {
		case ev.SessionID == "s-gone":
			return sink.Gone("channel archived")
		case n == 0:
			panic("sink bug")
		}
		return sink.Delivered()
	}}
	cfg := deliveryConfig(t, st)
	cfg.Sinks = []sink.Sink{flaky}
	openHookSession(t, st, "s-1", "")
	startDeliverer(t, cfg)
	appendN(t, st, "s-1", 2)

	if got := flaky.waitOffsets(t, "s-1", 2); !reflect.DeepEqual(got, sequence(2)) {
		t.Errorf("offsets after a panic = %v, want %v: the panicking attempt is retried", got, sequence(2))
	}

	openHookSession(t, st, "s-gone", "")
	appendN(t, st, "s-gone", 1)
	d := waitState(t, st, "s-gone", "flaky", store.DeliveryDisabled)
	if d.LastError != "channel archived" {
		t.Errorf("gone sink error = %q, want its reason", d.LastError)
	}
}

func TestUndecodableEventPauses(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, nil)
	openHookSession(t, st, "s-1", recv.URL)
	startDeliverer(t, deliveryConfig(t, st))
	broken := []store.NewEvent{{Kind: "user_message", Payload: []byte(`{"text":`)}}
	if _, err := st.Append(context.Background(), "s-1", broken, store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	d := waitState(t, st, "s-1", sink.WebhookName, store.DeliveryPaused)
	if !strings.Contains(d.LastError, "encoding the event failed") || d.Cursor != 0 {
		t.Errorf("undecodable event = error %q cursor %d, want an encoding error at 0", d.LastError, d.Cursor)
	}
	if n := len(recv.all()); n != 0 {
		t.Errorf("receiver got %d requests, want none", n)
	}
}

// TestReceiverIsolation has a hanging receiver and a fast one: the fast
// one's events arrive while every slot of the hanging one is taken.
func TestReceiverIsolation(t *testing.T) {
	st := memory.New()
	release := make(chan struct{})
	hanging := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	fast := newHookReceiver(t, nil)

	cfg := deliveryConfig(t, st)
	cfg.MaxPerReceiver = 2
	cfg.AttemptTimeout = time.Minute
	cfg.Sinks = []sink.Sink{newWebhookSink(t, time.Minute)}
	for _, id := range []string{"h-1", "h-2", "h-3", "h-4"} {
		openHookSession(t, st, id, hanging.URL)
	}
	for _, id := range []string{"f-1", "f-2", "f-3"} {
		openHookSession(t, st, id, fast.URL)
	}

	startDeliverer(t, cfg)
	for _, id := range []string{"h-1", "h-2", "h-3", "h-4"} {
		appendN(t, st, id, 2)
	}
	waitUntil(t, 5*time.Second, func() bool { return hanging.inFlight.Load() == 2 },
		"two requests hanging at the slow receiver")
	for _, id := range []string{"f-1", "f-2", "f-3"} {
		appendN(t, st, id, 3)
	}
	for _, id := range []string{"f-1", "f-2", "f-3"} {
		if got := fast.waitAccepted(t, id, 2); !reflect.DeepEqual(got, sequence(3)) {
			t.Errorf("fast receiver, session %s: offsets %v, want %v", id, got, sequence(3))
		}
	}
	if n := hanging.maxInFlight.Load(); n != 2 {
		t.Errorf("hanging receiver had %d requests in flight at most, want the bound 2", n)
	}
}

// TestReceiverConcurrencyBound delivers many sessions to one slow
// receiver and measures the requests in flight: sessions go in parallel
// up to the bound and never past it.
func TestReceiverConcurrencyBound(t *testing.T) {
	st := memory.New()
	recv := newHookReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
	})
	const sessions, events, bound = 12, 3, 4
	cfg := deliveryConfig(t, st)
	cfg.MaxPerReceiver = bound
	var ids []string
	for i := range sessions {
		id := "s-" + string(rune('a'+i))
		ids = append(ids, id)
		openHookSession(t, st, id, recv.URL)
	}
	startDeliverer(t, cfg)
	for _, id := range ids {
		appendN(t, st, id, events)
	}
	for _, id := range ids {
		if got := recv.waitAccepted(t, id, events-1); !reflect.DeepEqual(got, sequence(events)) {
			t.Errorf("session %s: offsets %v, want %v", id, got, sequence(events))
		}
	}
	if n := recv.maxInFlight.Load(); n != bound {
		t.Errorf("at most %d requests were in flight, want the bound %d", n, bound)
	}
}
