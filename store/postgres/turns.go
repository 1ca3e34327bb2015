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

// ClaimTurn gives owner the session's turn lease for ttl when the session
// needs a turn and the lease is free or expired, in one UPDATE. The lease
// gets a new random token, so a claim that lost its lease cannot act on
// the next one even with the same owner name. The stored CancelRequested
// is cleared; the claim's Session keeps the value it had. The UPDATE waits for a
// concurrent append to the same session to commit rather than skipping
// the session, because a skipped session would wait for the next sweep.
func (s *Store) ClaimTurn(ctx context.Context, sessionID, owner string, ttl time.Duration) (store.TurnClaim, bool, error) {
	op := fmt.Sprintf("claim turn of session %q", sessionID)
	if err := s.check(ctx); err != nil {
		return store.TurnClaim{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.TurnClaim{}, false, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	lease := store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl)}
	// The sub-select locks the row and reads cancel_requested before the
	// UPDATE clears it, so the claim reports the value it found.
	var cancelRequested bool
	row := s.pool.QueryRow(ctx, `UPDATE sessions SET lease_owner = $2, lease_token = $3, lease_expires = $4,
			cancel_requested = false
		FROM (SELECT id AS locked_id, cancel_requested AS was_requested FROM sessions WHERE id = $1 FOR UPDATE) locked
		WHERE id = locked.locked_id AND NOT deleted AND trigger_offset >= processed_offset
			AND (lease_owner = '' OR lease_expires <= $5)
		RETURNING `+sessionColumns+`, locked.was_requested`,
		sessionID, lease.Owner, lease.Token, lease.Expires, now)
	sess, _, err := scanSession(row, &cancelRequested)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := s.sessionExists(ctx, op, sessionID); err != nil {
			return store.TurnClaim{}, false, err
		}
		return store.TurnClaim{}, false, nil
	}
	if err != nil {
		return store.TurnClaim{}, false, s.wrap(op, err)
	}
	all, err := loadDeliveries(ctx, s.pool, []string{sessionID})
	if err != nil {
		return store.TurnClaim{}, false, s.wrap(op, err)
	}
	sess.Deliveries = all[sessionID]
	sess.CancelRequested = cancelRequested
	return store.TurnClaim{SessionID: sessionID, Lease: lease, Session: sess}, true, nil
}

// ExtendLease moves the lease's expiry to now+ttl, or returns ErrLeaseLost
// when the lease expired or belongs to another claim.
func (s *Store) ExtendLease(ctx context.Context, c store.TurnClaim, ttl time.Duration) error {
	op := fmt.Sprintf("extend turn lease of session %q", c.SessionID)
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET lease_expires = $4
		WHERE id = $1 AND NOT deleted AND lease_owner = $2 AND lease_owner <> '' AND lease_token = $3
			AND lease_expires > $5`,
		c.SessionID, c.Lease.Owner, c.Lease.Token, now.Add(ttl), now)
	if err != nil {
		return s.wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		if err := s.sessionExists(ctx, op, c.SessionID); err != nil {
			return err
		}
		return fmt.Errorf("%s for owner %q: %w", op, c.Lease.Owner, store.ErrLeaseLost)
	}
	return nil
}

// completeTurnSQL is appendSQL for CompleteTurn: the UPDATE also checks
// the lease and the processed offset, raises processed_offset, frees the
// lease and clears cancel_requested.
//
// $1 session id, $2 kinds, $3 turn ids, $4 payloads, $5 now, $6 owner,
// $7 token, $8 processed, $9 channel, $10 payload.
const completeTurnSQL = `WITH s AS (
	UPDATE sessions SET
		next_offset = next_offset + cardinality($2::text[]),
		processed_offset = GREATEST(processed_offset, $8),
		lease_owner = '', lease_token = '', lease_expires = NULL, cancel_requested = false
	WHERE id = $1 AND NOT deleted AND lease_owner = $6 AND lease_owner <> '' AND lease_token = $7
		AND lease_expires > $5 AND $8 <= next_offset
	RETURNING next_offset - cardinality($2::text[]) AS first
), e AS (
	INSERT INTO events (session_id, "offset", kind, turn_id, created_at, payload)
	SELECT $1, s.first + e.ord - 1, e.kind, e.turn_id, $5, e.payload
	FROM s, unnest($2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS e(kind, turn_id, payload, ord)
), d AS (
	INSERT INTO deliveries AS d (session_id, sink, ready_at)
	SELECT $1, name, '-infinity' FROM s, delivery_sinks WHERE cardinality($2::text[]) > 0
	ON CONFLICT (session_id, sink) DO UPDATE SET ready_at = '-infinity'
	WHERE d.ready_at IS DISTINCT FROM '-infinity'
), n AS (
	SELECT pg_notify($9, $10) FROM s WHERE $10 <> ''
)
SELECT first, (SELECT count(*) FROM n) FROM s`

// CompleteTurn appends events, raises ProcessedOffset to processed, frees
// the lease and clears CancelRequested in one statement, then wakes the session's waiters (and
// the deliverers when events were added). It returns ErrLeaseLost,
// changing nothing, when the lease expired or belongs to another claim. A
// processed offset past the end of the log before this append is
// rejected, because no trigger can be there.
func (s *Store) CompleteTurn(ctx context.Context, c store.TurnClaim, events []store.NewEvent, processed int64) ([]store.Event, error) {
	op := fmt.Sprintf("complete turn of session %q", c.SessionID)
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	batch := newEventBatch(events)
	topics := []string{c.SessionID}
	if len(events) > 0 {
		topics = append(topics, store.DeliveryTopic)
	}
	var first, notified int64
	err := s.pool.QueryRow(ctx, completeTurnSQL, c.SessionID, batch.kinds, batch.turnIDs, batch.payloads,
		now, c.Lease.Owner, c.Lease.Token, processed, s.channel, s.payload(topics)).Scan(&first, &notified)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.completeTurnError(ctx, op, c, processed, now)
	}
	if err != nil {
		return nil, s.wrap(op, err)
	}
	s.wakeLocal(topics)
	return storedEvents(c.SessionID, events, first, now), nil
}

// completeTurnError finds why CompleteTurn changed nothing.
func (s *Store) completeTurnError(ctx context.Context, op string, c store.TurnClaim, processed int64, now time.Time) error {
	var (
		held bool
		next int64
	)
	err := s.pool.QueryRow(ctx, `SELECT lease_owner = $2 AND lease_owner <> '' AND lease_token = $3
			AND lease_expires > $4, next_offset
		FROM sessions WHERE id = $1 AND NOT deleted`,
		c.SessionID, c.Lease.Owner, c.Lease.Token, now).Scan(&held, &next)
	switch {
	case err != nil:
		return s.wrapLookup(op, err)
	case !held:
		return fmt.Errorf("%s for owner %q: %w", op, c.Lease.Owner, store.ErrLeaseLost)
	}
	if err := store.CheckProcessedOffset(processed, next); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: the session changed during the call, retry: %w", op, store.ErrConflict)
}

// ReleaseTurn frees the lease and clears CancelRequested when c still owns
// the lease, even after expiry, so the session can be claimed at once. A
// lease that another claim took is left alone and nil is returned.
func (s *Store) ReleaseTurn(ctx context.Context, c store.TurnClaim) error {
	op := fmt.Sprintf("release turn of session %q", c.SessionID)
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE sessions
		SET lease_owner = '', lease_token = '', lease_expires = NULL, cancel_requested = false
		WHERE id = $1 AND NOT deleted AND lease_owner = $2 AND lease_owner <> '' AND lease_token = $3`,
		c.SessionID, c.Lease.Owner, c.Lease.Token)
	if err != nil {
		return s.wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return s.sessionExists(ctx, op, c.SessionID)
	}
	return nil
}

// requestCancelSQL sets cancel_requested on a session whose turn lease
// is held and unexpired, and sends the NOTIFY in the same statement, so
// other processes are woken exactly when the flag is committed.
//
// $1 session id, $2 now, $3 channel, $4 payload.
const requestCancelSQL = `WITH s AS (
	UPDATE sessions SET cancel_requested = true
	WHERE id = $1 AND NOT deleted AND lease_owner <> '' AND lease_expires > $2
	RETURNING id
), n AS (
	SELECT pg_notify($3, $4) FROM s WHERE $4 <> ''
)
SELECT (SELECT count(*) FROM n) FROM s`

// RequestCancel sets CancelRequested when the turn lease is held and
// unexpired, and wakes the session's waiters in this process and, through
// NOTIFY, in every other process. It reports whether it set the flag.
func (s *Store) RequestCancel(ctx context.Context, sessionID string) (bool, error) {
	op := fmt.Sprintf("request cancel of session %q", sessionID)
	if err := s.check(ctx); err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	topics := []string{sessionID}
	var notified int64
	err := s.pool.QueryRow(ctx, requestCancelSQL, sessionID, s.clock(), s.channel, s.payload(topics)).Scan(&notified)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := s.sessionExists(ctx, op, sessionID); err != nil {
			return false, err
		}
		return false, nil
	}
	if err != nil {
		return false, s.wrap(op, err)
	}
	s.wakeLocal(topics)
	return true, nil
}

// PendingTurns returns the ids of up to limit sessions that need a turn
// and whose lease is free or expired at now, oldest session first, read
// through the sessions_needing_turn partial index. Rows locked by a
// concurrent claim or append are skipped (FOR UPDATE SKIP LOCKED), so a
// sweep does not wait for work another replica is taking. The limit is
// clamped with [store.ClampListLimit].
func (s *Store) PendingTurns(ctx context.Context, now time.Time, limit int) ([]string, error) {
	const op = "list pending turns"
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM sessions
		WHERE NOT deleted AND trigger_offset >= processed_offset AND (lease_owner = '' OR lease_expires <= $1)
		ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED`,
		dbTime(now), store.ClampListLimit(limit))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, s.wrap(op, err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}
