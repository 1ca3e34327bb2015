package memory

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

func TestClaimTurnExclusive(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s-1")
	mustTrigger(t, s, "s-1")

	const racers = 100
	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, racers)
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			_, ok, err := s.ClaimTurn(ctx, "s-1", fmt.Sprintf("worker-%d", i), time.Minute)
			if err != nil {
				errs <- err
				return
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("ClaimTurn: %v", err)
	}
	if got := wins.Load(); got != 1 {
		t.Errorf("%d claims succeeded, want exactly 1", got)
	}
}

func TestClaimTurnConditions(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s-1")

	if _, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute); err != nil || ok {
		t.Errorf("ClaimTurn(no trigger) = %v, %v; want false, nil", ok, err)
	}
	mustTrigger(t, s, "s-1")
	first, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimTurn = %v, %v; want true, nil", ok, err)
	}
	if first.Lease.Token == "" {
		t.Errorf("claim has an empty token")
	}
	if first.Session.Lease != first.Lease {
		t.Errorf("claim's Session.Lease = %+v, want the claim's lease %+v", first.Session.Lease, first.Lease)
	}
	if _, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute); err != nil || ok {
		t.Errorf("ClaimTurn(held by same owner) = %v, %v; want false, nil", ok, err)
	}

	tests := []struct {
		name  string
		id    string
		owner string
		ttl   time.Duration
		want  error
	}{
		{"unknown session", "nobody", "w1", time.Minute, store.ErrNotFound},
		{"empty owner", "s-1", "", time.Minute, errMissingOwner},
		{"zero ttl", "s-1", "w1", 0, errInvalidTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.ClaimTurn(ctx, tt.id, tt.owner, tt.ttl); !errors.Is(err, tt.want) {
				t.Errorf("ClaimTurn error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	mustCreate(t, s, "s-1")
	trigger := mustTrigger(t, s, "s-1")

	old, ok, err := s.ClaimTurn(ctx, "s-1", "w1", 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("ClaimTurn = %v, %v", ok, err)
	}
	clock.Advance(5 * time.Second)
	if err := s.ExtendLease(ctx, old, 10*time.Second); err != nil {
		t.Fatalf("ExtendLease before expiry: %v", err)
	}
	clock.Advance(9 * time.Second)
	if _, ok, _ := s.ClaimTurn(ctx, "s-1", "w2", 10*time.Second); ok {
		t.Fatalf("w2 claimed a lease that was extended and is not yet expired")
	}

	clock.Advance(2 * time.Second)
	if err := s.ExtendLease(ctx, old, 10*time.Second); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ExtendLease after expiry error = %v, want ErrLeaseLost", err)
	}
	ids, err := s.PendingTurns(ctx, clock.Now(), 10)
	if err != nil {
		t.Fatalf("PendingTurns: %v", err)
	}
	if !reflect.DeepEqual(ids, []string{"s-1"}) {
		t.Errorf("PendingTurns after expiry = %v, want [s-1]", ids)
	}

	taken, ok, err := s.ClaimTurn(ctx, "s-1", "w2", 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("ClaimTurn after expiry = %v, %v; want true, nil", ok, err)
	}
	if taken.Lease.Token == old.Lease.Token {
		t.Errorf("new claim reused the expired claim's token")
	}
	if err := s.ExtendLease(ctx, old, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ExtendLease by the old owner error = %v, want ErrLeaseLost", err)
	}
	if err := s.ReleaseTurn(ctx, old); err != nil {
		t.Errorf("ReleaseTurn of a lost lease error = %v, want nil", err)
	}
	sess, err := s.GetSession(ctx, "s-1")
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if sess.Lease != taken.Lease {
		t.Errorf("the old owner's ReleaseTurn changed the lease to %+v, want %+v", sess.Lease, taken.Lease)
	}
	if _, err := s.CompleteTurn(ctx, taken, nil, trigger.Offset+1); err != nil {
		t.Errorf("CompleteTurn by the new owner: %v", err)
	}
}

func TestCompleteTurnLostLease(t *testing.T) {
	tests := []struct {
		name string
		lose func(t *testing.T, s *Store, clock *fakeClock, c store.TurnClaim) store.TurnClaim
	}{
		{
			name: "expired",
			lose: func(t *testing.T, s *Store, clock *fakeClock, c store.TurnClaim) store.TurnClaim {
				clock.Advance(2 * time.Minute)
				return c
			},
		},
		{
			name: "taken over",
			lose: func(t *testing.T, s *Store, clock *fakeClock, c store.TurnClaim) store.TurnClaim {
				clock.Advance(2 * time.Minute)
				if _, ok, err := s.ClaimTurn(context.Background(), "s-1", "w2", time.Minute); err != nil || !ok {
					t.Fatalf("ClaimTurn by w2 = %v, %v", ok, err)
				}
				return c
			},
		},
		{
			name: "wrong token",
			lose: func(t *testing.T, s *Store, clock *fakeClock, c store.TurnClaim) store.TurnClaim {
				c.Lease.Token = "forged"
				return c
			},
		},
		{
			name: "released",
			lose: func(t *testing.T, s *Store, clock *fakeClock, c store.TurnClaim) store.TurnClaim {
				if err := s.ReleaseTurn(context.Background(), c); err != nil {
					t.Fatalf("ReleaseTurn: %v", err)
				}
				return c
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := New(WithClock(clock.Now))
			mustCreate(t, s, "s-1")
			trigger := mustTrigger(t, s, "s-1")
			claim, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute)
			if err != nil || !ok {
				t.Fatalf("ClaimTurn = %v, %v", ok, err)
			}
			claim = tt.lose(t, s, clock, claim)

			reply := []store.NewEvent{{Kind: "agent_message", TurnID: "trn_1"}}
			evs, err := s.CompleteTurn(ctx, claim, reply, trigger.Offset+1)
			if !errors.Is(err, store.ErrLeaseLost) {
				t.Fatalf("CompleteTurn error = %v, want ErrLeaseLost", err)
			}
			if len(evs) != 0 {
				t.Errorf("CompleteTurn returned %d events with a lost lease", len(evs))
			}
			sess, err := s.GetSession(ctx, "s-1")
			if err != nil {
				t.Fatalf("GetSession: %v", err)
			}
			if sess.NextOffset != trigger.Offset+1 {
				t.Errorf("NextOffset = %d, want %d: a lost lease appended events",
					sess.NextOffset, trigger.Offset+1)
			}
			if sess.ProcessedOffset != 0 {
				t.Errorf("ProcessedOffset = %d, want 0: a lost lease moved it", sess.ProcessedOffset)
			}
		})
	}
}

func TestCompleteTurn(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s-1")
	trigger := mustTrigger(t, s, "s-1")
	claim, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimTurn = %v, %v", ok, err)
	}
	// A message arriving mid-turn must still need its own turn afterwards.
	late := mustTrigger(t, s, "s-1")

	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	reply := []store.NewEvent{{Kind: "agent_message", TurnID: "trn_1"}, {Kind: "status", TurnID: "trn_1"}}
	evs, err := s.CompleteTurn(ctx, claim, reply, trigger.Offset+1)
	if err != nil {
		t.Fatalf("CompleteTurn: %v", err)
	}
	if len(evs) != 2 || evs[0].Offset != late.Offset+1 || evs[1].Offset != late.Offset+2 {
		t.Errorf("CompleteTurn events = %+v, want offsets %d and %d", evs, late.Offset+1, late.Offset+2)
	}
	select {
	case <-wake:
	case <-time.After(5 * time.Second):
		t.Errorf("CompleteTurn woke no subscriber within 5 s")
	}

	sess, err := s.GetSession(ctx, "s-1")
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if sess.Lease != (store.Lease{}) {
		t.Errorf("Lease = %+v after CompleteTurn, want none", sess.Lease)
	}
	if sess.ProcessedOffset != trigger.Offset+1 {
		t.Errorf("ProcessedOffset = %d, want %d", sess.ProcessedOffset, trigger.Offset+1)
	}
	if !sess.NeedsTurn() {
		t.Errorf("NeedsTurn = false, but the message at offset %d was not answered", late.Offset)
	}

	second, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("second ClaimTurn = %v, %v", ok, err)
	}
	if _, err := s.CompleteTurn(ctx, second, nil, 0); err != nil {
		t.Fatalf("CompleteTurn with a lower processed offset: %v", err)
	}
	sess, err = s.GetSession(ctx, "s-1")
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if sess.ProcessedOffset != trigger.Offset+1 {
		t.Errorf("ProcessedOffset = %d after a lower value, want it kept at %d",
			sess.ProcessedOffset, trigger.Offset+1)
	}

	third, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("third ClaimTurn = %v, %v", ok, err)
	}
	if _, err := s.CompleteTurn(ctx, third, nil, 1000); err == nil {
		t.Errorf("CompleteTurn with processed past the log: error = nil, want an error")
	}
}

func TestPendingTurns(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(WithClock(clock.Now))
	for _, id := range []string{"s-a", "s-b", "s-c", "s-d", "s-e"} {
		mustCreate(t, s, id)
	}
	for _, id := range []string{"s-a", "s-b", "s-c", "s-e"} {
		mustTrigger(t, s, id)
	}
	// s-b is claimed, s-c has a completed turn, s-e is deleted and s-d
	// has no trigger.
	if _, ok, err := s.ClaimTurn(ctx, "s-b", "w1", time.Minute); err != nil || !ok {
		t.Fatalf("ClaimTurn(s-b) = %v, %v", ok, err)
	}
	claim, ok, err := s.ClaimTurn(ctx, "s-c", "w1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimTurn(s-c) = %v, %v", ok, err)
	}
	if _, err := s.CompleteTurn(ctx, claim, nil, claim.Session.TriggerOffset+1); err != nil {
		t.Fatalf("CompleteTurn(s-c): %v", err)
	}
	if err := s.DeleteSession(ctx, "s-e"); err != nil {
		t.Fatalf("DeleteSession(s-e): %v", err)
	}

	tests := []struct {
		name  string
		after time.Duration
		limit int
		want  []string
	}{
		{"lease held", 0, 10, []string{"s-a"}},
		{"lease expired", 2 * time.Minute, 10, []string{"s-a", "s-b"}},
		{"limited", 2 * time.Minute, 1, []string{"s-a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := s.PendingTurns(ctx, clock.Now().Add(tt.after), tt.limit)
			if err != nil {
				t.Fatalf("PendingTurns: %v", err)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("PendingTurns = %v, want %v", ids, tt.want)
			}
		})
	}
}
