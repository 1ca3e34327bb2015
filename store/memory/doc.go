// Package memory is a [store.Store] that keeps everything in process memory.
//
// A restart loses everything: customers, sessions, events, runs and
// leases. Use it for development, tests and single-process deployments
// where losing history on restart is acceptable; use a durable store
// otherwise. Leases and the [store.Notifier] work within this one process
// only, so replicas cannot share a memory store.
//
// A [Store] is safe for concurrent use. Locking has two levels, so
// sessions do not contend with each other:
//
//   - One store-wide RWMutex guards the customers, the session map and the
//     creation-order index. Session calls hold it only to look up, insert
//     or remove an entry. CreateSession also appends the initial events
//     under it, so a new session is never seen without them.
//   - Each session has its own mutex that guards its fields and its event
//     log. Appends, claims and reads of different sessions run in parallel.
//
// Code that needs both takes the store-wide lock first. Appends wake
// waiters after the session lock is released.
//
// Event delivery keeps each session's cursors with the session, under its
// lock. An index of the sessions that may have events to push, per sink,
// has a lock taken inside a session's lock, so ClaimDelivery looks only at
// sessions that gained work instead of scanning them all.
//
// Runs have a lock of their own, separate from the store-wide and session
// locks. Queued runs, leased runs and pending callbacks each sit in a
// min-heap, so ClaimRun and ClaimCallback cost O(log n) in the number of
// runs instead of a scan.
// ClaimRun, CompleteRun, CancelRun, RecordCallback and RedeliverCallback
// wake the waiters of each run they change, on [store.RunTopic], after
// the lock is released.
package memory
