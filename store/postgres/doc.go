// Package postgres is the PostgreSQL [store.Store]: the durable store for
// running any number of stateless agentry replicas against one database
// (PostgreSQL 15 or later). It uses pgx/v5 with a connection pool.
//
// # Schema
//
// [Open] creates the schema named with [WithSchema] (default: the first
// schema of the URL's search_path, else public) and applies the embedded
// migrations (migrations/*.sql) in one transaction that holds an advisory
// lock keyed by the schema name, recording each in schema_migrations. So
// replicas starting together apply each migration once, and opening a
// migrated schema changes nothing. The tables are:
//
//   - customers: one row per customer.
//   - sessions: one row per session with its offsets and turn lease. A
//     deleted session keeps its row, marked deleted, so its id stays
//     reserved.
//   - events: (session_id, offset) rows with the payload as bytea, so a
//     payload reads back byte for byte. Webhook redeliveries must be
//     identical, and jsonb would reformat the payload.
//   - deliveries and delivery_sinks: one row per session and sink with the
//     delivery cursor, state and lease; a missing row means active at
//     cursor 0.
//   - runs: runs with their lease and callback state.
//
// Variables and metadata of customers, sessions and runs are jsonb,
// decoded with json.Decoder.UseNumber so numbers keep their digits. jsonb
// rejects strings containing the NUL character (\u0000), so such values
// fail to store here although the memory store keeps them. Run input and
// output are bytea, like event payloads.
//
// An append is one statement: it moves the session's next_offset under the
// row lock (so concurrent appends get gapless offsets), inserts the events,
// marks the session's delivery rows ready and queues a NOTIFY. Claims
// (ClaimRun, ClaimCallback, ClaimDelivery, PendingTurns) select with FOR
// UPDATE SKIP LOCKED over partial indexes of pending work, so replicas
// never wait for each other's claims and a claim reads only rows that may
// have work.
//
// # Clock
//
// Every timestamp and lease expiry is computed in Go from the store's clock
// ([WithClock], default [time.Now]) and truncated to microseconds, never by
// the database's now(). Replicas compare each other's lease expiries, so
// their clocks must be synchronised (NTP) to well under the lease TTLs; a
// replica whose clock runs ahead takes over leases early.
//
// # Notifier
//
// Waiters are woken through LISTEN/NOTIFY: each Store holds one dedicated
// listening connection (application_name "agentry-listener") on a channel
// derived from the schema, and fans notifications out to the waiters of
// its own process (see [Notifier]). Writes queue pg_notify inside their
// statement, so a wake-up is sent only when the change commits, and wake
// the waiters of their own process directly after the commit. When the
// listening connection drops, it reconnects with backoff and wakes every
// local waiter, which re-reads the store, so nothing sent while it was
// disconnected is missed. After 30 s without a notification it pings the
// server, so a connection that died without a TCP reset is replaced too.
// [WithNotifier] replaces LISTEN/NOTIFY with another broker.
//
// # When the database goes away
//
// Calls that cannot reach the database (connection refused, reset or
// timed out, the server shutting down) return an error wrapping
// [store.ErrUnavailable], which the HTTP layer responds to with 503. New
// connections time out after 5 s unless the URL sets connect_timeout, and
// the caller's context bounds each query. The pool reconnects on later
// calls, and the listener reconnects on its own. A call that failed this
// way may or may not have been applied.
package postgres
