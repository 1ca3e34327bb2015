package memory

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/agentry/agentry/store"
)

// ClaimRun gives owner a lease of ttl on the oldest claimable run, by
// CreatedAt and then id. A run is claimable when it is queued, or running
// with a lease that expired at the store's clock. The claim sets the run
// running, counts the attempt, gives it a new random lease token and, at
// the first attempt, sets StartedAt and Deadline.
//
// A claimable run that has used up its MaxAttempts is failed with code
// interrupted instead, its callback becomes due and the next run is tried.
// Each claim costs O(log n) per run it claims or fails, plus O(log n) per
// expired lease it finds. Waiters of every run it changes are woken.
func (s *Store) ClaimRun(ctx context.Context, owner string, ttl time.Duration) (store.RunClaim, bool, error) {
	if err := s.check(ctx); err != nil {
		return store.RunClaim{}, false, fmt.Errorf("claim run: %w", err)
	}
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.RunClaim{}, false, fmt.Errorf("claim run: %w", err)
	}
	now := s.clock()

	t := s.runs
	var changed []string
	t.mu.Lock()
	claim, ok := t.claimLocked(owner, ttl, now, &changed)
	t.mu.Unlock()

	for _, id := range changed {
		s.notifier.Notify(store.RunTopic(id))
	}
	return claim, ok, nil
}

// claimLocked claims the first claimable run and appends the id of every
// run it changes to changed. The caller holds t.mu.
func (t *runTable) claimLocked(owner string, ttl time.Duration, now time.Time, changed *[]string) (store.RunClaim, bool) {
	claimable, leased := t.queues[queueClaimable], t.queues[queueLeased]
	for e := leased.peek(); e != nil && !e.r.Lease.Held(now); e = leased.peek() {
		claimable.add(leased.popFirst())
	}

	for claimable.Len() > 0 {
		e := claimable.popFirst()
		r := &e.r
		if r.Status == store.RunRunning && r.Lease.Held(now) {
			// An earlier claim found this lease expired, but the clock has
			// since moved backwards and the lease is held again at now.
			leased.add(e)
			continue
		}
		*changed = append(*changed, r.ID)
		if r.Attempts >= r.MaxAttempts {
			t.endLocked(e, store.RunResult{Status: store.RunFailed, Error: &store.RunError{
				Code: "interrupted",
				Message: fmt.Sprintf("the worker running the run stopped and all %d attempts are used up",
					r.MaxAttempts),
			}}, now)
			continue
		}

		r.Status = store.RunRunning
		r.Attempts++
		if r.StartedAt.IsZero() {
			r.StartedAt = now
			if r.Timeout > 0 {
				r.Deadline = now.Add(r.Timeout)
			}
		}
		r.Lease = store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl)}
		leased.add(e)
		return store.RunClaim{Run: cloneRun(*r), Lease: r.Lease}, true
	}
	return store.RunClaim{}, false
}

// ExtendRunLease moves the lease's expiry to now+ttl. It returns
// ErrLeaseLost when the run is no longer running or the lease expired or
// belongs to another claim.
func (s *Store) ExtendRunLease(ctx context.Context, c store.RunClaim, ttl time.Duration) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("extend lease of run %q: %w", c.Run.ID, err)
	}
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("extend lease of run %q: %w", c.Run.ID, err)
	}
	now := s.clock()

	t := s.runs
	t.mu.Lock()
	defer t.mu.Unlock()
	e, err := t.heldLocked(c, now)
	if err != nil {
		return fmt.Errorf("extend lease of run %q for owner %q: %w", c.Run.ID, c.Lease.Owner, err)
	}
	e.r.Lease.Expires = now.Add(ttl)
	t.queues[queueLeased].fix(e)
	return nil
}

// CompleteRun ends the run with res, frees its lease, makes its callback
// due now when it has a callback URL, and wakes the run's waiters. A
// succeeded result stores only Output. A failed one needs an Error and
// stores only that. It returns ErrLeaseLost, changing nothing, when the run
// is no longer running or the lease expired or belongs to another claim.
func (s *Store) CompleteRun(ctx context.Context, c store.RunClaim, res store.RunResult) (store.Run, error) {
	if err := s.check(ctx); err != nil {
		return store.Run{}, fmt.Errorf("complete run %q: %w", c.Run.ID, err)
	}
	if err := res.Validate(); err != nil {
		return store.Run{}, fmt.Errorf("complete run %q: %w", c.Run.ID, err)
	}
	now := s.clock()

	t := s.runs
	t.mu.Lock()
	e, err := t.heldLocked(c, now)
	if err != nil {
		t.mu.Unlock()
		return store.Run{}, fmt.Errorf("complete run %q for owner %q: %w", c.Run.ID, c.Lease.Owner, err)
	}
	t.endLocked(e, res, now)
	out := cloneRun(e.r)
	t.mu.Unlock()

	s.notifier.Notify(store.RunTopic(out.ID))
	return out, nil
}

// CancelRun fails a queued or running run with code cancelled, frees its
// lease so the worker's next ExtendRunLease or CompleteRun returns
// ErrLeaseLost, makes its callback due and wakes its waiters. An ended run
// is returned unchanged, and an unknown id returns ErrNotFound.
func (s *Store) CancelRun(ctx context.Context, id string) (store.Run, error) {
	if err := s.check(ctx); err != nil {
		return store.Run{}, fmt.Errorf("cancel run %q: %w", id, err)
	}
	now := s.clock()

	t := s.runs
	t.mu.Lock()
	e := t.byID[id]
	if e == nil {
		t.mu.Unlock()
		return store.Run{}, fmt.Errorf("cancel run %q: %w", id, store.ErrNotFound)
	}
	if e.r.Ended() {
		out := cloneRun(e.r)
		t.mu.Unlock()
		return out, nil
	}
	t.endLocked(e, store.RunResult{Status: store.RunFailed, Error: &store.RunError{
		Code:    "cancelled",
		Message: "the run was cancelled before it ended",
	}}, now)
	out := cloneRun(e.r)
	t.mu.Unlock()

	s.notifier.Notify(store.RunTopic(id))
	return out, nil
}

// heldLocked returns the run c claims when it is running and c's lease is
// its current, unexpired lease. The caller holds t.mu.
func (t *runTable) heldLocked(c store.RunClaim, now time.Time) (*runEntry, error) {
	e := t.byID[c.Run.ID]
	if e == nil {
		return nil, store.ErrNotFound
	}
	if e.r.Status != store.RunRunning || !ownsLease(e.r.Lease, c.Lease) || !e.r.Lease.Held(now) {
		return nil, store.ErrLeaseLost
	}
	return e, nil
}

// endLocked sets the run's final status and result, frees its lease and
// makes its callback due now when it has a callback URL. The caller holds
// t.mu and wakes the run's waiters after releasing it.
func (t *runTable) endLocked(e *runEntry, res store.RunResult, now time.Time) {
	t.queues[queueClaimable].remove(e)
	t.queues[queueLeased].remove(e)

	r := &e.r
	r.Status = res.Status
	r.Output = nil
	r.Error = nil
	if res.Status == store.RunSucceeded {
		r.Output = cloneRaw(res.Output)
	} else {
		runErr := *res.Error
		r.Error = &runErr
	}
	r.FinishedAt = now
	r.Lease = store.Lease{}
	if r.CallbackURL != "" {
		r.Callback.State = store.CallbackPending
		r.Callback.NextAttemptAt = now
		t.queues[queueCallbackDue].add(e)
	}
}
