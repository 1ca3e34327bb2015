package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agentry/agentry/store"
)

// querier is the part of *sql.Tx that the load and scan helpers use.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const sessionColumns = `seq, id, customer_id, mode, variables, metadata, webhook_url,
	created_at, updated_at, next_offset, trigger_offset, processed_offset,
	lease_owner, lease_token, lease_expires, cancel_requested`

// sessionRow is a session and its row's seq, which keys its events and
// deliveries.
type sessionRow struct {
	seq int64
	s   store.Session
}

type rowScanner interface{ Scan(dest ...any) error }

func scanSession(r rowScanner) (sessionRow, error) {
	var row sessionRow
	s := &row.s
	dest := []any{&row.seq, &s.ID, &s.CustomerID, &s.Mode, mapColumn{&s.Variables}, mapColumn{&s.Metadata},
		&s.WebhookURL, timeColumn{&s.CreatedAt}, timeColumn{&s.UpdatedAt},
		&s.NextOffset, &s.TriggerOffset, &s.ProcessedOffset}
	dest = append(dest, leaseColumns(&s.Lease)...)
	dest = append(dest, &s.CancelRequested)
	err := r.Scan(dest...)
	return row, err
}

// loadSession reads the session's row without its deliveries, or returns
// ErrNotFound.
func loadSession(ctx context.Context, q querier, id string) (sessionRow, error) {
	row, err := scanSession(q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sessionRow{}, store.ErrNotFound
	}
	return row, err
}

// loadFullSession reads the session with its deliveries.
func loadFullSession(ctx context.Context, q querier, id string) (sessionRow, error) {
	row, err := loadSession(ctx, q, id)
	if err != nil {
		return sessionRow{}, err
	}
	row.s.Deliveries, err = loadDeliveries(ctx, q, row.seq)
	return row, err
}

// CreateSession stores in when its id is new. The store sets NextOffset,
// TriggerOffset (-1), ProcessedOffset (0) and Lease (none) itself, fills
// an empty Mode with ModeAuto and a zero CreatedAt with now, and appends
// initial in the same transaction without marking any of them as a
// trigger. An existing id returns the stored session with created=false;
// an id of a deleted session returns ErrConflict.
func (s *Store) CreateSession(ctx context.Context, in store.Session, initial []store.NewEvent) (store.Session, bool, error) {
	if err := store.CheckID(in.ID); err != nil {
		return store.Session{}, false, fmt.Errorf("create session: %w", err)
	}
	variables, storedVariables, err := encodeMap(in.Variables)
	if err != nil {
		return store.Session{}, false, fmt.Errorf("create session %q: variables: %w", in.ID, err)
	}
	metadata, storedMetadata, err := encodeMap(in.Metadata)
	if err != nil {
		return store.Session{}, false, fmt.Errorf("create session %q: metadata: %w", in.ID, err)
	}
	now := s.clock()

	var out store.Session
	created := false
	appended := false
	err = s.write(ctx, func(tx *sql.Tx) error {
		var deletedCount int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deleted_sessions WHERE id = ?`, in.ID).Scan(&deletedCount)
		if err != nil {
			return err
		}
		if deletedCount > 0 {
			return fmt.Errorf("the id belonged to a deleted session, choose another: %w", store.ErrConflict)
		}
		existing, err := loadFullSession(ctx, tx, in.ID)
		if err == nil {
			out = existing.s
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}

		row := sessionRow{s: in}
		row.s.Variables = storedVariables
		row.s.Metadata = storedMetadata
		if row.s.Mode == "" {
			row.s.Mode = store.ModeAuto
		}
		if row.s.CreatedAt.IsZero() {
			row.s.CreatedAt = now
		}
		row.s.CreatedAt = row.s.CreatedAt.UTC().Truncate(time.Microsecond)
		row.s.UpdatedAt = now
		row.s.NextOffset = 0
		row.s.TriggerOffset = -1
		row.s.ProcessedOffset = 0
		row.s.Lease = store.Lease{}
		row.s.CancelRequested = false
		row.s.Deliveries = nil
		err = tx.QueryRowContext(ctx, `INSERT INTO sessions (id, customer_id, mode, variables, metadata, webhook_url,
				created_at, updated_at, next_offset, trigger_offset, processed_offset)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, -1, 0) RETURNING seq`,
			row.s.ID, row.s.CustomerID, row.s.Mode, variables, metadata, row.s.WebhookURL,
			dbTime(row.s.CreatedAt), dbTime(now)).Scan(&row.seq)
		if err != nil {
			return err
		}
		// A row for every sink seen so far; see the deliveries table.
		_, err = tx.ExecContext(ctx, `INSERT INTO deliveries (session_seq, sink, state, cursor, head)
			SELECT ?, name, 'active', 0, 0 FROM delivery_sinks`, row.seq)
		if err != nil {
			return err
		}
		added, err := appendEvents(ctx, tx, &row, initial, now)
		if err != nil {
			return err
		}
		out = row.s
		created = true
		appended = len(added) > 0
		return nil
	})
	if err != nil {
		return store.Session{}, false, fmt.Errorf("create session %q: %w", in.ID, err)
	}
	if appended {
		s.notifier.Notify(store.DeliveryTopic)
	}
	return out, created, nil
}

// GetSession returns the session, or ErrNotFound for an unknown or
// deleted id.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	var out store.Session
	err := s.read(ctx, func(tx *sql.Tx) error {
		row, err := loadFullSession(ctx, tx, id)
		out = row.s
		return err
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("get session %q: %w", id, err)
	}
	return out, nil
}

// ListSessions returns live sessions in creation order, optionally of one
// customer. The limit is clamped with [store.ClampListLimit]; a cursor not
// made by this store returns [store.ErrInvalidCursor].
func (s *Store) ListSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, string, error) {
	limit := store.ClampListLimit(f.Limit)
	after := int64(-1)
	if f.Cursor != "" {
		position, err := store.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list sessions: %w", err)
		}
		after = position
	}

	var page []sessionRow
	next := ""
	err := s.read(ctx, func(tx *sql.Tx) error {
		query := `SELECT ` + sessionColumns + ` FROM sessions WHERE seq > ? ORDER BY seq LIMIT ?`
		args := []any{after, limit + 1}
		if f.CustomerID != "" {
			query = `SELECT ` + sessionColumns + ` FROM sessions WHERE customer_id = ? AND seq > ? ORDER BY seq LIMIT ?`
			args = []any{f.CustomerID, after, limit + 1}
		}
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			row, err := scanSession(rows)
			if err != nil {
				return err
			}
			page = append(page, row)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(page) > limit {
			page = page[:limit]
			next = store.EncodeCursor(page[limit-1].seq)
		}
		return attachDeliveries(ctx, tx, page)
	})
	if err != nil {
		return nil, "", fmt.Errorf("list sessions: %w", err)
	}
	out := make([]store.Session, len(page))
	for i, row := range page {
		out[i] = row.s
	}
	return out, next, nil
}

// UpdateSession applies p: Mode and WebhookURL are replaced when set, and
// Variables and Metadata are merged with nil values deleting keys. It
// sets UpdatedAt and returns the result. A changed WebhookURL wakes event
// deliverers on [store.DeliveryTopic].
func (s *Store) UpdateSession(ctx context.Context, id string, p store.SessionPatch) (store.Session, error) {
	now := s.clock()
	var out store.Session
	urlChanged := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, err := loadSession(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.Mode != nil {
			row.s.Mode = *p.Mode
		}
		urlChanged = p.WebhookURL != nil && *p.WebhookURL != row.s.WebhookURL
		if p.WebhookURL != nil {
			row.s.WebhookURL = *p.WebhookURL
		}
		variables, storedVariables, err := encodeMap(store.MergeMap(row.s.Variables, p.Variables))
		if err != nil {
			return fmt.Errorf("variables: %w", err)
		}
		metadata, storedMetadata, err := encodeMap(store.MergeMap(row.s.Metadata, p.Metadata))
		if err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		row.s.Variables, row.s.Metadata = storedVariables, storedMetadata
		row.s.UpdatedAt = now
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET mode = ?, webhook_url = ?, variables = ?, metadata = ?,
			updated_at = ? WHERE seq = ?`,
			row.s.Mode, row.s.WebhookURL, variables, metadata, dbTime(now), row.seq)
		if err != nil {
			return err
		}
		row.s.Deliveries, err = loadDeliveries(ctx, tx, row.seq)
		out = row.s
		return err
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("update session %q: %w", id, err)
	}
	if urlChanged {
		s.notifier.Notify(store.DeliveryTopic)
	}
	return out, nil
}

// DeleteSession drops the session, its events and its deliveries, and
// reserves its id. It wakes the session's waiters so they re-read and
// see ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM sessions WHERE id = ?`, id).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM events WHERE session_seq = ?`,
			`DELETE FROM deliveries WHERE session_seq = ?`,
			`DELETE FROM sessions WHERE seq = ?`,
		} {
			if _, err := tx.ExecContext(ctx, stmt, seq); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO deleted_sessions (id) VALUES (?)`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session %q: %w", id, err)
	}
	s.notifier.Notify(id)
	return nil
}
