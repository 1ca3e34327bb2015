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

// deliveryColumns are the columns scanDelivery reads, in order.
const deliveryColumns = `sink, state, cursor, attempts, next_attempt_at, last_status, last_error,
	last_attempt_at, lease_owner, lease_token, lease_expires`

// scanDelivery reads one row of deliveryColumns.
func scanDelivery(row pgx.Row, extra ...any) (string, store.Delivery, error) {
	var (
		sink                       string
		d                          store.Delivery
		next, lastAttempt, expires *time.Time
	)
	dest := []any{&sink, &d.State, &d.Cursor, &d.Attempts, &next, &d.LastStatus, &d.LastError,
		&lastAttempt, &d.Lease.Owner, &d.Lease.Token, &expires}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return "", store.Delivery{}, err
	}
	d.NextAttemptAt = fromNullTime(next)
	d.LastAttemptAt = fromNullTime(lastAttempt)
	d.Lease.Expires = fromNullTime(expires)
	return sink, d, nil
}

// loadDeliveries returns the claimed delivery rows of the sessions, by
// session id and sink. Sessions without one get no map entry.
func loadDeliveries(ctx context.Context, q querier, ids []string) (map[string]map[string]store.Delivery, error) {
	out := make(map[string]map[string]store.Delivery)
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, "SELECT "+deliveryColumns+", session_id FROM deliveries "+
		"WHERE session_id = ANY($1) AND claimed", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var sessionID string
		sink, d, err := scanDelivery(rows, &sessionID)
		if err != nil {
			return nil, err
		}
		if out[sessionID] == nil {
			out[sessionID] = make(map[string]store.Delivery)
		}
		out[sessionID][sink] = d
	}
	return out, rows.Err()
}

// registerSink adds sink to delivery_sinks unless it is there, and then
// creates a ready delivery row for every live session with events, so the
// sessions appended before the sink was first claimed are found too.
// Appends read delivery_sinks inside their statement. The ACCESS
// EXCLUSIVE lock makes the registration wait for appends in flight and
// holds new ones until it commits. So no append is missed between the
// backfill and the sink's row becoming visible.
//
// NOTE: this relies on PostgreSQL taking an append's snapshot after the
// append has acquired its table locks. That holds for the extended query
// protocol that pgx uses, but no test covers the interleaving.
//
// It scans every session once per sink name for the life of the database.
func (s *Store) registerSink(ctx context.Context, sink string) error {
	if _, ok := s.sinks.Load(sink); ok {
		return nil
	}
	var known bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM delivery_sinks WHERE name = $1)", sink).Scan(&known); err != nil {
		return err
	}
	if !known {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "LOCK TABLE delivery_sinks IN ACCESS EXCLUSIVE MODE"); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, "INSERT INTO delivery_sinks (name) VALUES ($1) ON CONFLICT DO NOTHING", sink)
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO deliveries (session_id, sink, ready_at)
				SELECT id, $1, '-infinity' FROM sessions WHERE NOT deleted AND next_offset > 0
				ON CONFLICT DO NOTHING`, sink)
			return err
		})
		if err != nil {
			return err
		}
	}
	s.sinks.Store(sink, struct{}{})
	return nil
}

// claimBatch is how many ready rows one ClaimDelivery statement locks.
const claimBatch = 16

// ClaimDelivery leases the delivery of one session to sink that has work
// at now. It locks up to 16 due rows of the sink with FOR UPDATE SKIP
// LOCKED, so replicas never wait for each other. It reads their sessions
// in a second statement, after the locks are held, so an append that
// committed meanwhile is seen. A row without work gets
// ready_at moved to when work may become due (a retry time or a lease
// expiry) or cleared until an append, URL change, resume or release marks
// it again. The first row with work is claimed, its ready_at set to the
// lease expiry so it is found again if the holder never releases it.
func (s *Store) ClaimDelivery(ctx context.Context, sink store.DeliverySink, owner string, now time.Time, ttl time.Duration) (store.DeliveryClaim, bool, error) {
	op := fmt.Sprintf("claim delivery to sink %q", sink.Name)
	if err := s.check(ctx); err != nil {
		return store.DeliveryClaim{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if err := sink.Validate(); err != nil {
		return store.DeliveryClaim{}, false, fmt.Errorf("claim delivery: %w", err)
	}
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.DeliveryClaim{}, false, fmt.Errorf("%s: %w", op, err)
	}
	now = dbTime(now)
	if err := s.registerSink(ctx, sink.Name); err != nil {
		return store.DeliveryClaim{}, false, s.wrap(op, err)
	}
	for {
		claim, ok, more, err := s.claimDeliveryBatch(ctx, sink, owner, now, ttl)
		if err != nil {
			return store.DeliveryClaim{}, false, s.wrap(op, err)
		}
		if ok || !more {
			return claim, ok, nil
		}
	}
}

// claimDeliveryBatch runs one claim transaction. more reports that a full
// batch held no work, so another batch may.
func (s *Store) claimDeliveryBatch(ctx context.Context, sink store.DeliverySink, owner string, now time.Time, ttl time.Duration) (claim store.DeliveryClaim, ok, more bool, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return claim, false, false, err
	}
	defer func() { _ = tx.Rollback(context.Background()) }()

	rows, err := tx.Query(ctx, "SELECT "+deliveryColumns+", session_id FROM deliveries "+
		"WHERE sink = $1 AND ready_at <= $2 ORDER BY ready_at LIMIT $3 FOR UPDATE SKIP LOCKED",
		sink.Name, now, claimBatch)
	if err != nil {
		return claim, false, false, err
	}
	type candidate struct {
		sessionID string
		d         store.Delivery
	}
	var candidates []candidate
	for rows.Next() {
		var c candidate
		if _, c.d, err = scanDelivery(rows, &c.sessionID); err != nil {
			rows.Close()
			return claim, false, false, err
		}
		candidates = append(candidates, c)
	}
	if err := rows.Err(); err != nil {
		return claim, false, false, err
	}
	if len(candidates) == 0 {
		return claim, false, false, nil
	}

	for _, c := range candidates {
		sess, err := s.getSession(ctx, tx, c.sessionID)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // deleted; DeleteSession removes the row
		}
		if err != nil {
			return claim, false, false, err
		}
		d := c.d
		var readyAt *time.Time // nil: no work until a change marks the row
		switch {
		case d.Lease.Held(now):
			readyAt = &d.Lease.Expires
		case sink.RequireWebhookURL && sess.WebhookURL == "":
		case d.State == store.DeliveryRetrying && d.NextAttemptAt.After(now):
			readyAt = &d.NextAttemptAt
		case d.State == store.DeliveryRetrying,
			d.State == store.DeliveryActive && d.Cursor < sess.NextOffset:
			d.Lease = store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl)}
			if _, err := tx.Exec(ctx, `UPDATE deliveries SET claimed = true, lease_owner = $3, lease_token = $4,
					lease_expires = $5, ready_at = $5 WHERE session_id = $1 AND sink = $2`,
				c.sessionID, sink.Name, d.Lease.Owner, d.Lease.Token, d.Lease.Expires); err != nil {
				return claim, false, false, err
			}
			if err := tx.Commit(ctx); err != nil {
				return claim, false, false, err
			}
			if sess.Deliveries == nil {
				sess.Deliveries = make(map[string]store.Delivery)
			}
			sess.Deliveries[sink.Name] = d
			return store.DeliveryClaim{Sink: sink.Name, Session: sess, Delivery: d}, true, false, nil
		}
		if _, err := tx.Exec(ctx, "UPDATE deliveries SET ready_at = $3 WHERE session_id = $1 AND sink = $2",
			c.sessionID, sink.Name, readyAt); err != nil {
			return claim, false, false, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return claim, false, false, err
	}
	return claim, false, len(candidates) == claimBatch, nil
}

// ExtendDeliveryLease moves the claim's lease expiry to now+ttl.
func (s *Store) ExtendDeliveryLease(ctx context.Context, c store.DeliveryClaim, ttl time.Duration) error {
	op := fmt.Sprintf("extend delivery lease of session %q", c.Session.ID)
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	tag, err := s.pool.Exec(ctx, `UPDATE deliveries SET lease_expires = $5, ready_at = $5
		WHERE session_id = $1 AND sink = $2 AND lease_owner = $3 AND lease_owner <> '' AND lease_token = $4
			AND lease_expires > $6`,
		c.Session.ID, c.Sink, c.Delivery.Lease.Owner, c.Delivery.Lease.Token, now.Add(ttl), now)
	if err != nil {
		return s.wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return s.deliveryLeaseError(ctx, op, c)
	}
	return nil
}

// deliveryLeaseError returns ErrNotFound when c's session is unknown or
// deleted, and ErrLeaseLost otherwise.
func (s *Store) deliveryLeaseError(ctx context.Context, op string, c store.DeliveryClaim) error {
	if err := s.sessionExists(ctx, op, c.Session.ID); err != nil {
		return err
	}
	return fmt.Errorf("%s to sink %q for owner %q: %w", op, c.Sink, c.Delivery.Lease.Owner, store.ErrLeaseLost)
}

// sessionExists returns ErrNotFound for an unknown or deleted session.
func (s *Store) sessionExists(ctx context.Context, op, id string) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1 AND NOT deleted)", id).Scan(&exists); err != nil {
		return s.wrap(op, err)
	}
	if !exists {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	return nil
}

// RecordDelivery stores the outcome of the attempt at o.Offset in one
// statement. A delivered event moves the cursor one forward and keeps the
// lease; a failure releases it. A retrying outcome makes the row ready
// again at NextAttemptAt; paused and disabled ones wait for a resume.
func (s *Store) RecordDelivery(ctx context.Context, c store.DeliveryClaim, o store.DeliveryOutcome) (store.Delivery, error) {
	op := fmt.Sprintf("record delivery of session %q", c.Session.ID)
	if err := s.check(ctx); err != nil {
		return store.Delivery{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := o.Validate(); err != nil {
		return store.Delivery{}, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	var next any
	if !o.Delivered && o.State == store.DeliveryRetrying {
		next = dbTime(o.NextAttemptAt)
	}
	row := s.pool.QueryRow(ctx, `UPDATE deliveries d SET
			last_status = $7, last_attempt_at = $6,
			cursor = CASE WHEN $5 THEN d.cursor + 1 ELSE d.cursor END,
			attempts = CASE WHEN $5 THEN 0 ELSE d.attempts + 1 END,
			state = CASE WHEN $5 THEN 'active' ELSE $9 END,
			last_error = CASE WHEN $5 THEN '' ELSE $8 END,
			next_attempt_at = $10,
			lease_owner = CASE WHEN $5 THEN d.lease_owner ELSE '' END,
			lease_token = CASE WHEN $5 THEN d.lease_token ELSE '' END,
			lease_expires = CASE WHEN $5 THEN d.lease_expires ELSE NULL END,
			ready_at = CASE WHEN $5 THEN d.ready_at ELSE $10 END
		FROM sessions s
		WHERE d.session_id = $1 AND d.sink = $2 AND s.id = d.session_id AND NOT s.deleted
			AND d.lease_owner = $3 AND d.lease_owner <> '' AND d.lease_token = $4 AND d.lease_expires > $6
			AND d.cursor = $11 AND d.cursor < s.next_offset
		RETURNING `+prefixColumns("d", deliveryColumns),
		c.Session.ID, c.Sink, c.Delivery.Lease.Owner, c.Delivery.Lease.Token, o.Delivered, now,
		o.LastStatus, o.LastError, o.State, next, o.Offset)
	_, d, err := scanDelivery(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Delivery{}, s.recordDeliveryError(ctx, op, c, o)
	}
	if err != nil {
		return store.Delivery{}, s.wrap(op, err)
	}
	return d, nil
}

// recordDeliveryError finds why RecordDelivery changed nothing.
func (s *Store) recordDeliveryError(ctx context.Context, op string, c store.DeliveryClaim, o store.DeliveryOutcome) error {
	now := s.clock()
	var (
		held         bool
		cursor, next int64
	)
	err := s.pool.QueryRow(ctx, `SELECT d.lease_owner = $3 AND d.lease_owner <> '' AND d.lease_token = $4
			AND d.lease_expires > $5, d.cursor, s.next_offset
		FROM deliveries d JOIN sessions s ON s.id = d.session_id
		WHERE d.session_id = $1 AND d.sink = $2 AND NOT s.deleted`,
		c.Session.ID, c.Sink, c.Delivery.Lease.Owner, c.Delivery.Lease.Token, now).Scan(&held, &cursor, &next)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return s.deliveryLeaseError(ctx, op, c)
	case err != nil:
		return s.wrap(op, err)
	case !held:
		return fmt.Errorf("%s to sink %q for owner %q: %w", op, c.Sink, c.Delivery.Lease.Owner, store.ErrLeaseLost)
	case o.Offset != cursor:
		return fmt.Errorf("%s to sink %q: offset %d is not the cursor %d: %w",
			op, c.Sink, o.Offset, cursor, store.ErrConflict)
	default:
		return fmt.Errorf("%s to sink %q: no event at offset %d (next offset %d): %w",
			op, c.Sink, o.Offset, next, store.ErrConflict)
	}
}

// prefixColumns qualifies each column of a comma-separated list with
// table.
func prefixColumns(table, columns string) string {
	out := []byte{}
	start := true
	for i := 0; i < len(columns); i++ {
		ch := columns[i]
		if start && ch != ' ' && ch != '\n' && ch != '\t' {
			out = append(out, table...)
			out = append(out, '.')
			start = false
		}
		out = append(out, ch)
		if ch == ',' {
			start = true
		}
	}
	return string(out)
}

// ReleaseDelivery frees the lease when c still holds it, even after
// expiry, and makes the row ready, then wakes deliverers.
func (s *Store) ReleaseDelivery(ctx context.Context, c store.DeliveryClaim) error {
	op := fmt.Sprintf("release delivery of session %q", c.Session.ID)
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := s.sessionExists(ctx, op, c.Session.ID); err != nil {
		return err
	}
	topics := []string{store.DeliveryTopic}
	_, err := s.pool.Exec(ctx, `WITH d AS (
			UPDATE deliveries SET lease_owner = '', lease_token = '', lease_expires = NULL, ready_at = '-infinity'
			WHERE session_id = $1 AND sink = $2 AND lease_owner = $3 AND lease_owner <> '' AND lease_token = $4
		)
		SELECT pg_notify($5, $6) WHERE $6 <> ''`,
		c.Session.ID, c.Sink, c.Delivery.Lease.Owner, c.Delivery.Lease.Token,
		s.channel, s.payload(topics))
	if err != nil {
		return s.wrap(op, err)
	}
	s.wakeLocal(topics)
	return nil
}

// ResumeDelivery makes the session's claimed deliveries to sink, or to
// every sink when sink is "", active with Attempts reset and the lease
// freed, marks all its delivery rows ready and wakes deliverers.
func (s *Store) ResumeDelivery(ctx context.Context, sessionID, sink string) (store.Session, error) {
	op := fmt.Sprintf("resume delivery of session %q", sessionID)
	if err := s.check(ctx); err != nil {
		return store.Session{}, fmt.Errorf("%s: %w", op, err)
	}
	topics := []string{store.DeliveryTopic}
	var found bool
	err := s.pool.QueryRow(ctx, `WITH s AS (
			SELECT id FROM sessions WHERE id = $1 AND NOT deleted FOR SHARE
		), r AS (
			UPDATE deliveries SET state = 'active', attempts = 0, next_attempt_at = NULL,
				lease_owner = '', lease_token = '', lease_expires = NULL, ready_at = '-infinity'
			WHERE session_id = (SELECT id FROM s) AND claimed AND ($2 = '' OR sink = $2)
		), m AS (
			UPDATE deliveries SET ready_at = '-infinity'
			WHERE session_id = (SELECT id FROM s) AND NOT (claimed AND ($2 = '' OR sink = $2))
				AND ready_at IS DISTINCT FROM '-infinity'
		), n AS (
			SELECT pg_notify($3, $4) FROM s WHERE $4 <> ''
		)
		SELECT EXISTS (SELECT 1 FROM s), (SELECT count(*) FROM n)`,
		sessionID, sink, s.channel, s.payload(topics)).Scan(&found, new(int64))
	if err != nil {
		return store.Session{}, s.wrap(op, err)
	}
	if !found {
		return store.Session{}, fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	s.wakeLocal(topics)
	sess, err := s.getSession(ctx, s.pool, sessionID)
	if err != nil {
		return store.Session{}, s.wrapLookup(op, err)
	}
	return sess, nil
}
