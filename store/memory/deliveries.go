package memory

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"time"

	"github.com/agentry/agentry/store"
)

// ClaimDelivery leases the delivery of one session to sink that has work
// at now, taking sessions in the order they gained work. The first claim
// for a sink name makes every live session a candidate. Later claims look
// only at sessions that appended events, changed their webhook URL, were
// resumed or released, or whose retry or lease expiry is due. Each claim
// costs O(1) per candidate it checks, plus O(log n) per due timer.
func (s *Store) ClaimDelivery(ctx context.Context, sink store.DeliverySink, owner string, now time.Time, ttl time.Duration) (store.DeliveryClaim, bool, error) {
	if err := s.check(ctx); err != nil {
		return store.DeliveryClaim{}, false, fmt.Errorf("claim delivery to sink %q: %w", sink.Name, err)
	}
	if err := sink.Validate(); err != nil {
		return store.DeliveryClaim{}, false, fmt.Errorf("claim delivery: %w", err)
	}
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.DeliveryClaim{}, false, fmt.Errorf("claim delivery to sink %q: %w", sink.Name, err)
	}
	now = now.UTC()
	if !s.deliveries.has(sink.Name) {
		s.mu.RLock()
		s.deliveries.addSink(sink.Name, s.order)
		s.mu.RUnlock()
	}
	for {
		e := s.deliveries.next(sink.Name, now)
		if e == nil {
			return store.DeliveryClaim{}, false, nil
		}
		if c, ok := s.tryClaimDelivery(e, sink, owner, now, ttl); ok {
			return c, true, nil
		}
	}
}

// tryClaimDelivery claims e's delivery to sink when it has work at now.
// Otherwise it schedules e to be checked again when work may become due,
// or drops it until an event marks it ready.
func (s *Store) tryClaimDelivery(e *sessionEntry, sink store.DeliverySink, owner string, now time.Time, ttl time.Duration) (store.DeliveryClaim, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.deleted {
		return store.DeliveryClaim{}, false
	}
	d := e.delivery(sink.Name)
	switch {
	case d.Lease.Held(now):
		s.deliveries.markAt(sink.Name, e, d.Lease.Expires)
		return store.DeliveryClaim{}, false
	case sink.RequireWebhookURL && e.s.WebhookURL == "":
		return store.DeliveryClaim{}, false
	case d.State == store.DeliveryRetrying && d.NextAttemptAt.After(now):
		s.deliveries.markAt(sink.Name, e, d.NextAttemptAt)
		return store.DeliveryClaim{}, false
	case d.State == store.DeliveryRetrying:
	case d.State == store.DeliveryActive && d.Cursor < e.s.NextOffset:
	default:
		// Caught up, paused or disabled.
		return store.DeliveryClaim{}, false
	}
	d.Lease = store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl)}
	e.setDelivery(sink.Name, d)
	// Found again at expiry if the owner never releases the lease.
	s.deliveries.markAt(sink.Name, e, d.Lease.Expires)
	return store.DeliveryClaim{Sink: sink.Name, Session: e.snapshot(), Delivery: d}, true
}

// ExtendDeliveryLease moves the claim's lease expiry to now+ttl.
func (s *Store) ExtendDeliveryLease(ctx context.Context, c store.DeliveryClaim, ttl time.Duration) error {
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("extend delivery lease of session %q: %w", c.Session.ID, err)
	}
	e, now, err := s.lockDelivery(ctx, "extend delivery lease", c)
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	d := e.delivery(c.Sink)
	d.Lease.Expires = now.Add(ttl)
	e.setDelivery(c.Sink, d)
	s.deliveries.markAt(c.Sink, e, d.Lease.Expires)
	return nil
}

// RecordDelivery stores the outcome of the attempt at o.Offset. A
// delivered event moves the cursor one forward and keeps the lease; a
// failure releases it. A retrying outcome makes the session a candidate
// again at NextAttemptAt.
func (s *Store) RecordDelivery(ctx context.Context, c store.DeliveryClaim, o store.DeliveryOutcome) (store.Delivery, error) {
	if err := o.Validate(); err != nil {
		return store.Delivery{}, fmt.Errorf("record delivery of session %q: %w", c.Session.ID, err)
	}
	e, now, err := s.lockDelivery(ctx, "record delivery", c)
	if err != nil {
		return store.Delivery{}, err
	}
	defer e.mu.Unlock()

	d := e.delivery(c.Sink)
	if o.Offset != d.Cursor {
		return store.Delivery{}, fmt.Errorf("record delivery of session %q to sink %q: offset %d is not the cursor %d: %w",
			c.Session.ID, c.Sink, o.Offset, d.Cursor, store.ErrConflict)
	}
	if d.Cursor >= e.s.NextOffset {
		return store.Delivery{}, fmt.Errorf("record delivery of session %q to sink %q: no event at offset %d: %w",
			c.Session.ID, c.Sink, o.Offset, store.ErrConflict)
	}

	d.LastStatus = o.LastStatus
	d.LastError = o.LastError
	d.LastAttemptAt = now
	if o.Delivered {
		d.Cursor++
		d.Attempts = 0
		d.State = store.DeliveryActive
		d.NextAttemptAt = time.Time{}
		d.LastError = ""
	} else {
		d.Attempts++
		d.State = o.State
		d.NextAttemptAt = time.Time{}
		d.Lease = store.Lease{}
		if o.State == store.DeliveryRetrying {
			d.NextAttemptAt = o.NextAttemptAt.UTC()
			s.deliveries.markAt(c.Sink, e, d.NextAttemptAt)
		}
	}
	e.setDelivery(c.Sink, d)
	return d, nil
}

// ReleaseDelivery frees the lease when c still holds it, even after
// expiry, and makes the session a candidate again.
func (s *Store) ReleaseDelivery(ctx context.Context, c store.DeliveryClaim) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("release delivery of session %q: %w", c.Session.ID, err)
	}
	e, err := s.lookup(c.Session.ID)
	if err != nil {
		return fmt.Errorf("release delivery of session %q: %w", c.Session.ID, err)
	}
	e.mu.Lock()
	if e.deleted {
		e.mu.Unlock()
		return fmt.Errorf("release delivery of session %q: %w", c.Session.ID, store.ErrNotFound)
	}
	d := e.delivery(c.Sink)
	if ownsLease(d.Lease, c.Delivery.Lease) {
		d.Lease = store.Lease{}
		e.setDelivery(c.Sink, d)
		s.deliveries.markReady(e)
	}
	e.mu.Unlock()
	s.notifier.Notify(store.DeliveryTopic)
	return nil
}

// ResumeDelivery makes the session's deliveries to sink, or to every sink
// with an entry when sink is "", active with Attempts reset and the lease
// freed, then wakes deliverers.
func (s *Store) ResumeDelivery(ctx context.Context, sessionID, sink string) (store.Session, error) {
	if err := s.check(ctx); err != nil {
		return store.Session{}, fmt.Errorf("resume delivery of session %q: %w", sessionID, err)
	}
	e, err := s.lookup(sessionID)
	if err != nil {
		return store.Session{}, fmt.Errorf("resume delivery of session %q: %w", sessionID, err)
	}
	e.mu.Lock()
	if e.deleted {
		e.mu.Unlock()
		return store.Session{}, fmt.Errorf("resume delivery of session %q: %w", sessionID, store.ErrNotFound)
	}
	for name, d := range e.s.Deliveries {
		if sink != "" && name != sink {
			continue
		}
		d.State = store.DeliveryActive
		d.Attempts = 0
		d.NextAttemptAt = time.Time{}
		d.Lease = store.Lease{}
		e.s.Deliveries[name] = d
	}
	s.deliveries.markReady(e)
	out := e.snapshot()
	e.mu.Unlock()
	s.notifier.Notify(store.DeliveryTopic)
	return out, nil
}

// lockDelivery returns c's session entry locked, with the store's time,
// when c still holds its lease. Otherwise it returns ErrNotFound or
// ErrLeaseLost and leaves the entry unlocked.
func (s *Store) lockDelivery(ctx context.Context, op string, c store.DeliveryClaim) (*sessionEntry, time.Time, error) {
	if err := s.check(ctx); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s of session %q: %w", op, c.Session.ID, err)
	}
	e, err := s.lookup(c.Session.ID)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s of session %q: %w", op, c.Session.ID, err)
	}
	now := s.clock()
	e.mu.Lock()
	if e.deleted {
		e.mu.Unlock()
		return nil, time.Time{}, fmt.Errorf("%s of session %q: %w", op, c.Session.ID, store.ErrNotFound)
	}
	d := e.delivery(c.Sink)
	if !ownsLease(d.Lease, c.Delivery.Lease) || !d.Lease.Held(now) {
		e.mu.Unlock()
		return nil, time.Time{}, fmt.Errorf("%s of session %q to sink %q for owner %q: %w",
			op, c.Session.ID, c.Sink, c.Delivery.Lease.Owner, store.ErrLeaseLost)
	}
	return e, now, nil
}

// delivery returns the session's delivery to sink; a sink without an
// entry is active at cursor 0. The caller holds e.mu.
func (e *sessionEntry) delivery(sink string) store.Delivery {
	d, ok := e.s.Deliveries[sink]
	if !ok {
		d.State = store.DeliveryActive
	}
	return d
}

// setDelivery stores the session's delivery to sink. The caller holds
// e.mu.
func (e *sessionEntry) setDelivery(sink string, d store.Delivery) {
	if e.s.Deliveries == nil {
		e.s.Deliveries = make(map[string]store.Delivery)
	}
	e.s.Deliveries[sink] = d
}

// cloneDeliveries returns a copy of m, or nil for an empty map.
func cloneDeliveries(m map[string]store.Delivery) map[string]store.Delivery {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
