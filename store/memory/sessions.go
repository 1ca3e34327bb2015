package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/agentry/agentry/store"
)

// sessionEntry is one session and its event log.
type sessionEntry struct {
	// seq is the creation sequence number, the list cursor position. It
	// and customerID never change.
	seq        int64
	customerID string

	mu sync.Mutex
	s  store.Session
	// events[i] has offset i. Stored events are never modified, so a
	// sub-slice taken under mu stays valid to read after mu is released.
	events  []store.Event
	deleted bool
}

// snapshot returns a copy of the session that shares no map with the
// entry. The caller holds e.mu.
func (e *sessionEntry) snapshot() store.Session {
	out := e.s
	out.Variables = store.CloneMap(out.Variables)
	out.Metadata = store.CloneMap(out.Metadata)
	out.Deliveries = cloneDeliveries(out.Deliveries)
	return out
}

// lookup returns the live entry of a session id, or ErrNotFound. The entry
// may be deleted before the caller locks it, so callers check e.deleted
// under e.mu.
func (s *Store) lookup(id string) (*sessionEntry, error) {
	s.mu.RLock()
	e := s.sessions[id]
	s.mu.RUnlock()
	if e == nil {
		return nil, store.ErrNotFound
	}
	return e, nil
}

// CreateSession stores in when its id is new. The store sets NextOffset,
// TriggerOffset (-1), ProcessedOffset (0) and Lease (none) itself, fills an
// empty Mode with ModeAuto and a zero CreatedAt with now, and appends
// initial in the same step without marking any of them as a trigger. An
// existing id returns the stored session with created=false; an id of a
// deleted session returns ErrConflict.
func (s *Store) CreateSession(ctx context.Context, in store.Session, initial []store.NewEvent) (store.Session, bool, error) {
	if err := s.check(ctx); err != nil {
		return store.Session{}, false, fmt.Errorf("create session %q: %w", in.ID, err)
	}
	if err := store.CheckID(in.ID); err != nil {
		return store.Session{}, false, fmt.Errorf("create session: %w", err)
	}
	now := s.clock()

	appended := false
	defer func() {
		// Runs after the unlock below.
		if appended {
			s.notifier.Notify(store.DeliveryTopic)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, gone := s.deleted[in.ID]; gone {
		return store.Session{}, false, fmt.Errorf(
			"create session %q: the id belonged to a deleted session, choose another: %w",
			in.ID, store.ErrConflict)
	}
	if e := s.sessions[in.ID]; e != nil {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.snapshot(), false, nil
	}

	s.nextSeq++
	e := &sessionEntry{seq: s.nextSeq, customerID: in.CustomerID}
	e.s = in
	e.s.Variables = store.CloneMap(in.Variables)
	e.s.Metadata = store.CloneMap(in.Metadata)
	if e.s.Mode == "" {
		e.s.Mode = store.ModeAuto
	}
	if e.s.CreatedAt.IsZero() {
		e.s.CreatedAt = now
	}
	e.s.UpdatedAt = now
	e.s.NextOffset = 0
	e.s.TriggerOffset = -1
	e.s.ProcessedOffset = 0
	e.s.Lease = store.Lease{}
	e.s.CancelRequested = false
	e.s.Deliveries = nil
	if len(e.appendLocked(initial, now)) > 0 {
		s.deliveries.markReady(e)
		appended = true
	}

	s.sessions[in.ID] = e
	s.order = append(s.order, e)
	if e.customerID != "" {
		s.byCustomer[e.customerID] = append(s.byCustomer[e.customerID], e)
	}
	// No other goroutine can reach e yet, so reading it needs no lock.
	return e.snapshot(), true, nil
}

// GetSession returns a copy of the session, or ErrNotFound for an unknown
// or deleted id.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	if err := s.check(ctx); err != nil {
		return store.Session{}, fmt.Errorf("get session %q: %w", id, err)
	}
	e, err := s.lookup(id)
	if err != nil {
		return store.Session{}, fmt.Errorf("get session %q: %w", id, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.deleted {
		return store.Session{}, fmt.Errorf("get session %q: %w", id, store.ErrNotFound)
	}
	return e.snapshot(), nil
}

// ListSessions returns live sessions in creation order, optionally of one
// customer. The limit is clamped with [store.ClampListLimit]; a cursor not
// made by this store returns [store.ErrInvalidCursor].
func (s *Store) ListSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, string, error) {
	if err := s.check(ctx); err != nil {
		return nil, "", fmt.Errorf("list sessions: %w", err)
	}
	limit := store.ClampListLimit(f.Limit)
	after := int64(-1)
	if f.Cursor != "" {
		position, err := store.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list sessions: %w", err)
		}
		after = position
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.order
	if f.CustomerID != "" {
		list = s.byCustomer[f.CustomerID]
	}
	start := sort.Search(len(list), func(i int) bool { return list[i].seq > after })
	end := min(start+limit, len(list))
	page := make([]store.Session, 0, end-start)
	for _, e := range list[start:end] {
		// Deleting takes s.mu for writing, so no entry here is deleted.
		e.mu.Lock()
		page = append(page, e.snapshot())
		e.mu.Unlock()
	}
	next := ""
	if end < len(list) {
		next = store.EncodeCursor(list[end-1].seq)
	}
	return page, next, nil
}

// UpdateSession applies p: Mode and WebhookURL are replaced when set, and
// Variables and Metadata are merged with nil values deleting keys. It sets
// UpdatedAt and returns a copy of the result. A changed WebhookURL wakes
// event deliverers on [store.DeliveryTopic].
func (s *Store) UpdateSession(ctx context.Context, id string, p store.SessionPatch) (store.Session, error) {
	if err := s.check(ctx); err != nil {
		return store.Session{}, fmt.Errorf("update session %q: %w", id, err)
	}
	e, err := s.lookup(id)
	if err != nil {
		return store.Session{}, fmt.Errorf("update session %q: %w", id, err)
	}
	now := s.clock()

	e.mu.Lock()
	if e.deleted {
		e.mu.Unlock()
		return store.Session{}, fmt.Errorf("update session %q: %w", id, store.ErrNotFound)
	}
	if p.Mode != nil {
		e.s.Mode = *p.Mode
	}
	urlChanged := p.WebhookURL != nil && *p.WebhookURL != e.s.WebhookURL
	if p.WebhookURL != nil {
		e.s.WebhookURL = *p.WebhookURL
	}
	e.s.Variables = store.MergeMap(e.s.Variables, p.Variables)
	e.s.Metadata = store.MergeMap(e.s.Metadata, p.Metadata)
	e.s.UpdatedAt = now
	out := e.snapshot()
	if urlChanged {
		s.deliveries.markReady(e)
	}
	e.mu.Unlock()
	if urlChanged {
		s.notifier.Notify(store.DeliveryTopic)
	}
	return out, nil
}

// DeleteSession drops the session and its events and reserves its id. It
// wakes the session's waiters so they re-read and see ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("delete session %q: %w", id, err)
	}

	s.mu.Lock()
	e := s.sessions[id]
	if e == nil {
		s.mu.Unlock()
		return fmt.Errorf("delete session %q: %w", id, store.ErrNotFound)
	}
	e.mu.Lock()
	e.deleted = true
	e.events = nil
	e.s = store.Session{ID: id}
	s.setPendingLocked(e, false)
	e.mu.Unlock()

	delete(s.sessions, id)
	s.deleted[id] = struct{}{}
	s.order = removeEntry(s.order, e)
	if e.customerID != "" {
		rest := removeEntry(s.byCustomer[e.customerID], e)
		if len(rest) == 0 {
			delete(s.byCustomer, e.customerID)
		} else {
			s.byCustomer[e.customerID] = rest
		}
	}
	s.mu.Unlock()

	s.notifier.Notify(id)
	return nil
}

// removeEntry deletes e from list, which is sorted by seq.
func removeEntry(list []*sessionEntry, e *sessionEntry) []*sessionEntry {
	i := sort.Search(len(list), func(i int) bool { return list[i].seq >= e.seq })
	if i < len(list) && list[i] == e {
		return slices.Delete(list, i, i+1)
	}
	return list
}
