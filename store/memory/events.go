package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentry/agentry/store"
)

// Append adds events to the session's log under the session's lock, so
// offsets are gapless under concurrent appends, then wakes the session's
// waiters and the event deliverers ([store.DeliveryTopic]). Payloads are
// copied in and the returned events own their own copies. With
// opts.Trigger the last event becomes the session's TriggerOffset. With
// opts.RequireIdle the append fails with ErrTurnBusy while the session
// needs a turn or its lease is held. Appending no events changes nothing
// and wakes nobody.
func (s *Store) Append(ctx context.Context, sessionID string, events []store.NewEvent, opts store.AppendOptions) ([]store.Event, error) {
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("append to session %q: %w", sessionID, err)
	}
	e, err := s.lookup(sessionID)
	if err != nil {
		return nil, fmt.Errorf("append to session %q: %w", sessionID, err)
	}
	now := s.clock()

	e.mu.Lock()
	if e.deleted {
		e.mu.Unlock()
		return nil, fmt.Errorf("append to session %q: %w", sessionID, store.ErrNotFound)
	}
	if opts.RequireIdle && (e.s.NeedsTurn() || e.s.Lease.Held(now)) {
		e.mu.Unlock()
		return nil, fmt.Errorf("append to session %q: wait for the running turn to finish: %w",
			sessionID, store.ErrTurnBusy)
	}
	added := e.appendLocked(events, now)
	if opts.Trigger && len(added) > 0 {
		e.s.TriggerOffset = added[len(added)-1].Offset
		s.setPendingLocked(e, e.s.NeedsTurn())
	}
	if len(added) > 0 {
		s.deliveries.markReady(e)
	}
	e.mu.Unlock()

	if len(added) == 0 {
		return []store.Event{}, nil
	}
	s.notifier.Notify(sessionID)
	s.notifier.Notify(store.DeliveryTopic)
	return copyEvents(added), nil
}

// ListEvents returns copies of up to limit events with offset >= from. A
// negative from reads from 0; a limit of 0 or less returns every event from
// from to the end of the log.
func (s *Store) ListEvents(ctx context.Context, sessionID string, from int64, limit int) ([]store.Event, error) {
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("list events of session %q: %w", sessionID, err)
	}
	e, err := s.lookup(sessionID)
	if err != nil {
		return nil, fmt.Errorf("list events of session %q: %w", sessionID, err)
	}
	from = max(from, 0)

	e.mu.Lock()
	if e.deleted {
		e.mu.Unlock()
		return nil, fmt.Errorf("list events of session %q: %w", sessionID, store.ErrNotFound)
	}
	var view []store.Event
	if n := int64(len(e.events)); from < n {
		end := n
		if limit > 0 {
			end = min(n, from+int64(limit))
		}
		view = e.events[from:end]
	}
	e.mu.Unlock()

	// Stored events are immutable, so view is safe to copy without the lock.
	return copyEvents(view), nil
}

// appendLocked adds events at the end of the log and returns the stored
// events, which the caller must not hand out. Their payloads are copied
// into one allocation; a nil payload stays nil. The caller holds e.mu or is
// the only goroutine that can reach e.
func (e *sessionEntry) appendLocked(events []store.NewEvent, now time.Time) []store.Event {
	if len(events) == 0 {
		return nil
	}
	total := 0
	for _, ne := range events {
		total += len(ne.Payload)
	}
	buf := make([]byte, 0, total)
	first := len(e.events)
	for i, ne := range events {
		var payload json.RawMessage
		if ne.Payload != nil {
			start := len(buf)
			buf = append(buf, ne.Payload...)
			payload = buf[start:len(buf):len(buf)]
		}
		e.events = append(e.events, store.Event{
			SessionID: e.s.ID,
			Offset:    int64(first + i),
			Kind:      ne.Kind,
			TurnID:    ne.TurnID,
			CreatedAt: now,
			Payload:   payload,
		})
	}
	e.s.NextOffset = int64(len(e.events))
	// Cap the result so a caller appending to it cannot write into the log.
	return e.events[first:len(e.events):len(e.events)]
}

// copyEvents returns copies of events whose payloads share no memory with
// the originals; the payloads are copied into one allocation.
func copyEvents(events []store.Event) []store.Event {
	out := make([]store.Event, len(events))
	total := 0
	for _, ev := range events {
		total += len(ev.Payload)
	}
	buf := make([]byte, 0, total)
	for i, ev := range events {
		out[i] = ev
		if ev.Payload == nil {
			continue
		}
		start := len(buf)
		buf = append(buf, ev.Payload...)
		out[i].Payload = json.RawMessage(buf[start:len(buf):len(buf)])
	}
	return out
}
