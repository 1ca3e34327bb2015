// Package memory is a [store.Store] that keeps everything in process memory.
//
// A restart loses everything: customers, sessions, events and leases. Use
// it for development, tests and single-process deployments where losing
// history on restart is acceptable; use a durable store otherwise. Leases
// and the [store.Notifier] work within this one process only, so replicas
// cannot share a memory store.
//
// A [Store] is safe for concurrent use. Locking is two-level so sessions do
// not contend with each other:
//
//   - one store-wide RWMutex guards the customer map, the session map and
//     the creation-order index; it is held only to look up, insert or remove
//     entries, never while events are copied;
//   - each session has its own mutex guarding its fields and its event log,
//     so appends, claims and reads of different sessions run in parallel.
//
// Code that needs both takes the store-wide lock first. Appends wake
// waiters after the session lock is released.
package memory
