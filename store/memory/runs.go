package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/agentry/agentry/store"
)

// runTable holds the runs and the queues that make claims O(log n). One
// mutex guards all of it: a claim picks the oldest run across every run,
// so per-run locks would not let claims run in parallel.
type runTable struct {
	mu   sync.Mutex
	byID map[string]*runEntry
	// byKey maps a routine's idempotency key to its run. Runs without a
	// key are not in it.
	byKey  map[idempotencyKey]*runEntry
	queues [queueCount]*runQueue
}

type idempotencyKey struct {
	routineID string
	key       string
}

func newRunTable() *runTable {
	t := &runTable{
		byID:  make(map[string]*runEntry),
		byKey: make(map[idempotencyKey]*runEntry),
	}
	for id := range t.queues {
		t.queues[id] = newRunQueue(id)
	}
	return t
}

// CreateRun stores a copy of in, which needs an id and status queued. A
// key already used by in.RoutineID returns the existing run with
// created=false and stores nothing. An id already used by another run
// returns ErrConflict.
//
// The store sets the fields it owns: Attempts 0, no Output, Error, lease,
// Deadline, StartedAt or FinishedAt, and a callback state of
// CallbackWaiting when in has a CallbackURL, CallbackNone otherwise. A
// MaxAttempts of 0 is stored as 1 and a zero CreatedAt becomes now. Input
// and Metadata are deep-copied.
func (s *Store) CreateRun(ctx context.Context, in store.Run) (store.Run, bool, error) {
	if err := s.check(ctx); err != nil {
		return store.Run{}, false, fmt.Errorf("create run %q: %w", in.ID, err)
	}
	if err := store.CheckNewRun(in); err != nil {
		return store.Run{}, false, fmt.Errorf("create run: %w", err)
	}
	now := s.clock()

	t := s.runs
	t.mu.Lock()
	defer t.mu.Unlock()
	key := idempotencyKey{routineID: in.RoutineID, key: in.IdempotencyKey}
	if in.IdempotencyKey != "" {
		if e := t.byKey[key]; e != nil {
			return cloneRun(e.r), false, nil
		}
	}
	if _, taken := t.byID[in.ID]; taken {
		return store.Run{}, false, fmt.Errorf("create run %q: the id belongs to another run, choose another: %w",
			in.ID, store.ErrConflict)
	}

	e := newRunEntry(newStoredRun(in, now))
	t.byID[in.ID] = e
	if in.IdempotencyKey != "" {
		t.byKey[key] = e
	}
	t.queues[queueClaimable].add(e)
	return cloneRun(e.r), true, nil
}

// newStoredRun returns the run CreateRun stores for in.
func newStoredRun(in store.Run, now time.Time) store.Run {
	r := in
	r.Input = cloneRaw(in.Input)
	r.Metadata = store.CloneMap(in.Metadata)
	r.Output = nil
	r.Error = nil
	r.Attempts = 0
	r.MaxAttempts = max(in.MaxAttempts, 1)
	r.Deadline = time.Time{}
	r.Lease = store.Lease{}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.StartedAt = time.Time{}
	r.FinishedAt = time.Time{}
	r.Callback = store.CallbackState{State: store.CallbackNone}
	if r.CallbackURL != "" {
		r.Callback.State = store.CallbackWaiting
	}
	return r
}

// GetRun returns a copy of the run, or ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	if err := s.check(ctx); err != nil {
		return store.Run{}, fmt.Errorf("get run %q: %w", id, err)
	}
	t := s.runs
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byID[id]
	if e == nil {
		return store.Run{}, fmt.Errorf("get run %q: %w", id, store.ErrNotFound)
	}
	return cloneRun(e.r), nil
}

// cloneRun returns a copy of r that shares no memory with it.
func cloneRun(r store.Run) store.Run {
	r.Input = cloneRaw(r.Input)
	r.Output = cloneRaw(r.Output)
	r.Metadata = store.CloneMap(r.Metadata)
	if r.Error != nil {
		runErr := *r.Error
		r.Error = &runErr
	}
	return r
}

// cloneRaw copies b, keeping nil as nil.
func cloneRaw(b json.RawMessage) json.RawMessage {
	return json.RawMessage(bytes.Clone(b))
}
