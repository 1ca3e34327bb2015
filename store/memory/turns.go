package memory

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"slices"
	"time"

	"github.com/agentry/agentry/store"
)

// ClaimTurn gives owner the session's turn lease for ttl when the session
// needs a turn and the lease is free or expired. The lease gets a new
// random token, so a claim that lost its lease cannot act on the next one
// even with the same owner name. The stored CancelRequested is cleared;
// the claim's Session keeps the value it had.
func (s *Store) ClaimTurn(ctx context.Context, sessionID, owner string, ttl time.Duration) (store.TurnClaim, bool, error) {
	if err := s.check(ctx); err != nil {
		return store.TurnClaim{}, false, fmt.Errorf("claim turn of session %q: %w", sessionID, err)
	}
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.TurnClaim{}, false, fmt.Errorf("claim turn of session %q: %w", sessionID, err)
	}
	e, err := s.lookup(sessionID)
	if err != nil {
		return store.TurnClaim{}, false, fmt.Errorf("claim turn of session %q: %w", sessionID, err)
	}
	now := s.clock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.deleted {
		return store.TurnClaim{}, false, fmt.Errorf("claim turn of session %q: %w", sessionID, store.ErrNotFound)
	}
	if !e.s.NeedsTurn() || e.s.Lease.Held(now) {
		return store.TurnClaim{}, false, nil
	}
	e.s.Lease = store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl)}
	claimed := e.snapshot()
	e.s.CancelRequested = false
	return store.TurnClaim{SessionID: sessionID, Lease: e.s.Lease, Session: claimed}, true, nil
}

// ExtendLease moves the lease's expiry to now+ttl, or returns ErrLeaseLost
// when the lease expired or belongs to another claim.
func (s *Store) ExtendLease(ctx context.Context, c store.TurnClaim, ttl time.Duration) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("extend turn lease of session %q: %w", c.SessionID, err)
	}
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("extend turn lease of session %q: %w", c.SessionID, err)
	}
	e, err := s.lookup(c.SessionID)
	if err != nil {
		return fmt.Errorf("extend turn lease of session %q: %w", c.SessionID, err)
	}
	now := s.clock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.deleted {
		return fmt.Errorf("extend turn lease of session %q: %w", c.SessionID, store.ErrNotFound)
	}
	if !ownsLease(e.s.Lease, c.Lease) || !e.s.Lease.Held(now) {
		return fmt.Errorf("extend turn lease of session %q for owner %q: %w",
			c.SessionID, c.Lease.Owner, store.ErrLeaseLost)
	}
	e.s.Lease.Expires = now.Add(ttl)
	return nil
}

// CompleteTurn appends events, raises ProcessedOffset to processed, frees
// the lease and clears CancelRequested under the session's lock, then
// wakes the session's waiters. It returns ErrLeaseLost, changing nothing,
// when the lease expired or belongs to another claim. A processed offset
// past the end of the log before this append is rejected, because no
// trigger can be there.
func (s *Store) CompleteTurn(ctx context.Context, c store.TurnClaim, events []store.NewEvent, processed int64) ([]store.Event, error) {
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("complete turn of session %q: %w", c.SessionID, err)
	}
	e, err := s.lookup(c.SessionID)
	if err != nil {
		return nil, fmt.Errorf("complete turn of session %q: %w", c.SessionID, err)
	}
	now := s.clock()

	e.mu.Lock()
	if e.deleted {
		e.mu.Unlock()
		return nil, fmt.Errorf("complete turn of session %q: %w", c.SessionID, store.ErrNotFound)
	}
	if !ownsLease(e.s.Lease, c.Lease) || !e.s.Lease.Held(now) {
		e.mu.Unlock()
		return nil, fmt.Errorf("complete turn of session %q for owner %q: %w",
			c.SessionID, c.Lease.Owner, store.ErrLeaseLost)
	}
	if err := store.CheckProcessedOffset(processed, e.s.NextOffset); err != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("complete turn of session %q: %w", c.SessionID, err)
	}
	added := e.appendLocked(events, now)
	e.s.ProcessedOffset = max(e.s.ProcessedOffset, processed)
	e.s.Lease = store.Lease{}
	e.s.CancelRequested = false
	s.setPendingLocked(e, e.s.NeedsTurn())
	if len(added) > 0 {
		s.deliveries.markReady(e)
	}
	e.mu.Unlock()

	s.notifier.Notify(c.SessionID)
	if len(added) > 0 {
		s.notifier.Notify(store.DeliveryTopic)
	}
	return copyEvents(added), nil
}

// ReleaseTurn frees the lease and clears CancelRequested when c still owns
// the lease, even after expiry, so the session can be claimed at once. A
// lease that another claim took is left alone and nil is returned.
func (s *Store) ReleaseTurn(ctx context.Context, c store.TurnClaim) error {
	if err := s.check(ctx); err != nil {
		return fmt.Errorf("release turn of session %q: %w", c.SessionID, err)
	}
	e, err := s.lookup(c.SessionID)
	if err != nil {
		return fmt.Errorf("release turn of session %q: %w", c.SessionID, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.deleted {
		return fmt.Errorf("release turn of session %q: %w", c.SessionID, store.ErrNotFound)
	}
	if ownsLease(e.s.Lease, c.Lease) {
		e.s.Lease = store.Lease{}
		e.s.CancelRequested = false
	}
	return nil
}

// RequestCancel sets CancelRequested and wakes the session's waiters when
// the turn lease is held and unexpired, and reports whether it did.
func (s *Store) RequestCancel(ctx context.Context, sessionID string) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, fmt.Errorf("request cancel of session %q: %w", sessionID, err)
	}
	e, err := s.lookup(sessionID)
	if err != nil {
		return false, fmt.Errorf("request cancel of session %q: %w", sessionID, err)
	}
	now := s.clock()

	e.mu.Lock()
	if e.deleted {
		e.mu.Unlock()
		return false, fmt.Errorf("request cancel of session %q: %w", sessionID, store.ErrNotFound)
	}
	if !e.s.Lease.Held(now) {
		e.mu.Unlock()
		return false, nil
	}
	e.s.CancelRequested = true
	e.mu.Unlock()

	s.notifier.Notify(sessionID)
	return true, nil
}

// PendingTurns returns the ids of up to limit sessions that need a turn
// and whose lease is free or expired at now, oldest session first. The
// limit is clamped with [store.ClampListLimit].
func (s *Store) PendingTurns(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, fmt.Errorf("list pending turns: %w", err)
	}
	limit = store.ClampListLimit(limit)

	s.pendingMu.Lock()
	candidates := make([]*sessionEntry, 0, len(s.pending))
	for e := range s.pending {
		candidates = append(candidates, e)
	}
	s.pendingMu.Unlock()
	slices.SortFunc(candidates, func(a, b *sessionEntry) int { return cmp.Compare(a.seq, b.seq) })

	ids := make([]string, 0, min(limit, len(candidates)))
	for _, e := range candidates {
		if len(ids) == limit {
			break
		}
		// The session may have changed since the pending set was read.
		e.mu.Lock()
		if !e.deleted && e.s.NeedsTurn() && !e.s.Lease.Held(now) {
			ids = append(ids, e.s.ID)
		}
		e.mu.Unlock()
	}
	return ids, nil
}

// setPendingLocked adds e to or removes it from the pending set. The
// caller holds e.mu.
func (s *Store) setPendingLocked(e *sessionEntry, needsTurn bool) {
	s.pendingMu.Lock()
	if needsTurn {
		s.pending[e] = struct{}{}
	} else {
		delete(s.pending, e)
	}
	s.pendingMu.Unlock()
}

// ownsLease reports whether claim names the stored lease. The token is
// compared in constant time because it is the claim's proof of ownership.
func ownsLease(stored, claim store.Lease) bool {
	if stored.Owner == "" || stored.Owner != claim.Owner {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(stored.Token), []byte(claim.Token)) == 1
}
