package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

var webhookSink = store.DeliverySink{Name: "webhook"}

// appendN appends n events to the session.
func appendN(t testing.TB, s *Store, id string, n int) {
	t.Helper()
	events := make([]store.NewEvent, n)
	for i := range events {
		events[i] = textEvent(fmt.Sprint("event ", i))
	}
	if _, err := s.Append(context.Background(), id, events, store.AppendOptions{}); err != nil {
		t.Fatalf("Append(%q): %v", id, err)
	}
}

func mustClaimDelivery(t testing.TB, s *Store, sink store.DeliverySink, owner string, now time.Time) store.DeliveryClaim {
	t.Helper()
	c, ok, err := s.ClaimDelivery(context.Background(), sink, owner, now, time.Minute)
	if err != nil {
		t.Fatalf("ClaimDelivery(%q): %v", sink.Name, err)
	}
	if !ok {
		t.Fatalf("ClaimDelivery(%q) at %v: ok = false, want a claim", sink.Name, now)
	}
	return c
}

func assertNoDelivery(t testing.TB, s *Store, sink store.DeliverySink, now time.Time, why string) {
	t.Helper()
	c, ok, err := s.ClaimDelivery(context.Background(), sink, "other", now, time.Minute)
	if err != nil {
		t.Fatalf("ClaimDelivery(%q): %v", sink.Name, err)
	}
	if ok {
		t.Fatalf("ClaimDelivery(%q) = session %q at cursor %d, want none: %s",
			sink.Name, c.Session.ID, c.Delivery.Cursor, why)
	}
}

func delivered(offset int64) store.DeliveryOutcome {
	return store.DeliveryOutcome{Offset: offset, Delivered: true, LastStatus: 200}
}

func TestClaimDeliveryWork(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	mustCreate(t, s, "idle")
	mustCreate(t, s, "busy")
	assertNoDelivery(t, s, webhookSink, clock.Now(), "no session has events")

	appendN(t, s, "busy", 2)
	c := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if c.Session.ID != "busy" || c.Sink != "webhook" {
		t.Fatalf("claim = session %q sink %q, want busy and webhook", c.Session.ID, c.Sink)
	}
	if c.Delivery.Cursor != 0 || c.Delivery.State != store.DeliveryActive {
		t.Errorf("claimed delivery = cursor %d state %q, want 0 active", c.Delivery.Cursor, c.Delivery.State)
	}
	if c.Session.NextOffset != 2 {
		t.Errorf("claimed session NextOffset = %d, want 2", c.Session.NextOffset)
	}
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the only session with events is leased")

	for offset := int64(0); offset < 2; offset++ {
		d, err := s.RecordDelivery(ctx, c, delivered(offset))
		if err != nil {
			t.Fatalf("RecordDelivery(%d): %v", offset, err)
		}
		if d.Cursor != offset+1 {
			t.Errorf("cursor after delivering %d = %d, want %d", offset, d.Cursor, offset+1)
		}
	}
	if err := s.ReleaseDelivery(ctx, c); err != nil {
		t.Fatalf("ReleaseDelivery: %v", err)
	}
	assertNoDelivery(t, s, webhookSink, clock.Now(), "busy is caught up")

	appendN(t, s, "busy", 1)
	c = mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if c.Delivery.Cursor != 2 {
		t.Errorf("cursor after a new append = %d, want 2", c.Delivery.Cursor)
	}
	sess, err := s.GetSession(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	if got := sess.Deliveries["webhook"]; got.Cursor != 2 || got.LastStatus != 200 {
		t.Errorf("GetSession deliveries[webhook] = cursor %d status %d, want 2 and 200", got.Cursor, got.LastStatus)
	}
}

func TestClaimDeliveryInitialEvents(t *testing.T) {
	s := New()
	greeting := []store.NewEvent{textEvent("hello")}
	if _, _, err := s.CreateSession(context.Background(), store.Session{ID: "greeted"}, greeting); err != nil {
		t.Fatal(err)
	}
	c := mustClaimDelivery(t, s, webhookSink, "w1", time.Now())
	if c.Session.ID != "greeted" {
		t.Errorf("claim = %q, want greeted", c.Session.ID)
	}
}

func TestClaimDeliveryRequiresURL(t *testing.T) {
	ctx := context.Background()
	s := New()
	sink := store.DeliverySink{Name: "webhook", RequireWebhookURL: true}
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 3)
	assertNoDelivery(t, s, sink, time.Now(), "the session has no webhook URL")

	url := "https://hooks.example.com/a"
	if _, err := s.UpdateSession(ctx, "s1", store.SessionPatch{WebhookURL: &url}); err != nil {
		t.Fatal(err)
	}
	c := mustClaimDelivery(t, s, sink, "w1", time.Now())
	if c.Delivery.Cursor != 0 || c.Session.WebhookURL != url {
		t.Errorf("claim = cursor %d url %q, want cursor 0 (events held, not skipped) and %q",
			c.Delivery.Cursor, c.Session.WebhookURL, url)
	}
}

func TestClaimDeliverySinksIndependent(t *testing.T) {
	ctx := context.Background()
	s := New()
	queue := store.DeliverySink{Name: "queue"}
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 2)

	hook := mustClaimDelivery(t, s, webhookSink, "w1", time.Now())
	if _, err := s.RecordDelivery(ctx, hook, store.DeliveryOutcome{
		Offset: 0, State: store.DeliveryPaused, LastStatus: 500, LastError: "receiver responded 500",
	}); err != nil {
		t.Fatal(err)
	}
	// The first claim for a new sink name finds sessions created before.
	q := mustClaimDelivery(t, s, queue, "w1", time.Now())
	if q.Session.ID != "s1" || q.Delivery.Cursor != 0 || q.Delivery.State != store.DeliveryActive {
		t.Fatalf("queue claim = %q cursor %d state %q, want s1, 0, active",
			q.Session.ID, q.Delivery.Cursor, q.Delivery.State)
	}
	if _, err := s.RecordDelivery(ctx, q, delivered(0)); err != nil {
		t.Fatal(err)
	}
	sess, err := s.GetSession(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if d := sess.Deliveries["webhook"]; d.State != store.DeliveryPaused || d.Cursor != 0 {
		t.Errorf("webhook delivery = %q at %d, want paused at 0", d.State, d.Cursor)
	}
	if d := sess.Deliveries["queue"]; d.State != store.DeliveryActive || d.Cursor != 1 {
		t.Errorf("queue delivery = %q at %d, want active at 1", d.State, d.Cursor)
	}
}

func TestRecordDeliveryFailures(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 2)

	c := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	retryAt := clock.Now().Add(5 * time.Second)
	d, err := s.RecordDelivery(ctx, c, store.DeliveryOutcome{
		Offset: 0, State: store.DeliveryRetrying, NextAttemptAt: retryAt,
		LastStatus: 503, LastError: "receiver responded 503 Service Unavailable",
	})
	if err != nil {
		t.Fatalf("RecordDelivery(retrying): %v", err)
	}
	if d.Attempts != 1 || d.State != store.DeliveryRetrying || d.Cursor != 0 {
		t.Errorf("after a failure = attempts %d state %q cursor %d, want 1, retrying, 0", d.Attempts, d.State, d.Cursor)
	}
	if !d.NextAttemptAt.Equal(retryAt) || d.LastStatus != 503 {
		t.Errorf("after a failure = next %v status %d, want %v and 503", d.NextAttemptAt, d.LastStatus, retryAt)
	}
	if d.Lease != (store.Lease{}) {
		t.Errorf("lease after a failure = %+v, want released", d.Lease)
	}
	if _, err := s.RecordDelivery(ctx, c, delivered(0)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RecordDelivery after the lease was released = %v, want ErrLeaseLost", err)
	}
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the retry is not due")

	clock.Advance(5 * time.Second)
	c = mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if c.Delivery.Attempts != 1 || c.Delivery.Cursor != 0 {
		t.Fatalf("retry claim = attempts %d cursor %d, want 1 and 0", c.Delivery.Attempts, c.Delivery.Cursor)
	}
	d, err = s.RecordDelivery(ctx, c, delivered(0))
	if err != nil {
		t.Fatal(err)
	}
	if d.Attempts != 0 || d.State != store.DeliveryActive || d.LastError != "" {
		t.Errorf("after a success = attempts %d state %q error %q, want 0, active, none", d.Attempts, d.State, d.LastError)
	}

	d, err = s.RecordDelivery(ctx, c, store.DeliveryOutcome{Offset: 1, State: store.DeliveryDisabled, LastStatus: 410})
	if err != nil {
		t.Fatal(err)
	}
	if d.State != store.DeliveryDisabled || d.Cursor != 1 {
		t.Errorf("after 410 = %q at %d, want disabled at 1", d.State, d.Cursor)
	}
	clock.Advance(time.Hour)
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the delivery is disabled")
	appendN(t, s, "s1", 1)
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the delivery is disabled, even with new events")
}

func TestRecordDeliveryInvalid(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 1)
	c := mustClaimDelivery(t, s, webhookSink, "w1", time.Now())

	tests := []struct {
		name string
		out  store.DeliveryOutcome
		want error
	}{
		{"wrong offset", store.DeliveryOutcome{Offset: 1, Delivered: true}, store.ErrConflict},
		{"no event", store.DeliveryOutcome{Offset: -1, Delivered: true}, store.ErrConflict},
		{"unknown state", store.DeliveryOutcome{Offset: 0, State: "gone"}, errInvalidDeliveryState},
		{"active failure", store.DeliveryOutcome{Offset: 0, State: store.DeliveryActive}, errInvalidDeliveryState},
		{"retry without time", store.DeliveryOutcome{Offset: 0, State: store.DeliveryRetrying}, errMissingNextAttempt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.RecordDelivery(ctx, c, tt.out); !errors.Is(err, tt.want) {
				t.Errorf("RecordDelivery = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := s.RecordDelivery(ctx, c, delivered(0)); err != nil {
		t.Errorf("RecordDelivery after rejected outcomes: %v; the lease and cursor should be unchanged", err)
	}
}

func TestDeliveryPauseAndResume(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 3)
	c := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if _, err := s.RecordDelivery(ctx, c, delivered(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordDelivery(ctx, c, store.DeliveryOutcome{
		Offset: 1, State: store.DeliveryPaused, LastStatus: 500, LastError: "receiver responded 500",
	}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(24 * time.Hour)
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the delivery is paused")

	sess, err := s.ResumeDelivery(ctx, "s1", "")
	if err != nil {
		t.Fatalf("ResumeDelivery: %v", err)
	}
	d := sess.Deliveries["webhook"]
	if d.State != store.DeliveryActive || d.Attempts != 0 || d.Cursor != 1 {
		t.Errorf("after resume = %q attempts %d cursor %d, want active, 0, 1", d.State, d.Attempts, d.Cursor)
	}
	if d.LastError == "" || d.LastStatus != 500 {
		t.Errorf("after resume = status %d error %q, want the last failure kept", d.LastStatus, d.LastError)
	}
	c = mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if c.Delivery.Cursor != 1 {
		t.Errorf("claim after resume at cursor %d, want 1: the failed event comes next", c.Delivery.Cursor)
	}

	if _, err := s.ResumeDelivery(ctx, "nobody", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ResumeDelivery(unknown) = %v, want ErrNotFound", err)
	}
}

func TestResumeDeliveryTakesLease(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 2)
	old := mustClaimDelivery(t, s, webhookSink, "w1", time.Now())
	if _, err := s.ResumeDelivery(ctx, "s1", "webhook"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordDelivery(ctx, old, delivered(0)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RecordDelivery of a claim from before the resume = %v, want ErrLeaseLost", err)
	}
	if err := s.ExtendDeliveryLease(ctx, old, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ExtendDeliveryLease of a claim from before the resume = %v, want ErrLeaseLost", err)
	}
	if err := s.ReleaseDelivery(ctx, old); err != nil {
		t.Errorf("ReleaseDelivery of a lost claim = %v, want nil", err)
	}
	next := mustClaimDelivery(t, s, webhookSink, "w2", time.Now())
	if next.Delivery.Cursor != 0 {
		t.Errorf("claim after resume at cursor %d, want 0", next.Delivery.Cursor)
	}
}

func TestDeliveryLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 1)
	first, ok, err := s.ClaimDelivery(ctx, webhookSink, "w1", clock.Now(), 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("ClaimDelivery = %v, %v", ok, err)
	}
	clock.Advance(5 * time.Second)
	if err := s.ExtendDeliveryLease(ctx, first, 10*time.Second); err != nil {
		t.Fatalf("ExtendDeliveryLease: %v", err)
	}
	clock.Advance(9 * time.Second)
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the extended lease is held")

	clock.Advance(2 * time.Second)
	second := mustClaimDelivery(t, s, webhookSink, "w2", clock.Now())
	if second.Delivery.Lease.Owner != "w2" {
		t.Errorf("claim after expiry owner = %q, want w2", second.Delivery.Lease.Owner)
	}
	if _, err := s.RecordDelivery(ctx, first, delivered(0)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RecordDelivery by the expired owner = %v, want ErrLeaseLost", err)
	}
	if _, err := s.RecordDelivery(ctx, second, delivered(0)); err != nil {
		t.Errorf("RecordDelivery by the new owner: %v", err)
	}
}

func TestDeliveryDeletedSession(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 1)
	c := mustClaimDelivery(t, s, webhookSink, "w1", time.Now())
	if err := s.DeleteSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordDelivery(ctx, c, delivered(0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordDelivery of a deleted session = %v, want ErrNotFound", err)
	}
	assertNoDelivery(t, s, webhookSink, time.Now(), "the session was deleted")
}

func TestDeliveryInvalidClaims(t *testing.T) {
	ctx := context.Background()
	s := New()
	tests := []struct {
		name  string
		sink  store.DeliverySink
		owner string
		ttl   time.Duration
		want  error
	}{
		{"no sink", store.DeliverySink{}, "w1", time.Minute, errMissingSink},
		{"no owner", webhookSink, "", time.Minute, errMissingOwner},
		{"zero ttl", webhookSink, "w1", 0, errInvalidTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.ClaimDelivery(ctx, tt.sink, tt.owner, time.Now(), tt.ttl); !errors.Is(err, tt.want) {
				t.Errorf("ClaimDelivery = %v, want %v", err, tt.want)
			}
		})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ClaimDelivery(ctx, webhookSink, "w1", time.Now(), time.Minute); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ClaimDelivery after Close = %v, want ErrClosed", err)
	}
}

func TestDeliveryTopicWakes(t *testing.T) {
	ctx := context.Background()
	s := New()
	wake, cancel := s.Notifier().Subscribe(store.DeliveryTopic)
	defer cancel()
	expectWake := func(what string) {
		t.Helper()
		select {
		case <-wake:
		case <-time.After(5 * time.Second):
			t.Fatalf("no wake-up on %s after %s", store.DeliveryTopic, what)
		}
	}
	if _, _, err := s.CreateSession(ctx, store.Session{ID: "s1"}, []store.NewEvent{textEvent("hi")}); err != nil {
		t.Fatal(err)
	}
	expectWake("CreateSession with an initial event")
	appendN(t, s, "s1", 1)
	expectWake("Append")
	url := "https://hooks.example.com/b"
	if _, err := s.UpdateSession(ctx, "s1", store.SessionPatch{WebhookURL: &url}); err != nil {
		t.Fatal(err)
	}
	expectWake("a new webhook URL")
	if _, err := s.ResumeDelivery(ctx, "s1", ""); err != nil {
		t.Fatal(err)
	}
	expectWake("ResumeDelivery")
}

// TestClaimDeliveryExclusive has many workers deliver many sessions at
// once and checks that no session is held by two workers at a time and
// that every event is delivered once, in order.
func TestClaimDeliveryExclusive(t *testing.T) {
	ctx := context.Background()
	s := New()
	const sessions, events, workers = 20, 30, 8
	for i := range sessions {
		mustCreate(t, s, fmt.Sprint("s", i))
	}
	var holders sync.Map // session id → worker
	var overlap atomic.Int64
	var mu sync.Mutex
	got := map[string][]int64{}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprint("w", w)
			for {
				c, ok, err := s.ClaimDelivery(ctx, webhookSink, owner, time.Now(), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
						continue
					}
				}
				if _, loaded := holders.LoadOrStore(c.Session.ID, owner); loaded {
					overlap.Add(1)
				}
				cursor := c.Delivery.Cursor
				for cursor < c.Session.NextOffset {
					if _, err := s.RecordDelivery(ctx, c, delivered(cursor)); err != nil {
						t.Error(err)
						break
					}
					mu.Lock()
					got[c.Session.ID] = append(got[c.Session.ID], cursor)
					mu.Unlock()
					cursor++
				}
				holders.Delete(c.Session.ID)
				if err := s.ReleaseDelivery(ctx, c); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for range events {
		for i := range sessions {
			appendN(t, s, fmt.Sprint("s", i), 1)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, offsets := range got {
			n += len(offsets)
		}
		mu.Unlock()
		if n == sessions*events || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	if n := overlap.Load(); n != 0 {
		t.Errorf("%d claims overlapped another worker's claim of the same session", n)
	}
	for i := range sessions {
		id := fmt.Sprint("s", i)
		offsets := got[id]
		if len(offsets) != events {
			t.Errorf("session %s: %d events delivered, want %d", id, len(offsets), events)
			continue
		}
		for j, off := range offsets {
			if off != int64(j) {
				t.Errorf("session %s: delivery %d was offset %d, want %d", id, j, off, j)
				break
			}
		}
	}
}
