// Package storetest is the conformance suite for [store.Store]
// implementations. A store that passes it keeps every promise the store
// interfaces document, so the server runs on it unchanged.
//
// Call [Run] from a test of the store's package:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, clock func() time.Time) store.Store {
//			return mystore.Open(t, mystore.WithClock(clock))
//		}, storetest.Options{})
//	}
//
// The suite gives each store a clock it advances by hand, so lease expiry
// and due retries are tested without sleeping; the store must read the
// time only from that clock. Every subtest calls the factory for a fresh,
// empty store and closes it at the end.
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
// -test.run naming the top-level test that called [Run] and an
// environment variable that makes Run act as the child.
type MultiProcess struct {
	// Address returns a string from which Open, in another process,
	// opens a store over the same data as s (a database URL and schema,
	// for example).
	Address func(t *testing.T, s store.Store) string
	// Open opens the store at address in the child process, reading the
	// time from the real clock.
	Open func(address string) (store.Store, error)
}

// Clock is a clock that moves only when told. The zero value is not
// usable; the suite creates one per subtest with [NewClock].
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to a fixed time in UTC with whole
// microseconds, so durable stores that keep microsecond precision return
// the times they were given.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
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
