// Package store defines what the server persists and the contracts every
// implementation must keep: customers, sessions with their event logs, and
// the turn leases that let exactly one worker run a session's turn at a
// time.
//
// Implementations live in subpackages (memory, and durable ones). They
// return the sentinel errors of this package, wrapped or not, so callers
// test them with [errors.Is]. The helpers in this package (map merging,
// list cursors and limits, and argument checks such as [CheckClaim]) exist
// so every implementation applies the same rules.
package store
