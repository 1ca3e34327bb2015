package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/store"
)

// eventBatch is a list of new events as the column arrays that the append
// statements unnest.
type eventBatch struct {
	kinds    []string
	turnIDs  []string
	payloads [][]byte
}

func newEventBatch(events []store.NewEvent) eventBatch {
	b := eventBatch{
		kinds:    make([]string, len(events)),
		turnIDs:  make([]string, len(events)),
		payloads: make([][]byte, len(events)),
	}
	for i, e := range events {
		b.kinds[i] = e.Kind
		b.turnIDs[i] = e.TurnID
		b.payloads[i] = e.Payload
	}
	return b
}

// stored returns the events as the append stored them, starting at
// offset first. The payloads are copies.
func storedEvents(sessionID string, events []store.NewEvent, first int64, now time.Time) []store.Event {
	out := make([]store.Event, len(events))
	for i, e := range events {
		var payload json.RawMessage
		if e.Payload != nil {
			payload = append(json.RawMessage(nil), e.Payload...)
		}
		out[i] = store.Event{
			SessionID: sessionID,
			Offset:    first + int64(i),
			Kind:      e.Kind,
			TurnID:    e.TurnID,
			CreatedAt: now,
			Payload:   payload,
		}
	}
	return out
}

// appendSQL appends events in one statement, so an append costs one round
// trip. The UPDATE reserves the offsets by moving next_offset under the
// session's row lock, which serialises concurrent appends, so offsets are
// gapless. The events are inserted from arrays, and every registered
// sink's delivery row is marked ready. pg_notify queues the wake-up, which
// PostgreSQL sends only if the statement commits.
//
// $1 session id, $2 kinds, $3 turn ids, $4 payloads, $5 now, $6 trigger,
// $7 require idle, $8 channel, $9 payload (” sends no NOTIFY).
const appendSQL = `WITH s AS (
	UPDATE sessions SET
		next_offset = next_offset + cardinality($2::text[]),
		trigger_offset = CASE WHEN $6 THEN next_offset + cardinality($2::text[]) - 1 ELSE trigger_offset END
	WHERE id = $1 AND NOT deleted
		AND NOT ($7 AND (trigger_offset >= processed_offset OR (lease_owner <> '' AND lease_expires > $5)))
	RETURNING next_offset - cardinality($2::text[]) AS first
), e AS (
	INSERT INTO events (session_id, "offset", kind, turn_id, created_at, payload)
	SELECT $1, s.first + e.ord - 1, e.kind, e.turn_id, $5, e.payload
	FROM s, unnest($2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS e(kind, turn_id, payload, ord)
), d AS (
	INSERT INTO deliveries AS d (session_id, sink, ready_at)
	SELECT $1, name, '-infinity' FROM s, delivery_sinks
	ON CONFLICT (session_id, sink) DO UPDATE SET ready_at = '-infinity'
	WHERE d.ready_at IS DISTINCT FROM '-infinity'
), n AS (
	SELECT pg_notify($8, $9) FROM s WHERE $9 <> ''
)
SELECT first, (SELECT count(*) FROM n) FROM s`

// Append adds events to the session's log in one statement (see
// appendSQL), then wakes the session's waiters and the event deliverers
// ([store.DeliveryTopic]) in this process at once and in other processes
// through NOTIFY. Payloads are stored as bytea, byte for byte. With
// opts.Trigger the last event becomes the session's TriggerOffset. With
// opts.RequireIdle the append fails with ErrTurnBusy while the session
// needs a turn or its lease is held. Appending no events changes nothing
// and wakes no waiter.
func (s *Store) Append(ctx context.Context, sessionID string, events []store.NewEvent, opts store.AppendOptions) ([]store.Event, error) {
	op := fmt.Sprintf("append to session %q", sessionID)
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	if len(events) == 0 {
		return []store.Event{}, s.checkAppendable(ctx, op, sessionID, opts, now)
	}
	batch := newEventBatch(events)
	topics := []string{sessionID, store.DeliveryTopic}

	var first, notified int64
	err := s.pool.QueryRow(ctx, appendSQL, sessionID, batch.kinds, batch.turnIDs, batch.payloads,
		now, opts.Trigger, opts.RequireIdle, s.channel, s.payload(topics)).Scan(&first, &notified)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := s.checkAppendable(ctx, op, sessionID, opts, now); err != nil {
			return nil, err
		}
		// The session became idle between the two statements.
		return nil, fmt.Errorf("%s: wait for the running turn to finish: %w", op, store.ErrTurnBusy)
	}
	if err != nil {
		return nil, s.wrap(op, err)
	}
	s.wakeLocal(topics)
	return storedEvents(sessionID, events, first, now), nil
}

// checkAppendable returns ErrNotFound for an unknown or deleted session
// and, with opts.RequireIdle, ErrTurnBusy while it needs a turn or its
// lease is held.
func (s *Store) checkAppendable(ctx context.Context, op, sessionID string, opts store.AppendOptions, now time.Time) error {
	var busy bool
	err := s.pool.QueryRow(ctx, `SELECT trigger_offset >= processed_offset OR (lease_owner <> '' AND lease_expires > $2)
		FROM sessions WHERE id = $1 AND NOT deleted`, sessionID, now).Scan(&busy)
	if err != nil {
		return s.wrapLookup(op, err)
	}
	if opts.RequireIdle && busy {
		return fmt.Errorf("%s: wait for the running turn to finish: %w", op, store.ErrTurnBusy)
	}
	return nil
}

// ListEvents returns up to limit events with offset >= from, in offset
// order. A negative from reads from 0; a limit of 0 or less returns every
// event from from to the end of the log. It returns ErrNotFound for an
// unknown or deleted session.
func (s *Store) ListEvents(ctx context.Context, sessionID string, from int64, limit int) ([]store.Event, error) {
	op := fmt.Sprintf("list events of session %q", sessionID)
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	from = max(from, 0)
	var sqlLimit any // NULL means no limit.
	if limit > 0 {
		sqlLimit = limit
	}
	// The session row is read in the same statement, so an unknown session
	// is distinguished from an empty page without a second round trip.
	rows, err := s.pool.Query(ctx, `SELECT s.id IS NOT NULL, e."offset", e.kind, e.turn_id, e.created_at, e.payload
		FROM (SELECT id FROM sessions WHERE id = $1 AND NOT deleted) s
		LEFT JOIN LATERAL (
			SELECT "offset", kind, turn_id, created_at, payload FROM events
			WHERE session_id = s.id AND "offset" >= $2
			ORDER BY "offset" LIMIT $3
		) e ON true`, sessionID, from, sqlLimit)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	found := false
	out := []store.Event{}
	for rows.Next() {
		var (
			offset    *int64
			kind      *string
			turnID    *string
			createdAt *time.Time
			payload   []byte
		)
		if err := rows.Scan(&found, &offset, &kind, &turnID, &createdAt, &payload); err != nil {
			return nil, s.wrap(op, err)
		}
		if offset == nil {
			continue
		}
		out = append(out, store.Event{
			SessionID: sessionID,
			Offset:    *offset,
			Kind:      *kind,
			TurnID:    *turnID,
			CreatedAt: createdAt.UTC(),
			Payload:   json.RawMessage(payload),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	if !found {
		return nil, fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	return out, nil
}

// payload returns the pg_notify payload for topics, or "" when the store
// uses another notifier and sends no NOTIFY.
func (s *Store) payload(topics []string) string {
	if s.listener == nil || len(topics) == 0 {
		return ""
	}
	return encodePayload(s.origin, topics)
}

// wakeLocal wakes the subscribers of topics after a commit: in this
// process directly when LISTEN/NOTIFY is used (other processes receive the
// NOTIFY), or through the notifier given with WithNotifier.
func (s *Store) wakeLocal(topics []string) {
	if s.listener != nil {
		s.listener.wakeLocal(topics)
		return
	}
	for _, t := range topics {
		s.notifier.Notify(t)
	}
}
