package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"time"

	"github.com/agentry/agentry/store"
)

// ClaimTurn gives owner the session's turn lease for ttl when the session
// needs a turn and the lease is free or expired. The lease gets a new
// random token, so a claim that lost its lease cannot act on the next one
// even with the same owner name. The stored CancelRequested is cleared;
// the claim's Session keeps the value it had.
func (s *Store) ClaimTurn(ctx context.Context, sessionID, owner string, ttl time.Duration) (store.TurnClaim, bool, error) {
	if err := store.CheckClaim(owner, ttl); err != nil {
		return store.TurnClaim{}, false, fmt.Errorf("claim turn of session %q: %w", sessionID, err)
	}
	now := s.clock()
	var claim store.TurnClaim
	ok := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, err := loadFullSession(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		if !row.s.NeedsTurn() || row.s.Lease.Held(now) {
			return nil
		}
		lease := store.Lease{Owner: owner, Token: rand.Text(), Expires: now.Add(ttl).Truncate(time.Microsecond)}
		if err := setTurnLease(ctx, tx, row.seq, lease); err != nil {
			return err
		}
		if row.s.CancelRequested {
			if err := clearCancel(ctx, tx, row.seq); err != nil {
				return err
			}
		}
		row.s.Lease = lease
		claim = store.TurnClaim{SessionID: sessionID, Lease: lease, Session: row.s}
		ok = true
		return nil
	})
	if err != nil {
		return store.TurnClaim{}, false, fmt.Errorf("claim turn of session %q: %w", sessionID, err)
	}
	return claim, ok, nil
}

func clearCancel(ctx context.Context, tx *sql.Tx, seq int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE sessions SET cancel_requested = 0 WHERE seq = ?`, seq)
	return err
}

func setTurnLease(ctx context.Context, tx *sql.Tx, seq int64, l store.Lease) error {
	_, err := tx.ExecContext(ctx, `UPDATE sessions SET lease_owner = ?, lease_token = ?, lease_expires = ? WHERE seq = ?`,
		l.Owner, l.Token, dbTime(l.Expires), seq)
	return err
}

// heldTurn returns the row of the session c claims when c's lease is its
// current, unexpired turn lease, or ErrNotFound or ErrLeaseLost.
func heldTurn(ctx context.Context, tx *sql.Tx, c store.TurnClaim, now time.Time) (sessionRow, error) {
	row, err := loadSession(ctx, tx, c.SessionID)
	if err != nil {
		return sessionRow{}, err
	}
	if !ownsLease(row.s.Lease, c.Lease) || !row.s.Lease.Held(now) {
		return sessionRow{}, fmt.Errorf("owner %q: %w", c.Lease.Owner, store.ErrLeaseLost)
	}
	return row, nil
}

// ExtendLease moves the lease's expiry to now+ttl, or returns ErrLeaseLost
// when the lease expired or belongs to another claim.
func (s *Store) ExtendLease(ctx context.Context, c store.TurnClaim, ttl time.Duration) error {
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("extend turn lease of session %q: %w", c.SessionID, err)
	}
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, err := heldTurn(ctx, tx, c, now)
		if err != nil {
			return err
		}
		row.s.Lease.Expires = now.Add(ttl).Truncate(time.Microsecond)
		return setTurnLease(ctx, tx, row.seq, row.s.Lease)
	})
	if err != nil {
		return fmt.Errorf("extend turn lease of session %q: %w", c.SessionID, err)
	}
	return nil
}

// CompleteTurn appends events, raises ProcessedOffset to processed, frees
// the lease and clears CancelRequested in one transaction, then wakes the
// session's waiters.
// It returns ErrLeaseLost, changing nothing, when the lease expired or
// belongs to another claim. A processed offset past the end of the log
// before this append is rejected, because no trigger can be there.
func (s *Store) CompleteTurn(ctx context.Context, c store.TurnClaim, events []store.NewEvent, processed int64) ([]store.Event, error) {
	now := s.clock()
	var added []store.Event
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, err := heldTurn(ctx, tx, c, now)
		if err != nil {
			return err
		}
		if err := store.CheckProcessedOffset(processed, row.s.NextOffset); err != nil {
			return err
		}
		added, err = appendEvents(ctx, tx, &row, events, now)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET processed_offset = max(processed_offset, ?),
			lease_owner = '', lease_token = '', lease_expires = NULL, cancel_requested = 0 WHERE seq = ?`,
			processed, row.seq)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("complete turn of session %q: %w", c.SessionID, err)
	}
	s.notifier.Notify(c.SessionID)
	if len(added) > 0 {
		s.notifier.Notify(store.DeliveryTopic)
	}
	if added == nil {
		added = []store.Event{}
	}
	return added, nil
}

// ReleaseTurn frees the lease and clears CancelRequested when c still owns
// the lease, even after expiry, so the session can be claimed at once. A
// lease that another claim took is left alone and nil is returned.
func (s *Store) ReleaseTurn(ctx context.Context, c store.TurnClaim) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, err := loadSession(ctx, tx, c.SessionID)
		if err != nil {
			return err
		}
		if !ownsLease(row.s.Lease, c.Lease) {
			return nil
		}
		if err := setTurnLease(ctx, tx, row.seq, store.Lease{}); err != nil {
			return err
		}
		return clearCancel(ctx, tx, row.seq)
	})
	if err != nil {
		return fmt.Errorf("release turn of session %q: %w", c.SessionID, err)
	}
	return nil
}

// RequestCancel sets CancelRequested and wakes the session's waiters when
// the turn lease is held and unexpired, and reports whether it did. The
// notifier is in-process, which is enough because one process at a time
// opens an SQLite store.
func (s *Store) RequestCancel(ctx context.Context, sessionID string) (bool, error) {
	now := s.clock()
	requested := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		row, err := loadSession(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		if !row.s.Lease.Held(now) {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET cancel_requested = 1 WHERE seq = ?`, row.seq)
		requested = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("request cancel of session %q: %w", sessionID, err)
	}
	if requested {
		s.notifier.Notify(sessionID)
	}
	return requested, nil
}

// PendingTurns returns the ids of up to limit sessions that need a turn
// and whose lease is free or expired at now, oldest session first. The
// limit is clamped with [store.ClampListLimit]. The query reads the
// sessions_needing_turn partial index, so it costs in the number of
// sessions that need a turn, not in all sessions.
func (s *Store) PendingTurns(ctx context.Context, now time.Time, limit int) ([]string, error) {
	limit = store.ClampListLimit(limit)
	ids := []string{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM sessions INDEXED BY sessions_needing_turn
			WHERE trigger_offset >= processed_offset AND (lease_owner = '' OR lease_expires <= ?)
			ORDER BY seq LIMIT ?`, now.UnixMicro(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list pending turns: %w", err)
	}
	return ids, nil
}
