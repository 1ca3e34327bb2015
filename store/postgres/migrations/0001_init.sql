-- The tables of the store. Times are timestamptz written by the store from
-- its own clock; a NULL time is the zero time.Time. Leases are
-- (owner, token, expires) with owner '' meaning none.

CREATE TABLE customers (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    variables  jsonb,
    metadata   jsonb,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- A deleted session keeps its row (deleted = true) so its id stays
-- reserved; its events and delivery rows are removed.
CREATE TABLE sessions (
    id               text PRIMARY KEY,
    seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    customer_id      text NOT NULL,
    mode             text NOT NULL,
    variables        jsonb,
    metadata         jsonb,
    webhook_url      text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    deleted          boolean NOT NULL DEFAULT false,
    next_offset      bigint NOT NULL DEFAULT 0,
    trigger_offset   bigint NOT NULL DEFAULT -1,
    processed_offset bigint NOT NULL DEFAULT 0,
    lease_owner      text NOT NULL DEFAULT '',
    lease_token      text NOT NULL DEFAULT '',
    lease_expires    timestamptz
);

CREATE INDEX sessions_by_customer ON sessions (customer_id, seq) WHERE NOT deleted;

-- Sessions whose newest trigger is unanswered, for PendingTurns.
CREATE INDEX sessions_needing_turn ON sessions (seq)
    WHERE NOT deleted AND trigger_offset >= processed_offset;

-- Payloads are bytea so they are returned byte for byte as written.
CREATE TABLE events (
    session_id text NOT NULL,
    "offset"   bigint NOT NULL,
    kind       text NOT NULL,
    turn_id    text NOT NULL,
    created_at timestamptz NOT NULL,
    payload    bytea,
    PRIMARY KEY (session_id, "offset")
);

-- Sink names that ClaimDelivery has been called with. Appends add a
-- deliveries row for each of them.
CREATE TABLE delivery_sinks (
    name text PRIMARY KEY
);

-- One row per session and sink. ready_at is when ClaimDelivery looks at
-- the row next: '-infinity' (now, whatever the claimer's clock) after an
-- append, a webhook URL change, a resume or a release; the retry time or
-- lease expiry while work is due later; NULL when the delivery is caught
-- up, paused or disabled. claimed is false until the first claim. Only
-- claimed rows are shown in Session.Deliveries, so an unclaimed row reads
-- as "no entry".
CREATE TABLE deliveries (
    session_id      text NOT NULL,
    sink            text NOT NULL,
    claimed         boolean NOT NULL DEFAULT false,
    state           text NOT NULL DEFAULT 'active',
    cursor          bigint NOT NULL DEFAULT 0,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_status     integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    last_attempt_at timestamptz,
    lease_owner     text NOT NULL DEFAULT '',
    lease_token     text NOT NULL DEFAULT '',
    lease_expires   timestamptz,
    ready_at        timestamptz,
    PRIMARY KEY (session_id, sink)
);

CREATE INDEX deliveries_ready ON deliveries (sink, ready_at) WHERE ready_at IS NOT NULL;

CREATE TABLE runs (
    id                 text PRIMARY KEY,
    routine_id         text NOT NULL,
    status             text NOT NULL,
    input              bytea,
    output             bytea,
    error_code         text,
    error_message      text,
    callback_url       text NOT NULL,
    idempotency_key    text NOT NULL,
    input_hash         text NOT NULL,
    trigger_source     text NOT NULL,
    trigger_webhook    text NOT NULL,
    metadata           jsonb,
    attempts           integer NOT NULL,
    max_attempts       integer NOT NULL,
    timeout_us         bigint NOT NULL,
    deadline           timestamptz,
    lease_owner        text NOT NULL DEFAULT '',
    lease_token        text NOT NULL DEFAULT '',
    lease_expires      timestamptz,
    created_at         timestamptz NOT NULL,
    started_at         timestamptz,
    finished_at        timestamptz,
    cb_state           text NOT NULL,
    cb_attempts        integer NOT NULL DEFAULT 0,
    cb_next_attempt_at timestamptz,
    cb_last_status     integer NOT NULL DEFAULT 0,
    cb_last_error      text NOT NULL DEFAULT '',
    cb_delivered_at    timestamptz,
    cb_lease_owner     text NOT NULL DEFAULT '',
    cb_lease_token     text NOT NULL DEFAULT '',
    cb_lease_expires   timestamptz
);

CREATE UNIQUE INDEX runs_idempotency_key ON runs (routine_id, idempotency_key)
    WHERE idempotency_key <> '';

-- Runs that ClaimRun may take: queued ones, and running ones whose lease
-- may have expired. Held leases are filtered out row by row, which stays
-- cheap because running runs are bounded by the number of workers.
CREATE INDEX runs_claimable ON runs (created_at, id) WHERE status IN ('queued', 'running');

CREATE INDEX runs_callback_pending ON runs (cb_next_attempt_at, created_at, id)
    WHERE cb_state = 'pending';
