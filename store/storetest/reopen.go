package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

func (h *harness) reopenChecks() []check {
	if h.opts.Reopen == nil {
		return skipArea("Options.Reopen is nil: the store is not durable")
	}
	return []check{
		{"Sessions", h.testReopenSessions},
		{"Runs", h.testReopenRuns},
		{"TurnLease", h.testReopenTurnLease},
		{"CancelRequested", h.testReopenCancelRequested},
		{"RunLease", h.testReopenRunLease},
		{"DeliveryLease", h.testReopenDeliveryLease},
		{"Offsets", h.testReopenOffsets},
	}
}

// testReopenSessions checks that customers, sessions, events with their
// exact payload bytes, processed offsets, delivery progress and reserved
// ids survive a reopen.
func (h *harness) testReopenSessions(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)

	customer, _, err := s.PutCustomer(ctx, store.Customer{
		ID: "c-1", Name: "Ada",
		Variables: map[string]any{"tier": "gold", "seats": 3},
		Metadata:  map[string]any{"crm": map[string]any{"id": "x1"}},
	})
	if err != nil {
		t.Fatalf("PutCustomer: %v", err)
	}
	_, _, err = s.CreateSession(ctx, store.Session{
		ID: "s-1", CustomerID: "c-1", Mode: store.ModeManual, WebhookURL: testURL,
		Variables: map[string]any{"lang": "en"}, Metadata: map[string]any{"src": "web"},
	}, []store.NewEvent{{Kind: "greeting", Payload: json.RawMessage(exactPayload)}})
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	clock.Advance(time.Second)
	trigger := mustTrigger(t, s, "s-1")
	c := mustClaimTurn(t, s, "s-1", "w1", time.Minute)
	reply := []store.NewEvent{{Kind: "agent_message", TurnID: "trn_1", Payload: json.RawMessage(exactPayload)}}
	if _, err := s.CompleteTurn(ctx, c, reply, trigger.Offset+1); err != nil {
		t.Fatalf("CompleteTurn: %v", err)
	}
	mustTrigger(t, s, "s-1")

	// The webhook sink delivers one event and pauses at the next; the
	// queue sink delivers two.
	hook := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
	if _, err := s.RecordDelivery(ctx, hook, delivered(0)); err != nil {
		t.Fatalf("RecordDelivery(webhook, 0): %v", err)
	}
	if _, err := s.RecordDelivery(ctx, hook, store.DeliveryOutcome{
		Offset: 1, State: store.DeliveryPaused, LastStatus: 500, LastError: "receiver responded 500",
	}); err != nil {
		t.Fatalf("RecordDelivery(webhook, paused): %v", err)
	}
	queue := store.DeliverySink{Name: "queue"}
	q := mustClaimDelivery(t, s, queue, "w1", clock.Now())
	for offset := range int64(2) {
		if _, err := s.RecordDelivery(ctx, q, delivered(offset)); err != nil {
			t.Fatalf("RecordDelivery(queue, %d): %v", offset, err)
		}
	}
	if err := s.ReleaseDelivery(ctx, q); err != nil {
		t.Fatalf("ReleaseDelivery: %v", err)
	}

	mustCreate(t, s, "s-gone")
	if err := s.DeleteSession(ctx, "s-gone"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	beforeSession := mustGetSession(t, s, "s-1")
	beforeEvents, err := s.ListEvents(ctx, "s-1", 0, listAll)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}

	s = h.reopen(t, s, clock)

	gotCustomer, err := s.GetCustomer(ctx, "c-1")
	if err != nil {
		t.Fatalf("GetCustomer after reopen: %v", err)
	}
	if gotCustomer.Name != customer.Name || !sameMap(gotCustomer.Variables, customer.Variables) ||
		!sameMap(gotCustomer.Metadata, customer.Metadata) || !gotCustomer.CreatedAt.Equal(customer.CreatedAt) {
		t.Errorf("customer after reopen = %+v, want %+v", gotCustomer, customer)
	}

	sess := mustGetSession(t, s, "s-1")
	if sess.CustomerID != "c-1" || sess.Mode != store.ModeManual || sess.WebhookURL != testURL ||
		!sameMap(sess.Variables, beforeSession.Variables) || !sameMap(sess.Metadata, beforeSession.Metadata) {
		t.Errorf("session after reopen = %+v, want %+v", sess, beforeSession)
	}
	if sess.NextOffset != beforeSession.NextOffset || sess.TriggerOffset != beforeSession.TriggerOffset ||
		sess.ProcessedOffset != beforeSession.ProcessedOffset {
		t.Errorf("offsets after reopen = next %d trigger %d processed %d, want %d, %d, %d",
			sess.NextOffset, sess.TriggerOffset, sess.ProcessedOffset,
			beforeSession.NextOffset, beforeSession.TriggerOffset, beforeSession.ProcessedOffset)
	}
	if !sess.CreatedAt.Equal(beforeSession.CreatedAt) {
		t.Errorf("CreatedAt after reopen = %v, want %v", sess.CreatedAt, beforeSession.CreatedAt)
	}
	for _, sink := range []string{"webhook", "queue"} {
		if d := diffDelivery(sess.Deliveries[sink], beforeSession.Deliveries[sink]); d != "" {
			t.Errorf("delivery to %s after reopen: %s", sink, d)
		}
	}

	events, err := s.ListEvents(ctx, "s-1", 0, listAll)
	if err != nil {
		t.Fatalf("ListEvents after reopen: %v", err)
	}
	if len(events) != len(beforeEvents) {
		t.Fatalf("ListEvents after reopen returned %d events, want %d", len(events), len(beforeEvents))
	}
	for i, ev := range events {
		want := beforeEvents[i]
		if ev.Offset != want.Offset || ev.Kind != want.Kind || ev.TurnID != want.TurnID || !ev.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("event %d after reopen = offset %d kind %q turn %q at %v, want %d, %q, %q, %v",
				i, ev.Offset, ev.Kind, ev.TurnID, ev.CreatedAt, want.Offset, want.Kind, want.TurnID, want.CreatedAt)
		}
		if string(ev.Payload) != string(want.Payload) {
			t.Errorf("event %d payload after reopen = %s, want %s byte for byte", i, ev.Payload, want.Payload)
		}
	}
	if string(events[0].Payload) != exactPayload {
		t.Errorf("initial event payload after reopen = %s, want %s", events[0].Payload, exactPayload)
	}

	if _, _, err := s.CreateSession(ctx, store.Session{ID: "s-gone"}, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession(deleted id) after reopen error = %v, want ErrConflict", err)
	}
	if ids, err := s.PendingTurns(ctx, clock.Now(), 10); err != nil || len(ids) != 1 || ids[0] != "s-1" {
		t.Errorf("PendingTurns after reopen = %v, %v; want [s-1]", ids, err)
	}
	next := mustClaimDelivery(t, s, queue, "w2", clock.Now())
	if next.Session.ID != "s-1" || next.Delivery.Cursor != 2 {
		t.Errorf("queue claim after reopen = %q at cursor %d, want s-1 at 2", next.Session.ID, next.Delivery.Cursor)
	}
	assertNoDelivery(t, s, webhookSink, clock.Now(), "the webhook delivery was paused before the reopen")
}

// testReopenRuns checks that runs keep their status, attempts, results,
// callback state and idempotency keys across a reopen.
func (h *harness) testReopenRuns(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	ids := []string{"run-queued", "run-running", "run-succeeded", "run-failed", "run-delivered"}
	for i, id := range ids {
		r := newRun(id)
		r.CreatedAt = clock.Now().Add(time.Duration(i-len(ids)) * time.Second)
		r.IdempotencyKey = "key-" + id
		r.InputHash = "hash-" + id
		r.Input = json.RawMessage(runExactInput)
		r.Metadata = map[string]any{"n": i}
		r.MaxAttempts = 3
		r.Timeout = time.Minute
		r.Trigger = store.RunTrigger{Source: "webhook", Webhook: "zendesk"}
		if id != "run-failed" {
			r.CallbackURL = testURL
		}
		mustCreateRun(t, s, r)
	}
	if _, err := s.CancelRun(ctx, "run-queued"); err != nil {
		t.Fatalf("CancelRun: %v", err)
	}
	// run-queued is cancelled now, so re-create a queued run under another
	// key to have one of each status.
	fresh := newRun("run-fresh")
	fresh.IdempotencyKey = "key-fresh"
	fresh.CreatedAt = clock.Now().Add(time.Hour)
	mustCreateRun(t, s, fresh)
	ids = append(ids, "run-fresh")

	running := mustClaimRun(t, s, "w1", longTTL)
	if running.Run.ID != "run-running" {
		t.Fatalf("ClaimRun = %q, want run-running", running.Run.ID)
	}
	for _, id := range []string{"run-succeeded", "run-failed", "run-delivered"} {
		c := mustClaimRun(t, s, "w1", time.Minute)
		if c.Run.ID != id {
			t.Fatalf("ClaimRun = %q, want %q", c.Run.ID, id)
		}
		res := store.RunResult{Status: store.RunSucceeded, Output: json.RawMessage(runExactInput)}
		if id == "run-failed" {
			res = store.RunResult{Status: store.RunFailed, Error: &store.RunError{Code: "tool_error", Message: "lookup failed"}}
		}
		if _, err := s.CompleteRun(ctx, c, res); err != nil {
			t.Fatalf("CompleteRun(%s): %v", id, err)
		}
	}
	clock.Advance(time.Second)
	cb := mustClaimCallback(t, s, "d1", clock.Now())
	if _, err := s.RecordCallback(ctx, cb, store.CallbackOutcome{
		State: store.CallbackPending, NextAttemptAt: clock.Now().Add(time.Minute), LastStatus: 503, LastError: "busy",
	}); err != nil {
		t.Fatalf("RecordCallback(pending): %v", err)
	}
	cb = mustClaimCallback(t, s, "d1", clock.Now())
	if _, err := s.RecordCallback(ctx, cb, store.CallbackOutcome{State: store.CallbackDelivered, LastStatus: 200}); err != nil {
		t.Fatalf("RecordCallback(delivered): %v", err)
	}
	before := make(map[string]store.Run)
	for _, id := range ids {
		before[id] = mustGetRun(t, s, id)
	}

	s = h.reopen(t, s, clock)

	for _, id := range ids {
		got, err := s.GetRun(ctx, id)
		if err != nil {
			t.Errorf("GetRun(%s) after reopen: %v", id, err)
			continue
		}
		if d := diffRun(got, before[id]); d != "" {
			t.Errorf("run %s after reopen: %s", id, d)
		}
	}
	for _, id := range ids {
		r := newRun("run-again-" + id)
		r.IdempotencyKey = before[id].IdempotencyKey
		got, created, err := s.CreateRun(ctx, r)
		if err != nil {
			t.Errorf("CreateRun(key of %s) after reopen: %v", id, err)
			continue
		}
		if created || got.ID != id {
			t.Errorf("CreateRun(key of %s) after reopen = %q created %v, want %s not created", id, got.ID, created, id)
		}
	}
	if _, _, err := s.CreateRun(ctx, newRun("run-fresh")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateRun(existing id) after reopen error = %v, want ErrConflict", err)
	}
	if c := mustClaimRun(t, s, "w2", time.Minute); c.Run.ID != "run-fresh" {
		t.Errorf("ClaimRun after reopen = %q, want run-fresh, the only queued run", c.Run.ID)
	}
	if _, ok, err := s.ClaimCallback(ctx, "d2", clock.Now().Add(2*time.Minute), time.Minute); err != nil || !ok {
		t.Errorf("ClaimCallback after reopen = %v, %v; want the retry of a pending callback", ok, err)
	}
}

// testReopenTurnLease checks that a turn lease held before a reopen is
// still held after it, by the same claim, and expires with the clock.
func (h *harness) testReopenTurnLease(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	old, trigger := mustHoldTurn(t, s, "s-1", "w1", 30*time.Second)

	s = h.reopen(t, s, clock)

	if stored := mustGetSession(t, s, "s-1"); !sameLease(stored.Lease, old.Lease) {
		t.Errorf("lease after reopen = %+v, want %+v", stored.Lease, old.Lease)
	}
	if _, ok, err := s.ClaimTurn(ctx, "s-1", "w2", time.Minute); err != nil || ok {
		t.Errorf("ClaimTurn after reopen = %v, %v; want false, nil: the lease is held", ok, err)
	}
	if _, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("x")}, store.AppendOptions{RequireIdle: true}); !errors.Is(err, store.ErrTurnBusy) {
		t.Errorf("Append(RequireIdle) after reopen error = %v, want ErrTurnBusy", err)
	}
	clock.Advance(20 * time.Second)
	if err := s.ExtendLease(ctx, old, 30*time.Second); err != nil {
		t.Errorf("ExtendLease by the claim from before the reopen: %v", err)
	}
	clock.Advance(29 * time.Second)
	if _, ok, _ := s.ClaimTurn(ctx, "s-1", "w2", time.Minute); ok {
		t.Fatalf("ClaimTurn took a lease extended after the reopen before it expired")
	}
	clock.Advance(time.Second)
	taken := mustClaimTurn(t, s, "s-1", "w2", time.Minute)
	if _, err := s.CompleteTurn(ctx, old, nil, trigger.Offset+1); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("CompleteTurn by the expired claim error = %v, want ErrLeaseLost", err)
	}
	if _, err := s.CompleteTurn(ctx, taken, nil, trigger.Offset+1); err != nil {
		t.Errorf("CompleteTurn by the new claim: %v", err)
	}
}

// testReopenRunLease checks that a run lease held before a reopen is still
// held after it and expires with the clock.
func (h *harness) testReopenRunLease(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	r := newRun("run-1")
	r.MaxAttempts = 2
	mustCreateRun(t, s, r)
	old := mustClaimRun(t, s, "w1", 30*time.Second)

	s = h.reopen(t, s, clock)

	if got := mustGetRun(t, s, "run-1"); !sameLease(got.Lease, old.Lease) || got.Status != store.RunRunning || got.Attempts != 1 {
		t.Errorf("run after reopen = status %q attempts %d lease %+v, want running, 1, %+v",
			got.Status, got.Attempts, got.Lease, old.Lease)
	}
	if _, ok, err := s.ClaimRun(ctx, "w2", time.Minute); err != nil || ok {
		t.Errorf("ClaimRun after reopen = %v, %v; want false, nil: the lease is held", ok, err)
	}
	if err := s.ExtendRunLease(ctx, old, 30*time.Second); err != nil {
		t.Errorf("ExtendRunLease by the claim from before the reopen: %v", err)
	}
	clock.Advance(30 * time.Second)
	taken := mustClaimRun(t, s, "w2", time.Minute)
	if taken.Run.ID != "run-1" || taken.Run.Attempts != 2 {
		t.Errorf("claim after expiry = %q attempt %d, want run-1 attempt 2", taken.Run.ID, taken.Run.Attempts)
	}
	if _, err := s.CompleteRun(ctx, old, store.RunResult{Status: store.RunSucceeded}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("CompleteRun by the expired claim error = %v, want ErrLeaseLost", err)
	}
}

// testReopenDeliveryLease checks that a delivery lease held before a
// reopen still lets its claim record outcomes, and expires with the clock.
func (h *harness) testReopenDeliveryLease(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustCreate(t, s, "s-1")
	appendN(t, s, "s-1", 3)
	old := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())

	s = h.reopen(t, s, clock)

	assertNoDelivery(t, s, webhookSink, clock.Now(), "the lease from before the reopen is held")
	if _, err := s.RecordDelivery(ctx, old, delivered(0)); err != nil {
		t.Errorf("RecordDelivery by the claim from before the reopen: %v", err)
	}
	clock.Advance(time.Minute)
	taken := mustClaimDelivery(t, s, webhookSink, "w2", clock.Now())
	if taken.Delivery.Cursor != 1 {
		t.Errorf("claim after expiry at cursor %d, want 1", taken.Delivery.Cursor)
	}
	if _, err := s.RecordDelivery(ctx, old, delivered(1)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RecordDelivery by the expired claim = %v, want ErrLeaseLost", err)
	}
}

// testReopenOffsets appends before and after a reopen, concurrently after
// it: the log stays gapless across both stores.
func (h *harness) testReopenOffsets(t *testing.T) {
	s, clock := h.open(t)
	mustCreate(t, s, "s-1")
	var offsets []int64
	for _, ev := range appendN(t, s, "s-1", 5) {
		offsets = append(offsets, ev.Offset)
	}

	s = h.reopen(t, s, clock)

	const writers, perWriter = 4, 5
	returned, err := appendFromWriters(s, "s-1", writers, writers*perWriter, "reopened")
	if err != nil {
		t.Fatalf("Append after reopen: %v", err)
	}
	offsets = append(offsets, returned...)
	checkGapless(t, s, "s-1", offsets)
}
