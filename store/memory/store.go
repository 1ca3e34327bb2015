package memory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentry/agentry/store"
)

// Store is the in-memory [store.Store]. Create it with [New].
type Store struct {
	now      func() time.Time
	notifier *Notifier
	closed   atomic.Bool

	// pending holds the sessions whose NeedsTurn is true, so PendingTurns
	// does not scan every session. Its lock is taken inside a session's
	// lock, never the other way round.
	pendingMu sync.Mutex
	pending   map[*sessionEntry]struct{}

	// runs has its own lock and is never locked together with mu or a
	// session's lock.
	runs *runTable

	// deliveries indexes sessions that may have events to push. Its lock
	// is taken inside a session's lock, never the other way round.
	deliveries *deliveryIndex

	mu        sync.RWMutex
	customers map[string]*store.Customer
	sessions  map[string]*sessionEntry
	// deleted holds the ids of deleted sessions, which stay reserved.
	deleted map[string]struct{}
	// order lists live sessions by ascending seq; byCustomer does the same
	// per customer id. Both are searched by seq for list cursors.
	order      []*sessionEntry
	byCustomer map[string][]*sessionEntry
	nextSeq    int64
}

var _ store.Store = (*Store)(nil)

// Option configures a [Store].
type Option func(*Store)

// WithClock sets the function the store reads the time from, for
// timestamps and lease expiry. The default is [time.Now]; tests pass a fake
// clock to expire leases without sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		now:        time.Now,
		notifier:   NewNotifier(),
		pending:    make(map[*sessionEntry]struct{}),
		runs:       newRunTable(),
		deliveries: newDeliveryIndex(),
		customers:  make(map[string]*store.Customer),
		sessions:   make(map[string]*sessionEntry),
		deleted:    make(map[string]struct{}),
		byCustomer: make(map[string][]*sessionEntry),
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Notifier returns the notifier that Append, CompleteTurn and the run
// methods wake. Run waiters subscribe to [store.RunTopic].
func (s *Store) Notifier() store.Notifier { return s.notifier }

// Ping returns ErrClosed after Close and nil otherwise.
func (s *Store) Ping(ctx context.Context) error {
	return s.check(ctx)
}

// Close marks the store closed and wakes every waiter, so long-polls
// re-read the store and see ErrClosed. Calls after Close return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("close memory store: %w", store.ErrClosed)
	}
	s.notifier.NotifyAll()
	return nil
}

// check returns the error for a call on a closed store or with a done
// context.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// clock returns the current time in UTC without a monotonic reading, as a
// durable store would return it.
func (s *Store) clock() time.Time {
	return s.now().UTC()
}
