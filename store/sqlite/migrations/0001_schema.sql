-- Times are integer unix microseconds in UTC; NULL is the zero time.
-- Maps are JSON text; NULL is a nil map. A lease is free when its owner
-- is the empty string.

CREATE TABLE customers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    variables  TEXT,
    metadata   TEXT,
    created_at INTEGER,
    updated_at INTEGER
) STRICT;

-- seq is the creation order and the list cursor. AUTOINCREMENT keeps a
-- deleted session's seq from being reused, so a cursor never skips a
-- session created after a deletion.
CREATE TABLE sessions (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    customer_id      TEXT NOT NULL,
    mode             TEXT NOT NULL,
    variables        TEXT,
    metadata         TEXT,
    webhook_url      TEXT NOT NULL,
    created_at       INTEGER,
    updated_at       INTEGER,
    next_offset      INTEGER NOT NULL,
    trigger_offset   INTEGER NOT NULL,
    processed_offset INTEGER NOT NULL,
    lease_owner      TEXT NOT NULL DEFAULT '',
    lease_token      TEXT NOT NULL DEFAULT '',
    lease_expires    INTEGER
) STRICT;

CREATE INDEX sessions_by_customer ON sessions (customer_id, seq);

-- Sessions that need a turn, for PendingTurns.
CREATE INDEX sessions_needing_turn ON sessions (seq)
    WHERE trigger_offset >= processed_offset;

-- Ids of deleted sessions, which are never reused.
CREATE TABLE deleted_sessions (
    id TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

CREATE TABLE events (
    session_seq  INTEGER NOT NULL REFERENCES sessions (seq) ON DELETE CASCADE,
    event_offset INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    turn_id      TEXT NOT NULL,
    created_at   INTEGER,
    payload      BLOB,
    PRIMARY KEY (session_seq, event_offset)
) STRICT, WITHOUT ROWID;

CREATE TABLE runs (
    id                 TEXT PRIMARY KEY,
    routine_id         TEXT NOT NULL,
    status             TEXT NOT NULL,
    input              BLOB,
    output             BLOB,
    error_code         TEXT,
    error_message      TEXT,
    callback_url       TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL,
    input_hash         TEXT NOT NULL,
    trigger_source     TEXT NOT NULL,
    trigger_webhook    TEXT NOT NULL,
    metadata           TEXT,
    attempts           INTEGER NOT NULL,
    max_attempts       INTEGER NOT NULL,
    timeout_ns         INTEGER NOT NULL,
    deadline           INTEGER,
    lease_owner        TEXT NOT NULL DEFAULT '',
    lease_token        TEXT NOT NULL DEFAULT '',
    lease_expires      INTEGER,
    created_at         INTEGER,
    started_at         INTEGER,
    finished_at        INTEGER,
    cb_state           TEXT NOT NULL,
    cb_attempts        INTEGER NOT NULL DEFAULT 0,
    cb_next_attempt_at INTEGER,
    cb_last_status     INTEGER NOT NULL DEFAULT 0,
    cb_last_error      TEXT NOT NULL DEFAULT '',
    cb_delivered_at    INTEGER,
    cb_lease_owner     TEXT NOT NULL DEFAULT '',
    cb_lease_token     TEXT NOT NULL DEFAULT '',
    cb_lease_expires   INTEGER
) STRICT;

CREATE UNIQUE INDEX runs_by_idempotency_key ON runs (routine_id, idempotency_key)
    WHERE idempotency_key <> '';

-- Runs ClaimRun may take: queued ones, and running ones whose lease may
-- have expired, oldest first.
CREATE INDEX runs_claimable ON runs (created_at, id)
    WHERE status IN ('queued', 'running');

-- Callbacks ClaimCallback may take, earliest due first.
CREATE INDEX runs_callback_pending ON runs (cb_next_attempt_at, created_at, id)
    WHERE cb_state = 'pending';

-- Sink names ClaimDelivery has seen. Every session has a deliveries row
-- for each of them, so claims never look for sessions without a row.
CREATE TABLE delivery_sinks (
    name TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- One row per session and sink. head copies the session's next_offset,
-- updated by every append, so the partial index below holds only the
-- rows with work: active behind the log, or retrying. claimed is 0 until
-- the first claim; until then the row is not shown in
-- Session.Deliveries, matching the "missing entry is active at cursor 0"
-- rule.
CREATE TABLE deliveries (
    session_seq     INTEGER NOT NULL REFERENCES sessions (seq) ON DELETE CASCADE,
    sink            TEXT NOT NULL,
    claimed         INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL,
    cursor          INTEGER NOT NULL,
    head            INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    last_attempt_at INTEGER,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_token     TEXT NOT NULL DEFAULT '',
    lease_expires   INTEGER,
    PRIMARY KEY (session_seq, sink)
) STRICT, WITHOUT ROWID;

CREATE INDEX deliveries_with_work ON deliveries (sink, session_seq)
    WHERE state = 'retrying' OR (state = 'active' AND cursor < head);
