package memory

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/agentry/agentry/store"
)

// ClaimCallback gives owner a lease of ttl on the pending callback with the
// earliest NextAttemptAt (then the oldest run) that is due at now and whose
// lease is free or expired at now. The lease expires at now+ttl and gets a
// new random token. It returns ok=false when no callback is due. Each claim
// costs O(log n), plus O(log n) per expired callback lease it finds.
func (s *Store) ClaimCallback(ctx context.Context, owner string, now time.Time, ttl time.Duration) (store.CallbackClaim, bool, error) {
	if err := s.check(ctx); err != nil {
		return store.CallbackClaim{}, false, fmt.Errorf("claim callback: %w", err)
	}
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.CallbackClaim{}, false, fmt.Errorf("claim callback: %w", err)
	}
	now = now.UTC()

	t := s.runs
	t.mu.Lock()
	defer t.mu.Unlock()
	due, leased := t.queues[queueCallbackDue], t.queues[queueCallbackLeased]
	for e := leased.peek(); e != nil && !e.r.Callback.Lease.Held(now); e = leased.peek() {
		due.add(leased.popFirst())
	}
	for e := due.peek(); e != nil && !e.r.Callback.NextAttemptAt.After(now); e = due.peek() {
		due.popFirst()
		cb := &e.r.Callback
		if cb.Lease.Held(now) {
			// An earlier claim passed a later now and found this lease
			// expired, but at the caller's now the lease is still held.
			leased.add(e)
			continue
		}
		cb.Lease = store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl)}
		leased.add(e)
		return store.CallbackClaim{Run: cloneRun(e.r), Lease: cb.Lease}, true, nil
	}
	return store.CallbackClaim{}, false, nil
}

// RecordCallback stores the outcome of the attempt c made. It counts the
// attempt, sets State, LastStatus and LastError, frees the callback lease
// and wakes the run's waiters. A pending outcome needs NextAttemptAt, when
// the callback becomes due again. Any other state clears NextAttemptAt,
// and a delivered one sets DeliveredAt to now. It returns ErrLeaseLost,
// changing nothing, when the callback is not pending or c's lease expired
// or was replaced.
func (s *Store) RecordCallback(ctx context.Context, c store.CallbackClaim, o store.CallbackOutcome) (store.Run, error) {
	if err := s.check(ctx); err != nil {
		return store.Run{}, fmt.Errorf("record callback of run %q: %w", c.Run.ID, err)
	}
	if err := o.Validate(); err != nil {
		return store.Run{}, fmt.Errorf("record callback of run %q: %w", c.Run.ID, err)
	}
	now := s.clock()

	t := s.runs
	t.mu.Lock()
	e := t.byID[c.Run.ID]
	if e == nil {
		t.mu.Unlock()
		return store.Run{}, fmt.Errorf("record callback of run %q: %w", c.Run.ID, store.ErrNotFound)
	}
	cb := &e.r.Callback
	if cb.State != store.CallbackPending || !ownsLease(cb.Lease, c.Lease) || !cb.Lease.Held(now) {
		t.mu.Unlock()
		return store.Run{}, fmt.Errorf("record callback of run %q for owner %q: %w",
			c.Run.ID, c.Lease.Owner, store.ErrLeaseLost)
	}
	t.queues[queueCallbackDue].remove(e)
	t.queues[queueCallbackLeased].remove(e)
	cb.Attempts++
	cb.State = o.State
	cb.LastStatus = o.LastStatus
	cb.LastError = o.LastError
	cb.Lease = store.Lease{}
	cb.NextAttemptAt = time.Time{}
	switch o.State {
	case store.CallbackPending:
		cb.NextAttemptAt = o.NextAttemptAt.UTC()
		t.queues[queueCallbackDue].add(e)
	case store.CallbackDelivered:
		cb.DeliveredAt = now
	}
	out := cloneRun(e.r)
	t.mu.Unlock()

	s.notifier.Notify(store.RunTopic(out.ID))
	return out, nil
}

// RedeliverCallback makes an ended run's callback pending and due now with
// its attempt count reset, and wakes the run's waiters. A delivery in
// flight loses its lease, so its RecordCallback returns ErrLeaseLost.
// LastStatus, LastError and DeliveredAt keep their values until the next
// attempt is recorded. A run that has not ended or has no callback URL
// returns ErrConflict; an unknown id returns ErrNotFound.
func (s *Store) RedeliverCallback(ctx context.Context, id string) (store.Run, error) {
	if err := s.check(ctx); err != nil {
		return store.Run{}, fmt.Errorf("redeliver callback of run %q: %w", id, err)
	}
	now := s.clock()

	t := s.runs
	t.mu.Lock()
	e := t.byID[id]
	switch {
	case e == nil:
		t.mu.Unlock()
		return store.Run{}, fmt.Errorf("redeliver callback of run %q: %w", id, store.ErrNotFound)
	case !e.r.Ended():
		status := e.r.Status
		t.mu.Unlock()
		return store.Run{}, fmt.Errorf("redeliver callback of run %q: the run is %s, wait until it ends: %w",
			id, status, store.ErrConflict)
	case e.r.CallbackURL == "":
		t.mu.Unlock()
		return store.Run{}, fmt.Errorf("redeliver callback of run %q: the run has no callback URL: %w",
			id, store.ErrConflict)
	}
	t.queues[queueCallbackDue].remove(e)
	t.queues[queueCallbackLeased].remove(e)
	cb := &e.r.Callback
	cb.State = store.CallbackPending
	cb.Attempts = 0
	cb.NextAttemptAt = now
	cb.Lease = store.Lease{}
	t.queues[queueCallbackDue].add(e)
	out := cloneRun(e.r)
	t.mu.Unlock()

	s.notifier.Notify(store.RunTopic(id))
	return out, nil
}
