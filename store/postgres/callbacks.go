package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/store"
)

// ClaimCallback gives owner a lease of ttl on the pending callback with
// the earliest NextAttemptAt (then the oldest run) that is due at now and
// whose lease is free or expired at now. It is one statement over the
// runs_callback_pending partial index with FOR UPDATE SKIP LOCKED. The
// lease expires at now+ttl and gets a new random token. It returns
// ok=false when no callback is due.
func (s *Store) ClaimCallback(ctx context.Context, owner string, now time.Time, ttl time.Duration) (store.CallbackClaim, bool, error) {
	const op = "claim callback"
	if err := s.check(ctx); err != nil {
		return store.CallbackClaim{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.CallbackClaim{}, false, fmt.Errorf("%s: %w", op, err)
	}
	now = dbTime(now)
	lease := store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl)}
	r, err := scanRun(s.pool.QueryRow(ctx, `UPDATE runs SET cb_lease_owner = $2, cb_lease_token = $3,
			cb_lease_expires = $4
		WHERE id = (
			SELECT id FROM runs
			WHERE cb_state = 'pending' AND cb_next_attempt_at <= $1
				AND (cb_lease_owner = '' OR cb_lease_expires <= $1)
			ORDER BY cb_next_attempt_at, created_at, id LIMIT 1
			FOR UPDATE SKIP LOCKED
		)
		RETURNING `+runColumns,
		now, lease.Owner, lease.Token, lease.Expires))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.CallbackClaim{}, false, nil
	}
	if err != nil {
		return store.CallbackClaim{}, false, s.wrap(op, err)
	}
	return store.CallbackClaim{Run: r, Lease: lease}, true, nil
}

// RecordCallback stores the outcome of the attempt c made in one UPDATE:
// it counts the attempt, sets State, LastStatus and LastError, frees the
// callback lease and wakes the run's waiters. A pending outcome needs
// NextAttemptAt, when the callback becomes due again. Any other state
// clears NextAttemptAt, and a delivered one sets DeliveredAt to now. It
// returns ErrLeaseLost, changing nothing, when the callback is not
// pending or c's lease expired or was replaced.
func (s *Store) RecordCallback(ctx context.Context, c store.CallbackClaim, o store.CallbackOutcome) (store.Run, error) {
	op := fmt.Sprintf("record callback of run %q", c.Run.ID)
	if err := s.check(ctx); err != nil {
		return store.Run{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := o.Validate(); err != nil {
		return store.Run{}, fmt.Errorf("%s: %w", op, err)
	}
	var next any
	if o.State == store.CallbackPending {
		next = dbTime(o.NextAttemptAt)
	}
	now := s.clock()
	r, err := s.updateRun(ctx, c.Run.ID, `
			UPDATE runs SET cb_attempts = cb_attempts + 1, cb_state = $4, cb_last_status = $5,
				cb_last_error = $6, cb_lease_owner = '', cb_lease_token = '', cb_lease_expires = NULL,
				cb_next_attempt_at = $7,
				cb_delivered_at = CASE WHEN $4 = 'delivered' THEN $8 ELSE cb_delivered_at END
			WHERE id = $1 AND cb_state = 'pending' AND cb_lease_owner = $2 AND cb_lease_owner <> ''
				AND cb_lease_token = $3 AND cb_lease_expires > $8
			RETURNING *`,
		c.Run.ID, c.Lease.Owner, c.Lease.Token, o.State, o.LastStatus, o.LastError, next, now)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Run{}, s.runLeaseError(ctx, op, c.Run.ID, c.Lease.Owner)
	}
	if err != nil {
		return store.Run{}, s.wrap(op, err)
	}
	return r, nil
}

// RedeliverCallback makes an ended run's callback pending and due now with
// its attempt count reset, and wakes the run's waiters. A delivery in
// flight loses its lease, so its RecordCallback returns ErrLeaseLost.
// LastStatus, LastError and DeliveredAt keep their values until the next
// attempt is recorded. A run that has not ended or has no callback URL
// returns ErrConflict; an unknown id returns ErrNotFound.
func (s *Store) RedeliverCallback(ctx context.Context, id string) (store.Run, error) {
	op := fmt.Sprintf("redeliver callback of run %q", id)
	if err := s.check(ctx); err != nil {
		return store.Run{}, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	r, err := s.updateRun(ctx, id, `
			UPDATE runs SET cb_state = 'pending', cb_attempts = 0, cb_next_attempt_at = $2,
				cb_lease_owner = '', cb_lease_token = '', cb_lease_expires = NULL
			WHERE id = $1 AND status IN ('succeeded', 'failed') AND callback_url <> ''
			RETURNING *`,
		id, now)
	if errors.Is(err, pgx.ErrNoRows) {
		existing, err := s.GetRun(ctx, id)
		switch {
		case err != nil:
			return store.Run{}, fmt.Errorf("redeliver callback: %w", err)
		case !existing.Ended():
			return store.Run{}, fmt.Errorf("%s: the run is %s, wait until it ends: %w", op, existing.Status, store.ErrConflict)
		default:
			return store.Run{}, fmt.Errorf("%s: the run has no callback URL: %w", op, store.ErrConflict)
		}
	}
	if err != nil {
		return store.Run{}, s.wrap(op, err)
	}
	return r, nil
}
