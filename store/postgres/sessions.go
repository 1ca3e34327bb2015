package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/store"
)

// sessionColumns are the columns scanSession reads, in order.
const sessionColumns = `id, seq, customer_id, mode, variables, metadata, webhook_url,
	created_at, updated_at, next_offset, trigger_offset, processed_offset,
	lease_owner, lease_token, lease_expires, cancel_requested`

// scanSession reads one row of sessionColumns followed by extra
// columns, and returns the session's creation sequence number. It leaves
// Deliveries nil; loadDeliveries fills them.
func scanSession(row pgx.Row, extra ...any) (store.Session, int64, error) {
	var (
		s                   store.Session
		seq                 int64
		variables, metadata []byte
		leaseExpires        *time.Time
	)
	dest := []any{&s.ID, &seq, &s.CustomerID, &s.Mode, &variables, &metadata, &s.WebhookURL,
		&s.CreatedAt, &s.UpdatedAt, &s.NextOffset, &s.TriggerOffset, &s.ProcessedOffset,
		&s.Lease.Owner, &s.Lease.Token, &leaseExpires, &s.CancelRequested}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return store.Session{}, 0, err
	}
	s.CreatedAt = s.CreatedAt.UTC()
	s.UpdatedAt = s.UpdatedAt.UTC()
	s.Lease.Expires = fromNullTime(leaseExpires)
	var err error
	if s.Variables, err = decodeMap("session variables", variables); err != nil {
		return store.Session{}, 0, err
	}
	if s.Metadata, err = decodeMap("session metadata", metadata); err != nil {
		return store.Session{}, 0, err
	}
	return s, seq, nil
}

// CreateSession stores in when its id is new, with the same rules as the
// memory store: NextOffset, TriggerOffset (-1), ProcessedOffset (0) and
// Lease (none) are set by the store, an empty Mode becomes ModeAuto and a
// zero CreatedAt becomes now. initial is appended in the same transaction
// without marking a trigger. An existing id returns the stored session
// with created=false; the id of a deleted session returns ErrConflict.
func (s *Store) CreateSession(ctx context.Context, in store.Session, initial []store.NewEvent) (store.Session, bool, error) {
	op := fmt.Sprintf("create session %q", in.ID)
	if err := s.check(ctx); err != nil {
		return store.Session{}, false, fmt.Errorf("%s: %w", op, err)
	}
	if err := store.CheckID(in.ID); err != nil {
		return store.Session{}, false, fmt.Errorf("create session: %w", err)
	}
	variables, err := encodeMap("session variables", in.Variables)
	if err != nil {
		return store.Session{}, false, fmt.Errorf("%s: %w", op, err)
	}
	metadata, err := encodeMap("session metadata", in.Metadata)
	if err != nil {
		return store.Session{}, false, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	mode := in.Mode
	if mode == "" {
		mode = store.ModeAuto
	}
	createdAt := now
	if !in.CreatedAt.IsZero() {
		createdAt = dbTime(in.CreatedAt)
	}
	batch := newEventBatch(initial)

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return store.Session{}, false, s.wrap(op, err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()

	row := tx.QueryRow(ctx, `INSERT INTO sessions (id, customer_id, mode, variables, metadata, webhook_url,
			created_at, updated_at, next_offset)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO NOTHING
		RETURNING `+sessionColumns,
		in.ID, in.CustomerID, mode, variables, metadata, in.WebhookURL, createdAt, now, len(initial))
	sess, _, err := scanSession(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return s.existingSession(ctx, tx, op, in.ID)
	}
	if err != nil {
		return store.Session{}, false, s.wrap(op, err)
	}

	var topics []string
	if len(initial) > 0 {
		topics = []string{store.DeliveryTopic}
		_, err := tx.Exec(ctx, `WITH e AS (
				INSERT INTO events (session_id, "offset", kind, turn_id, created_at, payload)
				SELECT $1, e.ord - 1, e.kind, e.turn_id, $2, e.payload
				FROM unnest($3::text[], $4::text[], $5::bytea[]) WITH ORDINALITY AS e(kind, turn_id, payload, ord)
			), d AS (
				INSERT INTO deliveries (session_id, sink, ready_at)
				SELECT $1, name, '-infinity' FROM delivery_sinks
			)
			SELECT pg_notify($6, $7) WHERE $7 <> ''`,
			in.ID, now, batch.kinds, batch.turnIDs, batch.payloads, s.channel, s.payload(topics))
		if err != nil {
			return store.Session{}, false, s.wrap(op, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return store.Session{}, false, s.wrap(op, err)
	}
	s.wakeLocal(topics)
	return sess, true, nil
}

// existingSession returns the stored session for a CreateSession whose
// insert found the id taken.
func (s *Store) existingSession(ctx context.Context, q querier, op, id string) (store.Session, bool, error) {
	var deleted bool
	if err := q.QueryRow(ctx, "SELECT deleted FROM sessions WHERE id = $1", id).Scan(&deleted); err != nil {
		return store.Session{}, false, s.wrap(op, err)
	}
	if deleted {
		return store.Session{}, false, fmt.Errorf("%s: the id belonged to a deleted session, choose another: %w",
			op, store.ErrConflict)
	}
	sess, err := s.getSession(ctx, q, id)
	if err != nil {
		return store.Session{}, false, s.wrapLookup(op, err)
	}
	return sess, false, nil
}

// GetSession returns the session with its deliveries, or ErrNotFound for
// an unknown or deleted id.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	op := fmt.Sprintf("get session %q", id)
	if err := s.check(ctx); err != nil {
		return store.Session{}, fmt.Errorf("%s: %w", op, err)
	}
	sess, err := s.getSession(ctx, s.pool, id)
	if err != nil {
		return store.Session{}, s.wrapLookup(op, err)
	}
	return sess, nil
}

// getSession reads a live session and its deliveries. It returns
// pgx.ErrNoRows for an unknown or deleted id.
func (s *Store) getSession(ctx context.Context, q querier, id string) (store.Session, error) {
	row := q.QueryRow(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = $1 AND NOT deleted", id)
	sess, _, err := scanSession(row)
	if err != nil {
		return store.Session{}, err
	}
	all, err := loadDeliveries(ctx, q, []string{id})
	if err != nil {
		return store.Session{}, err
	}
	sess.Deliveries = all[id]
	return sess, nil
}

// wrapLookup maps pgx.ErrNoRows to ErrNotFound and other errors with wrap.
func (s *Store) wrapLookup(op string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	return s.wrap(op, err)
}

// ListSessions returns live sessions in creation order, optionally of one
// customer. The limit is clamped with [store.ClampListLimit]; a cursor not
// made by a store returns [store.ErrInvalidCursor].
//
// NOTE: creation order is the order of the seq identity column, taken at
// insert. A session whose transaction commits after a later-numbered one
// can be missed by a client that paged past its number in between.
func (s *Store) ListSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, string, error) {
	const op = "list sessions"
	if err := s.check(ctx); err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	limit := store.ClampListLimit(f.Limit)
	after := int64(0)
	if f.Cursor != "" {
		position, err := store.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
		after = position
	}
	sql := "SELECT " + sessionColumns + " FROM sessions WHERE NOT deleted AND seq > $1"
	args := []any{after, limit + 1}
	if f.CustomerID != "" {
		sql += " AND customer_id = $3"
		args = append(args, f.CustomerID)
	}
	sql += " ORDER BY seq LIMIT $2"

	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", s.wrap(op, err)
	}
	var (
		page []store.Session
		seqs []int64
	)
	for rows.Next() {
		sess, seq, err := scanSession(rows)
		if err != nil {
			rows.Close()
			return nil, "", s.wrap(op, err)
		}
		page = append(page, sess)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.wrap(op, err)
	}

	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = store.EncodeCursor(seqs[limit-1])
	}
	if page == nil {
		page = []store.Session{}
	}
	ids := make([]string, len(page))
	for i := range page {
		ids[i] = page[i].ID
	}
	all, err := loadDeliveries(ctx, s.pool, ids)
	if err != nil {
		return nil, "", s.wrap(op, err)
	}
	for i := range page {
		page[i].Deliveries = all[page[i].ID]
	}
	return page, next, nil
}

// UpdateSession applies p in one statement: Mode and WebhookURL are
// replaced when set, and Variables and Metadata are merged with nil values
// deleting keys. It sets UpdatedAt. A changed WebhookURL makes the
// session's deliveries ready and wakes deliverers on
// [store.DeliveryTopic].
func (s *Store) UpdateSession(ctx context.Context, id string, p store.SessionPatch) (store.Session, error) {
	op := fmt.Sprintf("update session %q", id)
	if err := s.check(ctx); err != nil {
		return store.Session{}, fmt.Errorf("%s: %w", op, err)
	}
	varDeletes, varSets, err := splitPatch("session variables", p.Variables)
	if err != nil {
		return store.Session{}, fmt.Errorf("%s: %w", op, err)
	}
	metaDeletes, metaSets, err := splitPatch("session metadata", p.Metadata)
	if err != nil {
		return store.Session{}, fmt.Errorf("%s: %w", op, err)
	}
	now := s.clock()
	topics := []string{store.DeliveryTopic}

	// old reads the row before the update (locked by it), so the webhook
	// URL change is detected in the same statement.
	row := s.pool.QueryRow(ctx, `WITH old AS (
			SELECT id, webhook_url FROM sessions WHERE id = $1 AND NOT deleted FOR UPDATE
		), upd AS (
			UPDATE sessions s SET
				mode = coalesce($2, s.mode),
				webhook_url = coalesce($3, s.webhook_url),
				variables = `+mergeSQL("s.variables", "$4", "$5")+`,
				metadata = `+mergeSQL("s.metadata", "$6", "$7")+`,
				updated_at = $8
			FROM old WHERE s.id = old.id
			RETURNING s.*, (s.webhook_url IS DISTINCT FROM old.webhook_url) AS url_changed
		), d AS (
			UPDATE deliveries SET ready_at = '-infinity'
			WHERE session_id = (SELECT id FROM upd WHERE url_changed)
				AND ready_at IS DISTINCT FROM '-infinity'
		), n AS (
			SELECT pg_notify($9, $10) FROM upd WHERE url_changed AND $10 <> ''
		)
		SELECT `+sessionColumns+`, url_changed, (SELECT count(*) FROM n) FROM upd`,
		id, p.Mode, p.WebhookURL, varDeletes, varSets, metaDeletes, metaSets, now,
		s.channel, s.payload(topics))
	var (
		urlChanged bool
		notified   int64
	)
	sess, _, err := scanSession(row, &urlChanged, &notified)
	if err != nil {
		return store.Session{}, s.wrapLookup(op, err)
	}
	all, err := loadDeliveries(ctx, s.pool, []string{id})
	if err != nil {
		return store.Session{}, s.wrap(op, err)
	}
	sess.Deliveries = all[id]
	if urlChanged {
		s.wakeLocal(topics)
	}
	return sess, nil
}

// DeleteSession marks the session deleted, which keeps its id reserved,
// and removes its events and delivery rows in one transaction. It wakes
// the session's waiters so they re-read and see ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete session %q", id)
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	topics := []string{id}
	var deleted int64
	err := s.pool.QueryRow(ctx, `WITH upd AS (
			UPDATE sessions SET deleted = true, variables = NULL, metadata = NULL,
				lease_owner = '', lease_token = '', lease_expires = NULL
			WHERE id = $1 AND NOT deleted
			RETURNING id
		), e AS (
			DELETE FROM events WHERE session_id = (SELECT id FROM upd)
		), d AS (
			DELETE FROM deliveries WHERE session_id = (SELECT id FROM upd)
		), n AS (
			SELECT pg_notify($2, $3) FROM upd WHERE $3 <> ''
		)
		SELECT count(*) FROM upd, (SELECT count(*) FROM n) AS sent`,
		id, s.channel, s.payload(topics)).Scan(&deleted)
	if err != nil {
		return s.wrap(op, err)
	}
	if deleted == 0 {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	s.wakeLocal(topics)
	return nil
}
