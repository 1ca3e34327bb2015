// Package storetest is the conformance suite for [store.Store]
// implementations. A store that passes it keeps every promise the store
// interfaces document, so the server runs on it unchanged.
//
// Call [Run] from a top-level test of the store's package:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, clock func() time.Time) store.Store {
//			return mystore.Open(t, mystore.WithClock(clock))
//		}, storetest.Options{})
//	}
//
// The suite works only through [store.Store] and the clock. It gives each
// store a clock that moves only when the suite advances it, so lease
// expiry and due retries are tested without sleeping. The store must take
// every timestamp and lease expiry from that clock. The clock starts on a
// whole second and moves by whole seconds, so a store that keeps
// microseconds returns the times it was given. Every subtest calls the
// factory for a fresh, empty store and closes it at the end.
//
// The subtests are named by area:
//
//   - Customers: put, get and merge, CreatedAt kept, maps copied in and
//     out.
//   - Sessions: create with initial events, an existing id returned
//     unchanged, a deleted id rejected with ErrConflict, list order and
//     cursors ([store.ClampListLimit] page sizes, [store.ErrInvalidCursor]),
//     update and merge.
//   - Events: offsets and times, Trigger and RequireIdle, ListEvents
//     ranges, payloads returned byte for byte (key order, spacing and
//     number spelling kept), payload copies, and gapless offsets under
//     appends from 16 goroutines at once.
//   - Turns: claim conditions, one winner among concurrent claims, expiry
//     and extension, CompleteTurn (a processed offset past the log
//     rejected), lost leases, release, PendingTurns, and
//     RequestCancel: taken only on a held, unexpired lease, waking the
//     session's waiters, cleared by CompleteTurn, ReleaseTurn and
//     ClaimTurn, and reported to the claim that takes over an expired
//     lease.
//   - Runs: creation defaults, idempotency keys (also under concurrent
//     CreateRun with one key), claim order and fields, each run claimed
//     once by concurrent workers, expiry, interrupted runs, cancel,
//     complete and copies.
//   - Callbacks: due and not due, one winner among concurrent claims, each
//     callback claimed once, outcomes, redelivery and a claim with an
//     earlier now.
//   - Deliveries: work detection, webhook URL requirement, independent
//     sinks, failures, pause and resume, lease expiry, one winner among
//     concurrent claims, and workers delivering every event once, in
//     order.
//   - Notifier: waiters woken within 5 s by Append, CompleteTurn, run
//     changes on [store.RunTopic] and every change that
//     [store.DeliveryTopic] lists, and no wake-up lost by a waiter that
//     subscribes first and reads the store second.
//   - Store: Ping, ErrClosed from every method after Close, and
//     [store.ErrInvalidArgument] from every method given an argument its
//     contract rules out.
//   - Reopen and MultiProcess: see [Options].
//
// Besides the interface documentation, the suite expects a store to
// reject with an error wrapping [store.ErrInvalidArgument] an empty lease
// owner, a ttl of zero, a delivery sink without a name, and a session,
// customer or run without an id. The functions and methods of package
// store that check arguments, such as [store.CheckClaim] and
// [store.DeliveryOutcome.Validate], return such errors.
//
// A durable store sets [Options.Reopen]: a function that closes the store
// and opens it again over the same data, as a restarted process would.
// The Reopen area then checks that customers, sessions, events (byte for
// byte), processed offsets, delivery cursors and states, runs with their
// status, attempts, leases and callback state, idempotency keys and
// reserved ids survive; that a lease held before the reopen is still
// held, by the same claim, and expires with the clock; that a requested
// cancel is kept; and that offsets continue gapless.
//
// A store that replicas share sets [Options.MultiProcess]. The suite then
// starts the test binary again (os.Args[0], with -test.run naming the
// test that called Run) with the environment variable
// AGENTRY_STORETEST_CHILD set to the child's task. In that child, Run
// opens the store with [MultiProcess.Open], performs the task and exits
// the process instead of running subtests. The MultiProcess area checks
// that offsets stay unique and gapless when both processes append at
// once, that no run is claimed by both processes, and that an append or
// a RequestCancel in the child wakes a waiter in the parent. The child reads the real clock,
// so these checks take leases for ten years, which no clock difference
// between the processes expires.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// Factory returns a new, empty store that reads the time from clock. It
// runs once per subtest; the suite closes the store when the subtest ends
// (a second Close is harmless, since it returns ErrClosed).
type Factory func(t *testing.T, clock func() time.Time) store.Store

// Options selects the optional parts of the suite.
type Options struct {
	// Reopen, when set, marks the store durable: it closes s and returns a
	// store over the same data with the given clock, as a restarted
	// process would open it. The suite then checks that sessions, events,
	// cursors, runs, leases and idempotency keys survive.
	Reopen func(t *testing.T, s store.Store, clock func() time.Time) store.Store

	// MultiProcess, when set, adds appends and claims from a second
	// process that opens the same data.
	MultiProcess *MultiProcess
}

// MultiProcess lets the suite open a store over the same data in a child
// process. The child is the test binary itself, started again with
// -test.run naming the test that called [Run] (a subtest path included)
// and the environment variable AGENTRY_STORETEST_CHILD, which makes Run
// act as the child. The test must pass the same Options in both
// processes. Code that the test runs before Run runs in the child too.
type MultiProcess struct {
	// Address returns a string from which Open, in another process,
	// opens a store over the same data as s (a database URL and schema,
	// for example). The child receives it in its environment; the suite
	// never prints it.
	Address func(t *testing.T, s store.Store) string
	// Open opens the store at address in the child process, reading the
	// time from the real clock.
	Open func(address string) (store.Store, error)
}

// Clock is a clock that moves only by [Clock.Advance]. The zero value is
// not usable, so the suite creates one per subtest with [NewClock].
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to a fixed time in UTC on a whole second.
// The suite advances it by whole seconds, so durable stores that keep
// microsecond precision return the times they were given.
func NewClock() *Clock {
	return NewClockAt(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
}

// NewClockAt returns a clock set to start. A test whose store shares
// leases with a process on the real clock starts it at time.Now.
func NewClockAt(start time.Time) *Clock {
	return &Clock{now: start}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
