package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentry/agentry/store"
)

// Append adds events to the session's log in one transaction, so offsets
// are gapless under concurrent appends, then wakes the session's waiters
// and the event deliverers ([store.DeliveryTopic]) after the commit.
// Payloads are stored byte for byte. With opts.Trigger the last event
// becomes the session's TriggerOffset. With opts.RequireIdle the append
// fails with ErrTurnBusy while the session needs a turn or its lease is
// held. Appending no events changes nothing and wakes nobody.
func (s *Store) Append(ctx context.Context, sessionID string, events []store.NewEvent, opts store.AppendOptions) ([]store.Event, error) {
	now := s.clock()
	var added []store.Event
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, err := loadSession(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		if opts.RequireIdle && (row.s.NeedsTurn() || row.s.Lease.Held(now)) {
			return fmt.Errorf("wait for the running turn to finish: %w", store.ErrTurnBusy)
		}
		added, err = appendEvents(ctx, tx, &row, events, now)
		if err != nil || !opts.Trigger || len(added) == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET trigger_offset = ? WHERE seq = ?`,
			added[len(added)-1].Offset, row.seq)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("append to session %q: %w", sessionID, err)
	}
	if len(added) == 0 {
		return []store.Event{}, nil
	}
	s.notifier.Notify(sessionID)
	s.notifier.Notify(store.DeliveryTopic)
	return added, nil
}

// appendEvents inserts events at the end of the session's log, moves its
// next offset and the head of its deliveries, and returns the stored
// events with payloads copied from the input. row.s.NextOffset is
// updated too.
func appendEvents(ctx context.Context, tx *sql.Tx, row *sessionRow, events []store.NewEvent, now time.Time) ([]store.Event, error) {
	if len(events) == 0 {
		return nil, nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (session_seq, event_offset, kind, turn_id, created_at, payload)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()

	out := make([]store.Event, len(events))
	first := row.s.NextOffset
	for i, ne := range events {
		var payload json.RawMessage
		if ne.Payload != nil {
			payload = append(json.RawMessage{}, ne.Payload...)
		}
		out[i] = store.Event{
			SessionID: row.s.ID,
			Offset:    first + int64(i),
			Kind:      ne.Kind,
			TurnID:    ne.TurnID,
			CreatedAt: now,
			Payload:   payload,
		}
		if _, err := stmt.ExecContext(ctx, row.seq, out[i].Offset, ne.Kind, ne.TurnID, dbTime(now), dbBlob(payload)); err != nil {
			return nil, err
		}
	}
	row.s.NextOffset = first + int64(len(events))
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET next_offset = ? WHERE seq = ?`, row.s.NextOffset, row.seq); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET head = ? WHERE session_seq = ?`, row.s.NextOffset, row.seq); err != nil {
		return nil, err
	}
	return out, nil
}

// ListEvents returns up to limit events with offset >= from. A negative
// from reads from 0; a limit of 0 or less returns every event from from
// to the end of the log.
func (s *Store) ListEvents(ctx context.Context, sessionID string, from int64, limit int) ([]store.Event, error) {
	from = max(from, 0)
	sqlLimit := int64(limit)
	if limit <= 0 {
		sqlLimit = -1 // SQLite reads a negative LIMIT as no limit.
	}
	out := []store.Event{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM sessions WHERE id = ?`, sessionID).Scan(&seq)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT event_offset, kind, turn_id, created_at, payload FROM events
			WHERE session_seq = ? AND event_offset >= ? ORDER BY event_offset LIMIT ?`, seq, from, sqlLimit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ev := store.Event{SessionID: sessionID}
			if err := rows.Scan(&ev.Offset, &ev.Kind, &ev.TurnID, timeColumn{&ev.CreatedAt}, blobColumn{&ev.Payload}); err != nil {
				return err
			}
			out = append(out, ev)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list events of session %q: %w", sessionID, err)
	}
	return out, nil
}
