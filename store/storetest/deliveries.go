package storetest

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

// Concurrent deliveries: sessions, events appended to each while workers
// deliver them, and workers.
const (
	deliverySessions = 6
	deliveryEvents   = 8
	deliveryWorkers  = 4
)

func (h *harness) deliveryChecks() []check {
	return []check{
		{"Work", h.testClaimDeliveryWork},
		{"InitialEvents", h.testClaimDeliveryInitialEvents},
		{"RequireWebhookURL", h.testClaimDeliveryRequiresURL},
		{"SinksIndependent", h.testClaimDeliverySinksIndependent},
		{"Failures", h.testRecordDeliveryFailures},
		{"RecordInvalid", h.testRecordDeliveryInvalid},
		{"PauseResume", h.testDeliveryPauseAndResume},
		{"ResumeTakesLease", h.testResumeDeliveryTakesLease},
		{"LeaseExpiry", h.testDeliveryLeaseExpiry},
		{"ClaimExclusive", h.testClaimDeliveryExclusive},
		{"DeletedSession", h.testDeliveryDeletedSession},
		{"Workers", h.testDeliveryWorkers},
	}
}

func (h *harness) testClaimDeliveryWork(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
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
	wantLease := store.Lease{Owner: "w1", Token: c.Delivery.Lease.Token, Expires: clock.Now().Add(time.Minute)}
	if c.Delivery.Lease.Token == "" || !sameLease(c.Delivery.Lease, wantLease) {
		t.Errorf("claimed lease = %+v, want %+v with a token", c.Delivery.Lease, wantLease)
	}
	if c.Session.NextOffset != 2 {
		t.Errorf("claimed session NextOffset = %d, want 2", c.Session.NextOffset)
	}
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the only session with events is leased")

	clock.Advance(time.Second)
	for offset := int64(0); offset < 2; offset++ {
		d, err := s.RecordDelivery(ctx, c, delivered(offset))
		if err != nil {
			t.Fatalf("RecordDelivery(%d): %v", offset, err)
		}
		want := store.Delivery{
			State: store.DeliveryActive, Cursor: offset + 1, LastStatus: 200,
			LastAttemptAt: clock.Now(), Lease: c.Delivery.Lease,
		}
		if diff := diffDelivery(d, want); diff != "" {
			t.Errorf("RecordDelivery(%d) returned %s", offset, diff)
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
	sess := mustGetSession(t, s, "busy")
	if got := sess.Deliveries["webhook"]; got.Cursor != 2 || got.LastStatus != 200 || got.State != store.DeliveryActive {
		t.Errorf("GetSession deliveries[webhook] = cursor %d status %d state %q, want 2, 200, active",
			got.Cursor, got.LastStatus, got.State)
	}
	if _, ok := mustGetSession(t, s, "idle").Deliveries["webhook"]; ok {
		t.Logf("idle session has a webhook entry; a missing entry means active at cursor 0")
	}
	if _, _, err := s.ClaimDelivery(ctx, store.DeliverySink{}, "w1", clock.Now(), time.Minute); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ClaimDelivery(no sink name) error = %v, want ErrInvalidArgument", err)
	}
	if _, _, err := s.ClaimDelivery(ctx, webhookSink, "", clock.Now(), time.Minute); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ClaimDelivery(empty owner) error = %v, want ErrInvalidArgument", err)
	}
	if _, _, err := s.ClaimDelivery(ctx, webhookSink, "w1", clock.Now(), 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ClaimDelivery(zero ttl) error = %v, want ErrInvalidArgument", err)
	}
}

func (h *harness) testClaimDeliveryInitialEvents(t *testing.T) {
	s, clock := h.open(t)
	greeting := []store.NewEvent{textEvent("hello")}
	if _, _, err := s.CreateSession(context.Background(), store.Session{ID: "greeted"}, greeting); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	c := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if c.Session.ID != "greeted" || c.Delivery.Cursor != 0 {
		t.Errorf("claim = %q at cursor %d, want greeted at 0", c.Session.ID, c.Delivery.Cursor)
	}
}

func (h *harness) testClaimDeliveryRequiresURL(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	sink := store.DeliverySink{Name: "webhook", RequireWebhookURL: true}
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 3)
	assertNoDelivery(t, s, sink, clock.Now(), "the session has no webhook URL")

	url := testURL
	if _, err := s.UpdateSession(ctx, "s1", store.SessionPatch{WebhookURL: &url}); err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	c := mustClaimDelivery(t, s, sink, "w1", clock.Now())
	if c.Delivery.Cursor != 0 || c.Session.WebhookURL != url {
		t.Errorf("claim = cursor %d url %q, want cursor 0 (events held, not skipped) and %q",
			c.Delivery.Cursor, c.Session.WebhookURL, url)
	}
}

func (h *harness) testClaimDeliverySinksIndependent(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	queue := store.DeliverySink{Name: "queue"}
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 2)

	hook := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if _, err := s.RecordDelivery(ctx, hook, store.DeliveryOutcome{
		Offset: 0, State: store.DeliveryPaused, LastStatus: 500, LastError: "receiver responded 500",
	}); err != nil {
		t.Fatalf("RecordDelivery(paused): %v", err)
	}
	// The first claim for a new sink name finds sessions created before.
	q := mustClaimDelivery(t, s, queue, "w1", clock.Now())
	if q.Session.ID != "s1" || q.Delivery.Cursor != 0 || q.Delivery.State != store.DeliveryActive {
		t.Fatalf("queue claim = %q cursor %d state %q, want s1, 0, active",
			q.Session.ID, q.Delivery.Cursor, q.Delivery.State)
	}
	if _, err := s.RecordDelivery(ctx, q, delivered(0)); err != nil {
		t.Fatalf("RecordDelivery(queue): %v", err)
	}
	sess := mustGetSession(t, s, "s1")
	if d := sess.Deliveries["webhook"]; d.State != store.DeliveryPaused || d.Cursor != 0 {
		t.Errorf("webhook delivery = %q at %d, want paused at 0", d.State, d.Cursor)
	}
	if d := sess.Deliveries["queue"]; d.State != store.DeliveryActive || d.Cursor != 1 {
		t.Errorf("queue delivery = %q at %d, want active at 1", d.State, d.Cursor)
	}

	if _, err := s.ResumeDelivery(ctx, "s1", "queue"); err != nil {
		t.Fatalf("ResumeDelivery(queue): %v", err)
	}
	if d := mustGetSession(t, s, "s1").Deliveries["webhook"]; d.State != store.DeliveryPaused {
		t.Errorf("webhook delivery = %q after resuming only the queue sink, want paused", d.State)
	}
}

func (h *harness) testRecordDeliveryFailures(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
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
	want := store.Delivery{
		State: store.DeliveryRetrying, Cursor: 0, Attempts: 1, NextAttemptAt: retryAt,
		LastStatus: 503, LastError: "receiver responded 503 Service Unavailable", LastAttemptAt: clock.Now(),
	}
	if diff := diffDelivery(d, want); diff != "" {
		t.Errorf("after a failure: %s", diff)
	}
	if diff := diffDelivery(mustGetSession(t, s, "s1").Deliveries["webhook"], want); diff != "" {
		t.Errorf("stored after a failure: %s", diff)
	}
	if _, err := s.RecordDelivery(ctx, c, delivered(0)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RecordDelivery after the lease was released = %v, want ErrLeaseLost", err)
	}
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the retry is not due")
	assertNoDelivery(t, s, webhookSink, retryAt.Add(-time.Second), "the retry is not due")

	clock.Advance(5 * time.Second)
	c = mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if c.Delivery.Attempts != 1 || c.Delivery.Cursor != 0 || c.Delivery.State != store.DeliveryRetrying {
		t.Fatalf("retry claim = attempts %d cursor %d state %q, want 1, 0, retrying",
			c.Delivery.Attempts, c.Delivery.Cursor, c.Delivery.State)
	}
	d, err = s.RecordDelivery(ctx, c, delivered(0))
	if err != nil {
		t.Fatalf("RecordDelivery(delivered): %v", err)
	}
	if d.Attempts != 0 || d.State != store.DeliveryActive || d.LastError != "" || d.Cursor != 1 || !d.NextAttemptAt.IsZero() {
		t.Errorf("after a success = attempts %d state %q error %q cursor %d next %v, want 0, active, none, 1, zero",
			d.Attempts, d.State, d.LastError, d.Cursor, d.NextAttemptAt)
	}

	d, err = s.RecordDelivery(ctx, c, store.DeliveryOutcome{Offset: 1, State: store.DeliveryDisabled, LastStatus: 410})
	if err != nil {
		t.Fatalf("RecordDelivery(disabled): %v", err)
	}
	if d.State != store.DeliveryDisabled || d.Cursor != 1 || d.Attempts != 1 {
		t.Errorf("after 410 = %q at %d with %d attempts, want disabled at 1 with 1", d.State, d.Cursor, d.Attempts)
	}
	clock.Advance(time.Hour)
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the delivery is disabled")
	appendN(t, s, "s1", 1)
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the delivery is disabled, even with new events")
}

func (h *harness) testRecordDeliveryInvalid(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 1)
	c := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())

	tests := []struct {
		name         string
		out          store.DeliveryOutcome
		wantConflict bool
	}{
		{"wrong offset", store.DeliveryOutcome{Offset: 1, Delivered: true}, true},
		{"negative offset", store.DeliveryOutcome{Offset: -1, Delivered: true}, true},
		{"unknown state", store.DeliveryOutcome{Offset: 0, State: "gone"}, false},
		{"active failure", store.DeliveryOutcome{Offset: 0, State: store.DeliveryActive}, false},
		{"retry without time", store.DeliveryOutcome{Offset: 0, State: store.DeliveryRetrying}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.RecordDelivery(ctx, c, tt.out)
			switch {
			case tt.wantConflict && !errors.Is(err, store.ErrConflict):
				t.Errorf("RecordDelivery = %v, want ErrConflict", err)
			case !tt.wantConflict && !errors.Is(err, store.ErrInvalidArgument):
				t.Errorf("RecordDelivery = %v, want ErrInvalidArgument", err)
			}
		})
	}
	if _, err := s.RecordDelivery(ctx, c, delivered(0)); err != nil {
		t.Errorf("RecordDelivery after rejected outcomes: %v; the lease and cursor should be unchanged", err)
	}
	if _, err := s.RecordDelivery(ctx, c, delivered(1)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RecordDelivery past the last event = %v, want ErrConflict", err)
	}
}

func (h *harness) testDeliveryPauseAndResume(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 3)
	c := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if _, err := s.RecordDelivery(ctx, c, delivered(0)); err != nil {
		t.Fatalf("RecordDelivery(0): %v", err)
	}
	if _, err := s.RecordDelivery(ctx, c, store.DeliveryOutcome{
		Offset: 1, State: store.DeliveryPaused, LastStatus: 500, LastError: "receiver responded 500",
	}); err != nil {
		t.Fatalf("RecordDelivery(paused): %v", err)
	}
	clock.Advance(24 * time.Hour)
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the delivery is paused")
	appendN(t, s, "s1", 1)
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the delivery is paused, even with new events")

	sess, err := s.ResumeDelivery(ctx, "s1", "")
	if err != nil {
		t.Fatalf("ResumeDelivery: %v", err)
	}
	d := sess.Deliveries["webhook"]
	if d.State != store.DeliveryActive || d.Attempts != 0 || d.Cursor != 1 {
		t.Errorf("after resume = %q attempts %d cursor %d, want active, 0, 1", d.State, d.Attempts, d.Cursor)
	}
	if d.LastError != "receiver responded 500" || d.LastStatus != 500 {
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

func (h *harness) testResumeDeliveryTakesLease(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 2)
	old := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if _, err := s.ResumeDelivery(ctx, "s1", "webhook"); err != nil {
		t.Fatalf("ResumeDelivery: %v", err)
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
	next := mustClaimDelivery(t, s, webhookSink, "w2", clock.Now())
	if next.Delivery.Cursor != 0 {
		t.Errorf("claim after resume at cursor %d, want 0", next.Delivery.Cursor)
	}
	if err := s.ReleaseDelivery(ctx, old); err != nil {
		t.Errorf("ReleaseDelivery of a lost claim = %v, want nil", err)
	}
	if _, err := s.RecordDelivery(ctx, next, delivered(0)); err != nil {
		t.Errorf("RecordDelivery by the new claim after the old one's release: %v", err)
	}
}

func (h *harness) testDeliveryLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
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
	if d := mustGetSession(t, s, "s1").Deliveries["webhook"]; !d.Lease.Expires.Equal(clock.Now().Add(10 * time.Second)) {
		t.Errorf("lease expires %v after ExtendDeliveryLease, want %v", d.Lease.Expires, clock.Now().Add(10*time.Second))
	}
	clock.Advance(9 * time.Second)
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the extended lease is held")

	clock.Advance(time.Second)
	if err := s.ExtendDeliveryLease(ctx, first, 10*time.Second); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ExtendDeliveryLease at expiry = %v, want ErrLeaseLost", err)
	}
	second := mustClaimDelivery(t, s, webhookSink, "w2", clock.Now())
	if second.Delivery.Lease.Owner != "w2" || second.Delivery.Lease.Token == first.Delivery.Lease.Token {
		t.Errorf("claim after expiry lease = %+v, want owner w2 with a new token", second.Delivery.Lease)
	}
	if _, err := s.RecordDelivery(ctx, first, delivered(0)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RecordDelivery by the expired owner = %v, want ErrLeaseLost", err)
	}
	if err := s.ReleaseDelivery(ctx, first); err != nil {
		t.Errorf("ReleaseDelivery by the expired owner = %v, want nil", err)
	}
	if _, err := s.RecordDelivery(ctx, second, delivered(0)); err != nil {
		t.Errorf("RecordDelivery by the new owner: %v", err)
	}
}

// testClaimDeliveryExclusive races many claims for one session's
// delivery: exactly one wins.
func (h *harness) testClaimDeliveryExclusive(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 1)

	wins := raceClaims(t, "ClaimDelivery", func(racer int) (bool, error) {
		_, ok, err := s.ClaimDelivery(ctx, webhookSink, fmt.Sprintf("w%d", racer), clock.Now(), time.Minute)
		return ok, err
	})
	if wins != 1 {
		t.Errorf("%d of %d concurrent delivery claims succeeded, want exactly 1", wins, claimRacers)
	}
}

func (h *harness) testDeliveryDeletedSession(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustCreate(t, s, "s1")
	appendN(t, s, "s1", 1)
	c := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if err := s.DeleteSession(ctx, "s1"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, err := s.RecordDelivery(ctx, c, delivered(0))
	if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RecordDelivery of a deleted session = %v, want ErrNotFound or ErrLeaseLost", err)
	}
	clock.Advance(time.Hour)
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the session was deleted")
	if _, err := s.ResumeDelivery(ctx, "s1", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ResumeDelivery(deleted) = %v, want ErrNotFound", err)
	}
}

// testDeliveryWorkers has several workers deliver several sessions while
// events are appended. Each worker waits on [store.DeliveryTopic] when it
// finds no work. The check: no session is held by two workers at a time,
// and every event is delivered once, in order.
func (h *harness) testDeliveryWorkers(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	for i := range deliverySessions {
		mustCreate(t, s, fmt.Sprint("s", i))
	}
	var holders sync.Map // session id → worker
	var overlap atomic.Int64
	var mu sync.Mutex
	got := map[string][]int64{}
	appended := make(chan struct{})

	var wg sync.WaitGroup
	for w := range deliveryWorkers {
		wg.Go(func() {
			owner := fmt.Sprint("w", w)
			for {
				wake, cancel := s.Notifier().Subscribe(store.DeliveryTopic)
				c, ok, err := s.ClaimDelivery(ctx, webhookSink, owner, clock.Now(), time.Minute)
				if err != nil {
					cancel()
					t.Errorf("ClaimDelivery: %v", err)
					return
				}
				if !ok {
					select {
					case <-appended:
						cancel()
						return
					default:
					}
					select {
					case <-wake:
					case <-appended:
					case <-time.After(wakeTimeout):
						cancel()
						t.Errorf("worker %s: no wake-up on %s within %v while events were appended",
							owner, store.DeliveryTopic, wakeTimeout)
						return
					}
					cancel()
					continue
				}
				cancel()
				if _, loaded := holders.LoadOrStore(c.Session.ID, owner); loaded {
					overlap.Add(1)
				}
				for cursor := c.Delivery.Cursor; cursor < c.Session.NextOffset; cursor++ {
					if _, err := s.RecordDelivery(ctx, c, delivered(cursor)); err != nil {
						t.Errorf("RecordDelivery(%s, %d): %v", c.Session.ID, cursor, err)
						break
					}
					mu.Lock()
					got[c.Session.ID] = append(got[c.Session.ID], cursor)
					mu.Unlock()
				}
				holders.Delete(c.Session.ID)
				if err := s.ReleaseDelivery(ctx, c); err != nil {
					t.Errorf("ReleaseDelivery: %v", err)
				}
			}
		})
	}
	for range deliveryEvents {
		for i := range deliverySessions {
			appendN(t, s, fmt.Sprint("s", i), 1)
		}
	}
	close(appended)
	wg.Wait()

	if n := overlap.Load(); n != 0 {
		t.Errorf("%d claims overlapped another worker's claim of the same session", n)
	}
	for i := range deliverySessions {
		id := fmt.Sprint("s", i)
		offsets := got[id]
		if len(offsets) != deliveryEvents {
			t.Errorf("session %s: %d events delivered, want %d", id, len(offsets), deliveryEvents)
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
