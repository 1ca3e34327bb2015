package postgres

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/store"
)

// runColumns are the columns scanRun reads, in order.
const runColumns = `id, routine_id, status, input, output, error_code, error_message, callback_url,
	idempotency_key, input_hash, trigger_source, trigger_webhook, metadata, attempts, max_attempts,
	timeout_us, deadline, lease_owner, lease_token, lease_expires, created_at, started_at,
	finished_at, cb_state, cb_attempts, cb_next_attempt_at, cb_last_status, cb_last_error,
	cb_delivered_at, cb_lease_owner, cb_lease_token, cb_lease_expires`

func scanRun(row pgx.Row) (store.Run, error) {
	var (
		r                                   store.Run
		input, output, metadata             []byte
		errCode, errMessage                 *string
		timeoutUS                           int64
		deadline, leaseExpires              *time.Time
		startedAt, finishedAt               *time.Time
		cbNext, cbDelivered, cbLeaseExpires *time.Time
	)
	err := row.Scan(&r.ID, &r.RoutineID, &r.Status, &input, &output, &errCode, &errMessage, &r.CallbackURL,
		&r.IdempotencyKey, &r.InputHash, &r.Trigger.Source, &r.Trigger.Webhook, &metadata, &r.Attempts,
		&r.MaxAttempts, &timeoutUS, &deadline, &r.Lease.Owner, &r.Lease.Token, &leaseExpires, &r.CreatedAt,
		&startedAt, &finishedAt, &r.Callback.State, &r.Callback.Attempts, &cbNext, &r.Callback.LastStatus,
		&r.Callback.LastError, &cbDelivered, &r.Callback.Lease.Owner, &r.Callback.Lease.Token, &cbLeaseExpires)
	if err != nil {
		return store.Run{}, err
	}
	if input != nil {
		r.Input = json.RawMessage(input)
	}
	if output != nil {
		r.Output = json.RawMessage(output)
	}
	if errCode != nil {
		r.Error = &store.RunError{Code: *errCode, Message: *errMessage}
	}
	r.Timeout = time.Duration(timeoutUS) * time.Microsecond
	r.Deadline = fromNullTime(deadline)
	r.Lease.Expires = fromNullTime(leaseExpires)
	r.CreatedAt = r.CreatedAt.UTC()
	r.StartedAt = fromNullTime(startedAt)
	r.FinishedAt = fromNullTime(finishedAt)
	r.Callback.NextAttemptAt = fromNullTime(cbNext)
	r.Callback.DeliveredAt = fromNullTime(cbDelivered)
	r.Callback.Lease.Expires = fromNullTime(cbLeaseExpires)
	if r.Metadata, err = decodeMap("run metadata", metadata); err != nil {
		return store.Run{}, err
	}
	return r, nil
}

// CreateRun stores in, which needs an id and status queued. A key already
// used by in.RoutineID returns the existing run with created=false and
// stores nothing. An id already used by another run returns ErrConflict.
// The store sets the fields it owns as the memory store does. Attempts is
// 0, and Output, Error, the lease, Deadline, StartedAt and FinishedAt are
// empty. The callback state is CallbackWaiting with a CallbackURL and
// CallbackNone otherwise. A MaxAttempts of 0 is stored as 1 and a zero
// CreatedAt becomes now. Timeout is stored in whole microseconds.
func (s *Store) CreateRun(ctx context.Context, in store.Run) (store.Run, bool, error) {
	op := fmt.Sprintf("create run %q", in.ID)
	if err := s.check(ctx); err != nil {
		return store.Run{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if err := store.CheckNewRun(in); err != nil {
		return store.Run{}, false, fmt.Errorf("create run: %w", err)
	}
	metadata, err := encodeMap("run metadata", in.Metadata)
	if err != nil {
		return store.Run{}, false, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	createdAt := now
	if !in.CreatedAt.IsZero() {
		createdAt = dbTime(in.CreatedAt)
	}
	cbState := store.CallbackNone
	if in.CallbackURL != "" {
		cbState = store.CallbackWaiting
	}
	var input []byte
	if in.Input != nil {
		input = in.Input
	}

	// ON CONFLICT DO NOTHING without a target covers both the id and the
	// idempotency key; the existing row is then read to tell them apart.
	row := s.pool.QueryRow(ctx, `INSERT INTO runs (id, routine_id, status, input, callback_url,
			idempotency_key, input_hash, trigger_source, trigger_webhook, metadata, attempts, max_attempts,
			timeout_us, created_at, cb_state)
		VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, 0, $10, $11, $12, $13)
		ON CONFLICT DO NOTHING
		RETURNING `+runColumns,
		in.ID, in.RoutineID, input, in.CallbackURL, in.IdempotencyKey, in.InputHash, in.Trigger.Source,
		in.Trigger.Webhook, metadata, max(in.MaxAttempts, 1), in.Timeout.Microseconds(), createdAt, cbState)
	r, err := scanRun(row)
	if err == nil {
		return r, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Run{}, false, s.wrap(op, err)
	}
	if in.IdempotencyKey != "" {
		row := s.pool.QueryRow(ctx, "SELECT "+runColumns+" FROM runs WHERE routine_id = $1 AND idempotency_key = $2",
			in.RoutineID, in.IdempotencyKey)
		existing, err := scanRun(row)
		if err == nil {
			return existing, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return store.Run{}, false, s.wrap(op, err)
		}
	}
	return store.Run{}, false, fmt.Errorf("%s: the id belongs to another run, choose another: %w", op, store.ErrConflict)
}

// GetRun returns the run, or ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	op := fmt.Sprintf("get run %q", id)
	if err := s.check(ctx); err != nil {
		return store.Run{}, fmt.Errorf("%s: %w", op, err)
	}
	r, err := scanRun(s.pool.QueryRow(ctx, "SELECT "+runColumns+" FROM runs WHERE id = $1", id))
	if err != nil {
		return store.Run{}, s.wrapLookup(op, err)
	}
	return r, nil
}

// endRunSQL returns the SET list that ends a run with the given SQL
// expressions for status, output, error code, error message and the
// current time. It frees the lease and, when the run has a callback URL,
// makes the callback due now.
func endRunSQL(status, output, code, message, now string) string {
	return fmt.Sprintf(`status = %[1]s, output = %[2]s, error_code = %[3]s, error_message = %[4]s,
		finished_at = %[5]s, lease_owner = '', lease_token = '', lease_expires = NULL,
		cb_state = CASE WHEN callback_url <> '' THEN 'pending' ELSE cb_state END,
		cb_next_attempt_at = CASE WHEN callback_url <> '' THEN %[5]s ELSE cb_next_attempt_at END`,
		status, output, code, message, now)
}

// claimRunSQL takes the oldest claimable run by CreatedAt and id, skipping
// rows other claims hold locked, in one statement. A run over its
// MaxAttempts is failed as interrupted instead of claimed; the caller sees
// its status and tries again.
//
// $1 now, $2 owner, $3 token, $4 expiry, $5 interrupted message prefix,
// $6 channel, $7 origin (” sends no NOTIFY).
var claimRunSQL = `WITH c AS (
	SELECT id FROM runs
	WHERE status IN ('queued', 'running') AND (status = 'queued' OR lease_expires <= $1)
	ORDER BY created_at, id LIMIT 1
	FOR UPDATE SKIP LOCKED
), u AS (
	UPDATE runs r SET
		status = CASE WHEN r.attempts >= r.max_attempts THEN 'failed' ELSE 'running' END,
		attempts = CASE WHEN r.attempts >= r.max_attempts THEN r.attempts ELSE r.attempts + 1 END,
		started_at = CASE WHEN r.attempts >= r.max_attempts THEN r.started_at ELSE coalesce(r.started_at, $1) END,
		deadline = CASE WHEN r.attempts >= r.max_attempts OR r.started_at IS NOT NULL OR r.timeout_us = 0
			THEN r.deadline ELSE $1 + r.timeout_us * interval '1 microsecond' END,
		lease_owner = CASE WHEN r.attempts >= r.max_attempts THEN '' ELSE $2 END,
		lease_token = CASE WHEN r.attempts >= r.max_attempts THEN '' ELSE $3 END,
		lease_expires = CASE WHEN r.attempts >= r.max_attempts THEN NULL ELSE $4::timestamptz END,
		output = CASE WHEN r.attempts >= r.max_attempts THEN NULL ELSE r.output END,
		error_code = CASE WHEN r.attempts >= r.max_attempts THEN 'interrupted' ELSE r.error_code END,
		error_message = CASE WHEN r.attempts >= r.max_attempts
			THEN $5 || r.max_attempts || ' attempts are used up' ELSE r.error_message END,
		finished_at = CASE WHEN r.attempts >= r.max_attempts THEN $1 ELSE r.finished_at END,
		cb_state = CASE WHEN r.attempts >= r.max_attempts AND r.callback_url <> '' THEN 'pending' ELSE r.cb_state END,
		cb_next_attempt_at = CASE WHEN r.attempts >= r.max_attempts AND r.callback_url <> ''
			THEN $1 ELSE r.cb_next_attempt_at END
	FROM c WHERE r.id = c.id
	RETURNING r.*
), n AS (
	SELECT pg_notify($6, json_build_object('o', $7::text, 't', json_build_array('run:' || u.id))::text)
	FROM u WHERE $7 <> ''
)
SELECT ` + prefixColumns("u", runColumns) + `, (SELECT count(*) FROM n) FROM u`

// ClaimRun gives owner a lease of ttl on the oldest claimable run, by
// CreatedAt and then id: queued, or running with a lease that expired at
// the store's clock. The claim sets the run running, counts the attempt,
// gives it a new random lease token and, at the first attempt, sets
// StartedAt and Deadline. A claimable run that has used up its
// MaxAttempts is failed with code interrupted instead, its callback
// becomes due and the next run is tried. Each run changed wakes its
// waiters.
func (s *Store) ClaimRun(ctx context.Context, owner string, ttl time.Duration) (store.RunClaim, bool, error) {
	const op = "claim run"
	if err := s.check(ctx); err != nil {
		return store.RunClaim{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.RunClaim{}, false, fmt.Errorf("%s: %w", op, err)
	}
	origin := ""
	if s.listener != nil {
		origin = s.origin
	}
	for {
		now := s.clock()
		lease := store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl)}
		var notified int64
		r, err := scanRunWith(s.pool.QueryRow(ctx, claimRunSQL, now, lease.Owner, lease.Token, lease.Expires,
			"the worker running the run stopped and all ", s.channel, origin), &notified)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.RunClaim{}, false, nil
		}
		if err != nil {
			return store.RunClaim{}, false, s.wrap(op, err)
		}
		s.wakeLocal([]string{store.RunTopic(r.ID)})
		if r.Status == store.RunRunning {
			return store.RunClaim{Run: r, Lease: lease}, true, nil
		}
	}
}

// ExtendRunLease moves the lease's expiry to now+ttl. It returns
// ErrLeaseLost when the run is no longer running or the lease expired or
// belongs to another claim.
func (s *Store) ExtendRunLease(ctx context.Context, c store.RunClaim, ttl time.Duration) error {
	op := fmt.Sprintf("extend lease of run %q", c.Run.ID)
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	tag, err := s.pool.Exec(ctx, `UPDATE runs SET lease_expires = $4
		WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND lease_owner <> '' AND lease_token = $3
			AND lease_expires > $5`,
		c.Run.ID, c.Lease.Owner, c.Lease.Token, now.Add(ttl), now)
	if err != nil {
		return s.wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return s.runLeaseError(ctx, op, c.Run.ID, c.Lease.Owner)
	}
	return nil
}

// runLeaseError returns ErrNotFound for an unknown run and ErrLeaseLost
// otherwise.
func (s *Store) runLeaseError(ctx context.Context, op, id, owner string) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1)", id).Scan(&exists); err != nil {
		return s.wrap(op, err)
	}
	if !exists {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	return fmt.Errorf("%s for owner %q: %w", op, owner, store.ErrLeaseLost)
}

// CompleteRun ends the run with res, frees its lease and makes its
// callback due now when it has a callback URL, in one UPDATE, then wakes
// the run's waiters. A succeeded result stores only Output, a failed one
// only its Error. It returns ErrLeaseLost, changing nothing, when the run
// is no longer running or the lease expired or belongs to another claim.
func (s *Store) CompleteRun(ctx context.Context, c store.RunClaim, res store.RunResult) (store.Run, error) {
	op := fmt.Sprintf("complete run %q", c.Run.ID)
	if err := s.check(ctx); err != nil {
		return store.Run{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := res.Validate(); err != nil {
		return store.Run{}, fmt.Errorf("%s: %w", op, err)
	}
	var (
		output        []byte
		code, message any
	)
	if res.Status == store.RunSucceeded {
		output = res.Output
	} else {
		code, message = res.Error.Code, res.Error.Message
	}
	now := s.clock()
	r, err := s.updateRun(ctx, c.Run.ID, `
			UPDATE runs SET `+endRunSQL("$4", "$5::bytea", "$6::text", "$7::text", "$8::timestamptz")+`
			WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND lease_owner <> '' AND lease_token = $3
				AND lease_expires > $8
			RETURNING *`,
		c.Run.ID, c.Lease.Owner, c.Lease.Token, res.Status, output, code, message, now)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Run{}, s.runLeaseError(ctx, op, c.Run.ID, c.Lease.Owner)
	}
	if err != nil {
		return store.Run{}, s.wrap(op, err)
	}
	return r, nil
}

// CancelRun fails a queued or running run with code cancelled, frees its
// lease so the worker's next ExtendRunLease or CompleteRun returns
// ErrLeaseLost, makes its callback due and wakes its waiters. An ended run
// is returned unchanged, and an unknown id returns ErrNotFound.
func (s *Store) CancelRun(ctx context.Context, id string) (store.Run, error) {
	op := fmt.Sprintf("cancel run %q", id)
	if err := s.check(ctx); err != nil {
		return store.Run{}, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	r, err := s.updateRun(ctx, id, `
			UPDATE runs SET `+endRunSQL("'failed'", "NULL", "'cancelled'", "$2::text", "$3::timestamptz")+`
			WHERE id = $1 AND status IN ('queued', 'running')
			RETURNING *`,
		id, "the run was cancelled before it ended", now)
	if errors.Is(err, pgx.ErrNoRows) {
		return s.GetRun(ctx, id)
	}
	if err != nil {
		return store.Run{}, s.wrap(op, err)
	}
	return r, nil
}

// updateRun runs update, an UPDATE of at most one row of runs that ends in
// RETURNING * and takes args as $1 to $n. The same statement queues a
// NOTIFY of the run's topic for the other processes, which PostgreSQL
// sends only if the update commits. On success updateRun wakes this
// process's waiters and returns the updated run. It returns
// pgx.ErrNoRows when no row matched.
func (s *Store) updateRun(ctx context.Context, runID, update string, args ...any) (store.Run, error) {
	topics := []string{store.RunTopic(runID)}
	channel := "$" + strconv.Itoa(len(args)+1)
	payload := "$" + strconv.Itoa(len(args)+2)
	// Selecting the count makes the n query run, because PostgreSQL runs a
	// SELECT in WITH only as far as the main query reads it (PostgreSQL
	// manual, section 7.8 "WITH Queries").
	var notified int64
	r, err := scanRunWith(s.pool.QueryRow(ctx, `WITH u AS (`+update+`
		), n AS (
			SELECT pg_notify(`+channel+`, `+payload+`) FROM u WHERE `+payload+` <> ''
		)
		SELECT `+prefixColumns("u", runColumns)+`, (SELECT count(*) FROM n) FROM u`,
		append(args, s.channel, s.payload(topics))...), &notified)
	if err != nil {
		return store.Run{}, err
	}
	s.wakeLocal(topics)
	return r, nil
}

// scanRunWith reads runColumns followed by one extra column.
func scanRunWith(row pgx.Row, extra any) (store.Run, error) {
	return scanRun(extraRow{row: row, extra: extra})
}

// extraRow appends a destination to every Scan of row.
type extraRow struct {
	row   pgx.Row
	extra any
}

func (r extraRow) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra)...) }
