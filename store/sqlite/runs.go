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

const runColumns = `id, routine_id, status, input, output, error_code, error_message, callback_url,
	idempotency_key, input_hash, trigger_source, trigger_webhook, metadata, attempts, max_attempts,
	timeout_ns, deadline, lease_owner, lease_token, lease_expires, created_at, started_at, finished_at,
	cb_state, cb_attempts, cb_next_attempt_at, cb_last_status, cb_last_error, cb_delivered_at,
	cb_lease_owner, cb_lease_token, cb_lease_expires`

func scanRun(r rowScanner) (store.Run, error) {
	var run store.Run
	var errCode, errMessage sql.NullString
	var timeout int64
	cb := &run.Callback
	dest := []any{&run.ID, &run.RoutineID, &run.Status, blobColumn{&run.Input}, blobColumn{&run.Output},
		&errCode, &errMessage, &run.CallbackURL, &run.IdempotencyKey, &run.InputHash,
		&run.Trigger.Source, &run.Trigger.Webhook, mapColumn{&run.Metadata}, &run.Attempts, &run.MaxAttempts,
		&timeout, timeColumn{&run.Deadline}}
	dest = append(dest, leaseColumns(&run.Lease)...)
	dest = append(dest, timeColumn{&run.CreatedAt}, timeColumn{&run.StartedAt}, timeColumn{&run.FinishedAt},
		&cb.State, &cb.Attempts, timeColumn{&cb.NextAttemptAt}, &cb.LastStatus, &cb.LastError,
		timeColumn{&cb.DeliveredAt})
	dest = append(dest, leaseColumns(&cb.Lease)...)
	if err := r.Scan(dest...); err != nil {
		return store.Run{}, err
	}
	run.Timeout = time.Duration(timeout)
	if errCode.Valid {
		run.Error = &store.RunError{Code: errCode.String, Message: errMessage.String}
	}
	return run, nil
}

func loadRun(ctx context.Context, q querier, id string) (store.Run, error) {
	run, err := scanRun(q.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Run{}, store.ErrNotFound
	}
	return run, err
}

// saveRun writes every column the store changes after creation.
func saveRun(ctx context.Context, tx *sql.Tx, r store.Run) error {
	var errCode, errMessage any
	if r.Error != nil {
		errCode, errMessage = r.Error.Code, r.Error.Message
	}
	cb := r.Callback
	_, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, output = ?, error_code = ?, error_message = ?,
			attempts = ?, deadline = ?, lease_owner = ?, lease_token = ?, lease_expires = ?,
			started_at = ?, finished_at = ?, cb_state = ?, cb_attempts = ?, cb_next_attempt_at = ?,
			cb_last_status = ?, cb_last_error = ?, cb_delivered_at = ?,
			cb_lease_owner = ?, cb_lease_token = ?, cb_lease_expires = ?
		WHERE id = ?`,
		r.Status, dbBlob(r.Output), errCode, errMessage,
		r.Attempts, dbTime(r.Deadline), r.Lease.Owner, r.Lease.Token, dbTime(r.Lease.Expires),
		dbTime(r.StartedAt), dbTime(r.FinishedAt), cb.State, cb.Attempts, dbTime(cb.NextAttemptAt),
		cb.LastStatus, cb.LastError, dbTime(cb.DeliveredAt),
		cb.Lease.Owner, cb.Lease.Token, dbTime(cb.Lease.Expires),
		r.ID)
	return err
}

// CreateRun stores in, which needs an id and status queued. A key already
// used by in.RoutineID returns the existing run with created=false and
// stores nothing. An id already used by another run returns ErrConflict.
//
// The store sets the fields it owns: Attempts 0, no Output, Error, lease,
// Deadline, StartedAt or FinishedAt, and a callback state of
// CallbackWaiting when in has a CallbackURL, CallbackNone otherwise. A
// MaxAttempts of 0 is stored as 1 and a zero CreatedAt becomes now.
func (s *Store) CreateRun(ctx context.Context, in store.Run) (store.Run, bool, error) {
	if err := store.CheckNewRun(in); err != nil {
		return store.Run{}, false, fmt.Errorf("create run: %w", err)
	}
	metadata, _, err := encodeMap(in.Metadata)
	if err != nil {
		return store.Run{}, false, fmt.Errorf("create run %q: metadata: %w", in.ID, err)
	}
	now := s.clock()
	createdAt := in.CreatedAt.UTC().Truncate(time.Microsecond)
	if in.CreatedAt.IsZero() {
		createdAt = now
	}
	callbackState := store.CallbackNone
	if in.CallbackURL != "" {
		callbackState = store.CallbackWaiting
	}

	var out store.Run
	created := false
	err = s.write(ctx, func(tx *sql.Tx) error {
		if in.IdempotencyKey != "" {
			existing, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs
				WHERE routine_id = ? AND idempotency_key = ?`, in.RoutineID, in.IdempotencyKey))
			if err == nil {
				out = existing
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var sameID int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE id = ?`, in.ID).Scan(&sameID); err != nil {
			return err
		}
		if sameID > 0 {
			return fmt.Errorf("the id belongs to another run, choose another: %w", store.ErrConflict)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO runs (id, routine_id, status, input, callback_url, idempotency_key,
				input_hash, trigger_source, trigger_webhook, metadata, attempts, max_attempts, timeout_ns,
				created_at, cb_state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
			in.ID, in.RoutineID, store.RunQueued, dbBlob(in.Input), in.CallbackURL, in.IdempotencyKey,
			in.InputHash, in.Trigger.Source, in.Trigger.Webhook, metadata, max(in.MaxAttempts, 1),
			int64(in.Timeout), dbTime(createdAt), callbackState)
		if err != nil {
			return err
		}
		out, err = loadRun(ctx, tx, in.ID)
		created = true
		return err
	})
	if err != nil {
		return store.Run{}, false, fmt.Errorf("create run %q: %w", in.ID, err)
	}
	return out, created, nil
}

// GetRun returns the run, or ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	var out store.Run
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = loadRun(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("get run %q: %w", id, err)
	}
	return out, nil
}

// ClaimRun gives owner a lease of ttl on the oldest claimable run, by
// CreatedAt and then id. A run is claimable when it is queued, or running
// with a lease that expired at the store's clock. The claim sets the run
// running, counts the attempt, gives it a new random lease token and, at
// the first attempt, sets StartedAt and Deadline.
//
// A claimable run that has used up its MaxAttempts is failed with code
// interrupted instead, its callback becomes due and the next run is
// tried, in the same transaction. Waiters of every run it changes are
// woken after the commit.
func (s *Store) ClaimRun(ctx context.Context, owner string, ttl time.Duration) (store.RunClaim, bool, error) {
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.RunClaim{}, false, fmt.Errorf("claim run: %w", err)
	}
	now := s.clock()
	var claim store.RunClaim
	var changed []string
	ok := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		changed = changed[:0]
		for {
			r, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs INDEXED BY runs_claimable
				WHERE status IN ('queued', 'running') AND (status = 'queued' OR lease_expires <= ?)
				ORDER BY created_at, id LIMIT 1`, now.UnixMicro()))
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			changed = append(changed, r.ID)
			if r.Attempts >= r.MaxAttempts {
				endRun(&r, store.RunResult{Status: store.RunFailed, Error: &store.RunError{
					Code: "interrupted",
					Message: fmt.Sprintf("the worker running the run stopped and all %d attempts are used up",
						r.MaxAttempts),
				}}, now)
				if err := saveRun(ctx, tx, r); err != nil {
					return err
				}
				continue
			}
			r.Status = store.RunRunning
			r.Attempts++
			if r.StartedAt.IsZero() {
				r.StartedAt = now
				if r.Timeout > 0 {
					r.Deadline = now.Add(r.Timeout).Truncate(time.Microsecond)
				}
			}
			r.Lease = store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl).Truncate(time.Microsecond)}
			if err := saveRun(ctx, tx, r); err != nil {
				return err
			}
			claim = store.RunClaim{Run: r, Lease: r.Lease}
			ok = true
			return nil
		}
	})
	if err != nil {
		return store.RunClaim{}, false, fmt.Errorf("claim run: %w", err)
	}
	for _, id := range changed {
		s.notifier.Notify(store.RunTopic(id))
	}
	return claim, ok, nil
}

// heldRun returns the run c claims when it is running and c's lease is
// its current, unexpired lease, or ErrNotFound or ErrLeaseLost.
func heldRun(ctx context.Context, tx *sql.Tx, c store.RunClaim, now time.Time) (store.Run, error) {
	r, err := loadRun(ctx, tx, c.Run.ID)
	if err != nil {
		return store.Run{}, err
	}
	if err := checkRunHeld(r, c, now); err != nil {
		return store.Run{}, err
	}
	return r, nil
}

// checkRunHeld returns ErrLeaseLost unless r is running and c's lease is
// its current, unexpired lease.
func checkRunHeld(r store.Run, c store.RunClaim, now time.Time) error {
	if r.Status != store.RunRunning || !ownsLease(r.Lease, c.Lease) || !r.Lease.Held(now) {
		return fmt.Errorf("owner %q: %w", c.Lease.Owner, store.ErrLeaseLost)
	}
	return nil
}

// changeRun loads run id in a write transaction and passes it to change.
// When change reports a change, changeRun saves the run and, after the
// commit, wakes the run's waiters. An error from change rolls the
// transaction back. changeRun returns the run as change left it.
func (s *Store) changeRun(ctx context.Context, id string, change func(r *store.Run) (changed bool, err error)) (store.Run, error) {
	var out store.Run
	changed := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		r, err := loadRun(ctx, tx, id)
		if err != nil {
			return err
		}
		changed, err = change(&r)
		if err != nil {
			return err
		}
		out = r
		if !changed {
			return nil
		}
		return saveRun(ctx, tx, r)
	})
	if err != nil {
		return store.Run{}, err
	}
	if changed {
		s.notifier.Notify(store.RunTopic(id))
	}
	return out, nil
}

// ExtendRunLease moves the lease's expiry to now+ttl. It returns
// ErrLeaseLost when the run is no longer running or the lease expired or
// belongs to another claim.
func (s *Store) ExtendRunLease(ctx context.Context, c store.RunClaim, ttl time.Duration) error {
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("extend lease of run %q: %w", c.Run.ID, err)
	}
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		r, err := heldRun(ctx, tx, c, now)
		if err != nil {
			return err
		}
		r.Lease.Expires = now.Add(ttl).Truncate(time.Microsecond)
		return saveRun(ctx, tx, r)
	})
	if err != nil {
		return fmt.Errorf("extend lease of run %q: %w", c.Run.ID, err)
	}
	return nil
}

// CompleteRun ends the run with res, frees its lease, makes its callback
// due now when it has a callback URL, and wakes the run's waiters. A
// succeeded result stores only Output; a failed one needs an Error and
// stores only that. It returns ErrLeaseLost, changing nothing, when the
// run is no longer running or the lease expired or belongs to another
// claim.
func (s *Store) CompleteRun(ctx context.Context, c store.RunClaim, res store.RunResult) (store.Run, error) {
	if err := res.Validate(); err != nil {
		return store.Run{}, fmt.Errorf("complete run %q: %w", c.Run.ID, err)
	}
	now := s.clock()
	out, err := s.changeRun(ctx, c.Run.ID, func(r *store.Run) (bool, error) {
		if err := checkRunHeld(*r, c, now); err != nil {
			return false, err
		}
		endRun(r, res, now)
		return true, nil
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("complete run %q: %w", c.Run.ID, err)
	}
	return out, nil
}

// CancelRun fails a queued or running run with code cancelled, frees its
// lease so the worker's next ExtendRunLease or CompleteRun returns
// ErrLeaseLost, makes its callback due and wakes its waiters. An ended
// run is returned unchanged, and an unknown id returns ErrNotFound.
func (s *Store) CancelRun(ctx context.Context, id string) (store.Run, error) {
	now := s.clock()
	out, err := s.changeRun(ctx, id, func(r *store.Run) (bool, error) {
		if r.Ended() {
			return false, nil
		}
		endRun(r, store.RunResult{Status: store.RunFailed, Error: &store.RunError{
			Code:    "cancelled",
			Message: "the run was cancelled before it ended",
		}}, now)
		return true, nil
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("cancel run %q: %w", id, err)
	}
	return out, nil
}

// endRun sets the run's final status and result, frees its lease and
// makes its callback due now when it has a callback URL.
func endRun(r *store.Run, res store.RunResult, now time.Time) {
	r.Status = res.Status
	r.Output = nil
	r.Error = nil
	if res.Status == store.RunSucceeded {
		if res.Output != nil {
			r.Output = append(r.Output[:0:0], res.Output...)
		}
	} else {
		runErr := *res.Error
		r.Error = &runErr
	}
	r.FinishedAt = now
	r.Lease = store.Lease{}
	if r.CallbackURL != "" {
		r.Callback.State = store.CallbackPending
		r.Callback.NextAttemptAt = now
	}
}
