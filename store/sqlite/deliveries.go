package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agentry/agentry/store"
)

const deliveryColumns = `sink, state, cursor, attempts, next_attempt_at, last_status, last_error, last_attempt_at,
	lease_owner, lease_token, lease_expires`

func scanDelivery(r rowScanner, extra ...any) (string, store.Delivery, error) {
	var sink string
	var d store.Delivery
	dest := append(extra, &sink, &d.State, &d.Cursor, &d.Attempts, timeColumn{&d.NextAttemptAt},
		&d.LastStatus, &d.LastError, timeColumn{&d.LastAttemptAt})
	dest = append(dest, leaseColumns(&d.Lease)...)
	err := r.Scan(dest...)
	return sink, d, err
}

// loadDeliveries returns the session's claimed deliveries by sink, or nil
// when there are none.
func loadDeliveries(ctx context.Context, q querier, seq int64) (map[string]store.Delivery, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE session_seq = ? AND claimed = 1`, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out map[string]store.Delivery
	for rows.Next() {
		sink, d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = make(map[string]store.Delivery)
		}
		out[sink] = d
	}
	return out, rows.Err()
}

// attachDeliveries sets the Deliveries of each session in page with one
// query.
func attachDeliveries(ctx context.Context, q querier, page []sessionRow) error {
	if len(page) == 0 {
		return nil
	}
	bySeq := make(map[int64]*store.Session, len(page))
	seqs := make([]any, len(page))
	for i := range page {
		bySeq[page[i].seq] = &page[i].s
		seqs[i] = page[i].seq
	}
	placeholders := strings.Repeat("?, ", len(page)-1) + "?"
	rows, err := q.QueryContext(ctx, `SELECT session_seq, `+deliveryColumns+` FROM deliveries
		WHERE session_seq IN (`+placeholders+`) AND claimed = 1`, seqs...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		sink, d, err := scanDelivery(rows, &seq)
		if err != nil {
			return err
		}
		sess := bySeq[seq]
		if sess.Deliveries == nil {
			sess.Deliveries = make(map[string]store.Delivery)
		}
		sess.Deliveries[sink] = d
	}
	return rows.Err()
}

// loadDelivery returns the session's delivery to sink; a sink without a
// row is active at cursor 0.
func loadDelivery(ctx context.Context, q querier, seq int64, sink string) (store.Delivery, error) {
	_, d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE session_seq = ? AND sink = ?`, seq, sink))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Delivery{State: store.DeliveryActive}, nil
	}
	return d, err
}

// saveDelivery writes the session's delivery to sink and marks it
// claimed, so it shows in Session.Deliveries from now on.
func saveDelivery(ctx context.Context, tx *sql.Tx, row sessionRow, sink string, d store.Delivery) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (session_seq, sink, claimed, state, cursor, head, attempts,
			next_attempt_at, last_status, last_error, last_attempt_at, lease_owner, lease_token, lease_expires)
		VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (session_seq, sink) DO UPDATE SET claimed = 1, state = excluded.state, cursor = excluded.cursor,
			head = excluded.head, attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,
			last_status = excluded.last_status, last_error = excluded.last_error,
			last_attempt_at = excluded.last_attempt_at, lease_owner = excluded.lease_owner,
			lease_token = excluded.lease_token, lease_expires = excluded.lease_expires`,
		row.seq, sink, d.State, d.Cursor, row.s.NextOffset, d.Attempts, dbTime(d.NextAttemptAt),
		d.LastStatus, d.LastError, dbTime(d.LastAttemptAt), d.Lease.Owner, d.Lease.Token, dbTime(d.Lease.Expires))
	return err
}

// ensureSink records sink in delivery_sinks and, the first time, gives
// every session a deliveries row for it, so claims find all sessions
// through the deliveries_with_work index. It runs once per sink name and
// process; later calls return at once.
func (s *Store) ensureSink(ctx context.Context, sink string) error {
	if _, ok := s.knownSinks.Load(sink); ok {
		return nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO delivery_sinks (name) VALUES (?)`, sink)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO deliveries (session_seq, sink, state, cursor, head)
			SELECT seq, ?, 'active', 0, next_offset FROM sessions`, sink)
		return err
	})
	if err != nil {
		return err
	}
	s.knownSinks.Store(sink, struct{}{})
	return nil
}

// ClaimDelivery leases the delivery of one session to sink that has work
// at now, lowest session seq (oldest session) first. The first claim for
// a sink name in a database gives every session a deliveries row for it,
// which costs one insert per session once.
func (s *Store) ClaimDelivery(ctx context.Context, sink store.DeliverySink, owner string, now time.Time, ttl time.Duration) (store.DeliveryClaim, bool, error) {
	if err := sink.Validate(); err != nil {
		return store.DeliveryClaim{}, false, fmt.Errorf("claim delivery: %w", err)
	}
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.DeliveryClaim{}, false, fmt.Errorf("claim delivery to sink %q: %w", sink.Name, err)
	}
	now = now.UTC().Truncate(time.Microsecond)
	if err := s.ensureSink(ctx, sink.Name); err != nil {
		return store.DeliveryClaim{}, false, fmt.Errorf("claim delivery to sink %q: %w", sink.Name, err)
	}

	var claim store.DeliveryClaim
	ok := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		requireURL := 0
		if sink.RequireWebhookURL {
			requireURL = 1
		}
		// NOTE: sessions with work but without a webhook URL stay in the
		// index and are read by every claim that requires a URL.
		var id string
		err := tx.QueryRowContext(ctx, `SELECT s.id FROM deliveries AS d INDEXED BY deliveries_with_work
				JOIN sessions AS s ON s.seq = d.session_seq
			WHERE d.sink = ?
				AND (d.state = 'retrying' OR (d.state = 'active' AND d.cursor < d.head))
				AND (d.state = 'active' OR d.next_attempt_at <= ?)
				AND (d.lease_owner = '' OR d.lease_expires <= ?)
				AND (? = 0 OR s.webhook_url <> '')
			ORDER BY d.session_seq LIMIT 1`,
			sink.Name, now.UnixMicro(), now.UnixMicro(), requireURL).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		row, err := loadSession(ctx, tx, id)
		if err != nil {
			return err
		}
		d, err := loadDelivery(ctx, tx, row.seq, sink.Name)
		if err != nil {
			return err
		}
		d.Lease = store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl).Truncate(time.Microsecond)}
		if err := saveDelivery(ctx, tx, row, sink.Name, d); err != nil {
			return err
		}
		row.s.Deliveries, err = loadDeliveries(ctx, tx, row.seq)
		if err != nil {
			return err
		}
		claim = store.DeliveryClaim{Sink: sink.Name, Session: row.s, Delivery: d}
		ok = true
		return nil
	})
	if err != nil {
		return store.DeliveryClaim{}, false, fmt.Errorf("claim delivery to sink %q: %w", sink.Name, err)
	}
	return claim, ok, nil
}

// heldDelivery returns c's session and delivery when c still holds the
// lease at now, or ErrNotFound or ErrLeaseLost.
func heldDelivery(ctx context.Context, tx *sql.Tx, c store.DeliveryClaim, now time.Time) (sessionRow, store.Delivery, error) {
	row, err := loadSession(ctx, tx, c.Session.ID)
	if err != nil {
		return sessionRow{}, store.Delivery{}, err
	}
	d, err := loadDelivery(ctx, tx, row.seq, c.Sink)
	if err != nil {
		return sessionRow{}, store.Delivery{}, err
	}
	if !ownsLease(d.Lease, c.Delivery.Lease) || !d.Lease.Held(now) {
		return sessionRow{}, store.Delivery{}, fmt.Errorf("sink %q, owner %q: %w",
			c.Sink, c.Delivery.Lease.Owner, store.ErrLeaseLost)
	}
	return row, d, nil
}

// ExtendDeliveryLease moves the claim's lease expiry to now+ttl.
func (s *Store) ExtendDeliveryLease(ctx context.Context, c store.DeliveryClaim, ttl time.Duration) error {
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("extend delivery lease of session %q: %w", c.Session.ID, err)
	}
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, d, err := heldDelivery(ctx, tx, c, now)
		if err != nil {
			return err
		}
		d.Lease.Expires = now.Add(ttl).Truncate(time.Microsecond)
		return saveDelivery(ctx, tx, row, c.Sink, d)
	})
	if err != nil {
		return fmt.Errorf("extend delivery lease of session %q: %w", c.Session.ID, err)
	}
	return nil
}

// RecordDelivery stores the outcome of the attempt at o.Offset. A
// delivered event moves the cursor one forward and keeps the lease; a
// failure releases it.
func (s *Store) RecordDelivery(ctx context.Context, c store.DeliveryClaim, o store.DeliveryOutcome) (store.Delivery, error) {
	if err := o.Validate(); err != nil {
		return store.Delivery{}, fmt.Errorf("record delivery of session %q: %w", c.Session.ID, err)
	}
	now := s.clock()
	var out store.Delivery
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, d, err := heldDelivery(ctx, tx, c, now)
		if err != nil {
			return err
		}
		if o.Offset != d.Cursor {
			return fmt.Errorf("sink %q: offset %d is not the cursor %d: %w", c.Sink, o.Offset, d.Cursor, store.ErrConflict)
		}
		if d.Cursor >= row.s.NextOffset {
			return fmt.Errorf("sink %q: no event at offset %d: %w", c.Sink, o.Offset, store.ErrConflict)
		}
		d.LastStatus = o.LastStatus
		d.LastError = o.LastError
		d.LastAttemptAt = now
		d.NextAttemptAt = time.Time{}
		if o.Delivered {
			d.Cursor++
			d.Attempts = 0
			d.State = store.DeliveryActive
			d.LastError = ""
		} else {
			d.Attempts++
			d.State = o.State
			d.Lease = store.Lease{}
			if o.State == store.DeliveryRetrying {
				d.NextAttemptAt = o.NextAttemptAt.UTC().Truncate(time.Microsecond)
			}
		}
		out = d
		return saveDelivery(ctx, tx, row, c.Sink, d)
	})
	if err != nil {
		return store.Delivery{}, fmt.Errorf("record delivery of session %q: %w", c.Session.ID, err)
	}
	return out, nil
}

// ReleaseDelivery frees the lease when c still holds it, even after
// expiry, and wakes deliverers so the session is claimed again.
func (s *Store) ReleaseDelivery(ctx context.Context, c store.DeliveryClaim) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, err := loadSession(ctx, tx, c.Session.ID)
		if err != nil {
			return err
		}
		d, err := loadDelivery(ctx, tx, row.seq, c.Sink)
		if err != nil || !ownsLease(d.Lease, c.Delivery.Lease) {
			return err
		}
		d.Lease = store.Lease{}
		return saveDelivery(ctx, tx, row, c.Sink, d)
	})
	if err != nil {
		return fmt.Errorf("release delivery of session %q: %w", c.Session.ID, err)
	}
	s.notifier.Notify(store.DeliveryTopic)
	return nil
}

// ResumeDelivery makes the session's claimed deliveries to sink, or to
// every sink when sink is "", active with Attempts reset and the lease
// freed, then wakes deliverers.
func (s *Store) ResumeDelivery(ctx context.Context, sessionID, sink string) (store.Session, error) {
	var out store.Session
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, err := loadSession(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET state = 'active', attempts = 0, next_attempt_at = NULL,
				lease_owner = '', lease_token = '', lease_expires = NULL
			WHERE session_seq = ? AND claimed = 1 AND (? = '' OR sink = ?)`, row.seq, sink, sink)
		if err != nil {
			return err
		}
		row.s.Deliveries, err = loadDeliveries(ctx, tx, row.seq)
		out = row.s
		return err
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("resume delivery of session %q: %w", sessionID, err)
	}
	s.notifier.Notify(store.DeliveryTopic)
	return out, nil
}
