package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agentry/agentry/store"
)

// ClaimCallback gives owner a lease of ttl on the pending callback with
// the earliest NextAttemptAt (then the oldest run) that is due at now and
// whose lease is free or expired at now. The lease expires at now+ttl and
// gets a new random token. It returns ok=false when no callback is due.
func (s *Store) ClaimCallback(ctx context.Context, owner string, now time.Time, ttl time.Duration) (store.CallbackClaim, bool, error) {
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.CallbackClaim{}, false, fmt.Errorf("claim callback: %w", err)
	}
	now = now.UTC().Truncate(time.Microsecond)
	var claim store.CallbackClaim
	ok := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		r, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs INDEXED BY runs_callback_pending
			WHERE cb_state = 'pending' AND cb_next_attempt_at <= ?
				AND (cb_lease_owner = '' OR cb_lease_expires <= ?)
			ORDER BY cb_next_attempt_at, created_at, id LIMIT 1`, now.UnixMicro(), now.UnixMicro()))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		r.Callback.Lease = store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl).Truncate(time.Microsecond)}
		claim = store.CallbackClaim{Run: r, Lease: r.Callback.Lease}
		ok = true
		return saveRun(ctx, tx, r)
	})
	if err != nil {
		return store.CallbackClaim{}, false, fmt.Errorf("claim callback: %w", err)
	}
	return claim, ok, nil
}

// RecordCallback stores the outcome of the attempt c made. It counts the
// attempt, sets State, LastStatus and LastError, frees the callback lease
// and wakes the run's waiters. A pending outcome needs NextAttemptAt, when
// the callback becomes due again. Any other state clears NextAttemptAt,
// and a delivered one sets DeliveredAt to now. It returns ErrLeaseLost,
// changing nothing, when the callback is not pending or c's lease expired
// or was replaced.
func (s *Store) RecordCallback(ctx context.Context, c store.CallbackClaim, o store.CallbackOutcome) (store.Run, error) {
	if err := o.Validate(); err != nil {
		return store.Run{}, fmt.Errorf("record callback of run %q: %w", c.Run.ID, err)
	}
	now := s.clock()
	out, err := s.changeRun(ctx, c.Run.ID, func(r *store.Run) (bool, error) {
		cb := &r.Callback
		if cb.State != store.CallbackPending || !ownsLease(cb.Lease, c.Lease) || !cb.Lease.Held(now) {
			return false, fmt.Errorf("owner %q: %w", c.Lease.Owner, store.ErrLeaseLost)
		}
		cb.Attempts++
		cb.State = o.State
		cb.LastStatus = o.LastStatus
		cb.LastError = o.LastError
		cb.Lease = store.Lease{}
		cb.NextAttemptAt = time.Time{}
		switch o.State {
		case store.CallbackPending:
			cb.NextAttemptAt = o.NextAttemptAt.UTC().Truncate(time.Microsecond)
		case store.CallbackDelivered:
			cb.DeliveredAt = now
		}
		return true, nil
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("record callback of run %q: %w", c.Run.ID, err)
	}
	return out, nil
}

// RedeliverCallback makes an ended run's callback pending and due now with
// its attempt count reset, and wakes the run's waiters. A delivery in
// flight loses its lease, so its RecordCallback returns ErrLeaseLost.
// LastStatus, LastError and DeliveredAt keep their values until the next
// attempt is recorded. A run that has not ended or has no callback URL
// returns ErrConflict; an unknown id returns ErrNotFound.
func (s *Store) RedeliverCallback(ctx context.Context, id string) (store.Run, error) {
	now := s.clock()
	out, err := s.changeRun(ctx, id, func(r *store.Run) (bool, error) {
		switch {
		case !r.Ended():
			return false, fmt.Errorf("the run is %s, wait until it ends: %w", r.Status, store.ErrConflict)
		case r.CallbackURL == "":
			return false, fmt.Errorf("the run has no callback URL: %w", store.ErrConflict)
		}
		cb := &r.Callback
		cb.State = store.CallbackPending
		cb.Attempts = 0
		cb.NextAttemptAt = now
		cb.Lease = store.Lease{}
		return true, nil
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("redeliver callback of run %q: %w", id, err)
	}
	return out, nil
}
