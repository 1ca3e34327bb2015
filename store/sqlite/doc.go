// Package sqlite is a [store.Store] in one SQLite database file, for a
// single process whose restarts must lose nothing. It uses the pure Go
// driver modernc.org/sqlite, so it builds without cgo. Use it to run one
// agentry process with durable history and no database server; run
// several replicas on the PostgreSQL store instead.
//
// # One process
//
// [Open] takes an exclusive flock(2) lock on the file path+".lock" and
// keeps it until [Store.Close]. A second Open of the same path, from this
// process or another, fails with an error saying the database is in use
// by another process. The kernel drops the lock when the process dies, so
// a crashed process never leaves a stale lock behind. Leases, claims and
// the [store.Notifier] work within the one process: waiters are woken
// in process, after the transaction that changed the data commits. The
// lock needs flock(2), so the package opens stores on Unix systems only;
// it is tested on Linux.
//
// # Durability
//
// The database runs in WAL mode with synchronous=FULL: every commit
// syncs the write-ahead log to disk before the call returns, so a write
// that returned without error survives a process crash, and a power
// loss as long as the disk honours fsync. Every write runs in a BEGIN
// IMMEDIATE transaction on one writer connection, so concurrent writes
// queue in the process instead of failing with SQLITE_BUSY; reads run on
// a separate pool of query_only connections and do not wait for writes.
// Keep the file on a local file system: WAL needs shared memory, which
// network file systems do not provide.
//
// # Files
//
// For a store opened at /var/lib/agentry/agentry.db the directory holds:
//
//	agentry.db       the database
//	agentry.db-wal   the write-ahead log: commits not yet copied into the database
//	agentry.db-shm   the WAL index, shared memory for the connections
//	agentry.db.lock  the lock file (empty)
//
// The -wal file holds committed data: never delete it or copy the
// database without it. Close checkpoints the log into the database, and
// SQLite then removes the -wal and -shm files.
//
// # Backups
//
// Stop the process and copy agentry.db (after a clean Close it holds
// everything), or back up while it runs with the SQLite shell, which
// reads a consistent snapshot alongside the writer:
//
//	sqlite3 /var/lib/agentry/agentry.db ".backup /backup/agentry.db"
//
// or with "VACUUM INTO '/backup/agentry.db'". Do not copy the database
// file alone while the process runs, because recent commits may be in
// the -wal file only.
//
// # Schema
//
// The schema comes from the numbered SQL files in migrations/, embedded
// in the binary. Open applies the ones the file has not recorded in its
// schema_migrations table, each in its own transaction, so opening an
// up-to-date file changes nothing. A file that records a version this
// build does not know was written by a newer build, and Open rejects it
// without touching it.
//
// Times are stored as integer unix microseconds in UTC, so every time the
// store returns is truncated to the microsecond. Event payloads and run
// input and output are stored byte for byte. Variables and metadata are
// stored as JSON and read back with numbers as [encoding/json.Number],
// so large integers keep every digit.
package sqlite

import _ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
