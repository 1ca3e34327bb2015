package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// claimRacers is how many goroutines race for one lease.
const claimRacers = 16

func (h *harness) turnChecks() []check {
	return []check{
		{"ClaimConditions", h.testClaimTurnConditions},
		{"ClaimExclusive", h.testClaimTurnExclusive},
		{"LeaseExpiry", h.testTurnLeaseExpiry},
		{"Complete", h.testCompleteTurn},
		{"LostLease", h.testCompleteTurnLostLease},
		{"CompletePastLog", h.testCompleteTurnPastLog},
		{"Release", h.testReleaseTurn},
		{"Pending", h.testPendingTurns},
		{"RequestCancelNoLease", h.testRequestCancelNoLease},
		{"RequestCancelHeld", h.testRequestCancelHeld},
		{"RequestCancelRelease", h.testRequestCancelRelease},
		{"RequestCancelExpired", h.testRequestCancelExpired},
	}
}

func (h *harness) testClaimTurnConditions(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustCreate(t, s, "s-1")

	if _, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute); err != nil || ok {
		t.Errorf("ClaimTurn(no trigger) = %v, %v; want false, nil", ok, err)
	}
	mustTrigger(t, s, "s-1")
	first := mustClaimTurn(t, s, "s-1", "w1", time.Minute)
	if first.SessionID != "s-1" {
		t.Errorf("claim SessionID = %q, want s-1", first.SessionID)
	}
	if first.Lease.Owner != "w1" || first.Lease.Token == "" {
		t.Errorf("claim lease = %+v, want owner w1 and a token", first.Lease)
	}
	if want := clock.Now().Add(time.Minute); !first.Lease.Expires.Equal(want) {
		t.Errorf("claim lease expires %v, want %v", first.Lease.Expires, want)
	}
	if !sameLease(first.Session.Lease, first.Lease) {
		t.Errorf("claim's Session.Lease = %+v, want the claim's lease %+v", first.Session.Lease, first.Lease)
	}
	if first.Session.ID != "s-1" || !first.Session.NeedsTurn() {
		t.Errorf("claim's Session = id %q needs turn %v, want s-1 needing a turn", first.Session.ID, first.Session.NeedsTurn())
	}
	if stored := mustGetSession(t, s, "s-1"); !sameLease(stored.Lease, first.Lease) {
		t.Errorf("stored Lease = %+v, want the claim's %+v", stored.Lease, first.Lease)
	}
	if _, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute); err != nil || ok {
		t.Errorf("ClaimTurn(held by the same owner) = %v, %v; want false, nil", ok, err)
	}
	if _, ok, err := s.ClaimTurn(ctx, "s-1", "w2", time.Minute); err != nil || ok {
		t.Errorf("ClaimTurn(held by another owner) = %v, %v; want false, nil", ok, err)
	}

	if _, _, err := s.ClaimTurn(ctx, "nobody", "w1", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ClaimTurn(unknown session) error = %v, want ErrNotFound", err)
	}
	mustCreate(t, s, "s-2")
	mustTrigger(t, s, "s-2")
	if _, _, err := s.ClaimTurn(ctx, "s-2", "", time.Minute); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ClaimTurn(empty owner) error = %v, want ErrInvalidArgument", err)
	}
	if _, _, err := s.ClaimTurn(ctx, "s-2", "w1", 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ClaimTurn(zero ttl) error = %v, want ErrInvalidArgument", err)
	}
}

func (h *harness) testClaimTurnExclusive(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")
	mustTrigger(t, s, "s-1")

	wins := raceClaims(t, "ClaimTurn", func(racer int) (bool, error) {
		_, ok, err := s.ClaimTurn(ctx, "s-1", fmt.Sprintf("worker-%d", racer), time.Minute)
		return ok, err
	})
	if wins != 1 {
		t.Errorf("%d of %d concurrent claims succeeded, want exactly 1", wins, claimRacers)
	}
}

func (h *harness) testTurnLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustCreate(t, s, "s-1")
	trigger := mustTrigger(t, s, "s-1")

	old := mustClaimTurn(t, s, "s-1", "w1", 10*time.Second)
	clock.Advance(5 * time.Second)
	if err := s.ExtendLease(ctx, old, 10*time.Second); err != nil {
		t.Fatalf("ExtendLease before expiry: %v", err)
	}
	if stored := mustGetSession(t, s, "s-1"); !stored.Lease.Expires.Equal(clock.Now().Add(10 * time.Second)) {
		t.Errorf("lease expires %v after ExtendLease, want %v", stored.Lease.Expires, clock.Now().Add(10*time.Second))
	}
	clock.Advance(9 * time.Second)
	if _, ok, _ := s.ClaimTurn(ctx, "s-1", "w2", 10*time.Second); ok {
		t.Fatalf("w2 claimed a lease that was extended and is not yet expired")
	}
	if ids, err := s.PendingTurns(ctx, clock.Now(), 10); err != nil || len(ids) != 0 {
		t.Errorf("PendingTurns with the lease held = %v, %v; want none", ids, err)
	}

	clock.Advance(time.Second)
	if err := s.ExtendLease(ctx, old, 10*time.Second); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ExtendLease at expiry error = %v, want ErrLeaseLost", err)
	}
	ids, err := s.PendingTurns(ctx, clock.Now(), 10)
	if err != nil {
		t.Fatalf("PendingTurns: %v", err)
	}
	if !slices.Equal(ids, []string{"s-1"}) {
		t.Errorf("PendingTurns after expiry = %v, want [s-1]", ids)
	}

	taken := mustClaimTurn(t, s, "s-1", "w2", 10*time.Second)
	if taken.Lease.Token == old.Lease.Token {
		t.Errorf("new claim reused the expired claim's token")
	}
	if err := s.ExtendLease(ctx, old, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ExtendLease by the old owner error = %v, want ErrLeaseLost", err)
	}
	if err := s.ReleaseTurn(ctx, old); err != nil {
		t.Errorf("ReleaseTurn of a lost lease error = %v, want nil", err)
	}
	if sess := mustGetSession(t, s, "s-1"); !sameLease(sess.Lease, taken.Lease) {
		t.Errorf("the old owner's ReleaseTurn changed the lease to %+v, want %+v", sess.Lease, taken.Lease)
	}
	if _, err := s.CompleteTurn(ctx, taken, nil, trigger.Offset+1); err != nil {
		t.Errorf("CompleteTurn by the new owner: %v", err)
	}
}

func (h *harness) testCompleteTurn(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	claim, trigger := mustHoldTurn(t, s, "s-1", "w1", time.Minute)
	// A message arriving mid-turn must still need its own turn afterwards.
	late := mustTrigger(t, s, "s-1")
	clock.Advance(time.Second)

	reply := []store.NewEvent{
		{Kind: "agent_message", TurnID: "trn_1", Payload: []byte(`{"text":"answer"}`)},
		{Kind: "status", TurnID: "trn_1", Payload: []byte(`{"state":"idle"}`)},
	}
	evs, err := s.CompleteTurn(ctx, claim, reply, trigger.Offset+1)
	if err != nil {
		t.Fatalf("CompleteTurn: %v", err)
	}
	if len(evs) != 2 || evs[0].Offset != late.Offset+1 || evs[1].Offset != late.Offset+2 {
		t.Fatalf("CompleteTurn returned %+v, want offsets %d and %d", evs, late.Offset+1, late.Offset+2)
	}
	for i, ev := range evs {
		if ev.Kind != reply[i].Kind || ev.TurnID != "trn_1" || !ev.CreatedAt.Equal(clock.Now()) {
			t.Errorf("CompleteTurn event %d = kind %q turn %q at %v, want %q, trn_1, %v",
				i, ev.Kind, ev.TurnID, ev.CreatedAt, reply[i].Kind, clock.Now())
		}
	}

	sess := mustGetSession(t, s, "s-1")
	if !noLease(sess.Lease) {
		t.Errorf("Lease = %+v after CompleteTurn, want none", sess.Lease)
	}
	if sess.ProcessedOffset != trigger.Offset+1 {
		t.Errorf("ProcessedOffset = %d, want %d", sess.ProcessedOffset, trigger.Offset+1)
	}
	if sess.NextOffset != late.Offset+3 {
		t.Errorf("NextOffset = %d, want %d", sess.NextOffset, late.Offset+3)
	}
	if !sess.NeedsTurn() {
		t.Errorf("NeedsTurn = false, but the message at offset %d was not answered", late.Offset)
	}

	second := mustClaimTurn(t, s, "s-1", "w1", time.Minute)
	if _, err := s.CompleteTurn(ctx, second, nil, 0); err != nil {
		t.Fatalf("CompleteTurn with a lower processed offset: %v", err)
	}
	if sess := mustGetSession(t, s, "s-1"); sess.ProcessedOffset != trigger.Offset+1 {
		t.Errorf("ProcessedOffset = %d after a lower value, want it kept at %d", sess.ProcessedOffset, trigger.Offset+1)
	}

	third := mustClaimTurn(t, s, "s-1", "w1", time.Minute)
	if _, err := s.CompleteTurn(ctx, third, nil, late.Offset+1); err != nil {
		t.Fatalf("CompleteTurn of the late message: %v", err)
	}
	sess = mustGetSession(t, s, "s-1")
	if sess.NeedsTurn() || sess.ProcessedOffset != late.Offset+1 {
		t.Errorf("after answering every trigger = processed %d needs turn %v, want %d and false",
			sess.ProcessedOffset, sess.NeedsTurn(), late.Offset+1)
	}
	if _, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute); err != nil || ok {
		t.Errorf("ClaimTurn with every trigger answered = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.CompleteTurn(ctx, third, nil, late.Offset+1); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("second CompleteTurn with one claim error = %v, want ErrLeaseLost", err)
	}
}

// testCompleteTurnPastLog checks that a processed offset past the log is
// rejected with ErrInvalidArgument and changes nothing.
func (h *harness) testCompleteTurnPastLog(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	c, _ := mustHoldTurn(t, s, "s-1", "w1", time.Minute)
	reply := []store.NewEvent{textEvent("never stored")}
	if _, err := s.CompleteTurn(ctx, c, reply, 1000); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("CompleteTurn with processed past the log error = %v, want ErrInvalidArgument", err)
	}
	sess := mustGetSession(t, s, "s-1")
	if sess.ProcessedOffset != 0 {
		t.Errorf("ProcessedOffset = %d after the rejected CompleteTurn, want 0", sess.ProcessedOffset)
	}
	if sess.NextOffset != 1 {
		t.Errorf("NextOffset = %d after the rejected CompleteTurn, want 1 (the reply not appended)", sess.NextOffset)
	}
	if !sameLease(sess.Lease, c.Lease) {
		t.Errorf("lease = %+v after the rejected CompleteTurn, want the claim's %+v", sess.Lease, c.Lease)
	}
}

func (h *harness) testCompleteTurnLostLease(t *testing.T) {
	tests := []struct {
		name string
		lose func(t *testing.T, s store.Store, clock *Clock, c store.TurnClaim) store.TurnClaim
	}{
		{
			name: "expired",
			lose: func(t *testing.T, s store.Store, clock *Clock, c store.TurnClaim) store.TurnClaim {
				clock.Advance(2 * time.Minute)
				return c
			},
		},
		{
			name: "taken over",
			lose: func(t *testing.T, s store.Store, clock *Clock, c store.TurnClaim) store.TurnClaim {
				clock.Advance(2 * time.Minute)
				mustClaimTurn(t, s, "s-1", "w2", time.Minute)
				return c
			},
		},
		{
			name: "taken over by the same owner",
			lose: func(t *testing.T, s store.Store, clock *Clock, c store.TurnClaim) store.TurnClaim {
				clock.Advance(2 * time.Minute)
				mustClaimTurn(t, s, "s-1", c.Lease.Owner, time.Minute)
				return c
			},
		},
		{
			name: "wrong token",
			lose: func(t *testing.T, s store.Store, clock *Clock, c store.TurnClaim) store.TurnClaim {
				c.Lease.Token = "forged"
				return c
			},
		},
		{
			name: "released",
			lose: func(t *testing.T, s store.Store, clock *Clock, c store.TurnClaim) store.TurnClaim {
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
			s, clock := h.open(t)
			mustCreate(t, s, "s-1")
			trigger := mustTrigger(t, s, "s-1")
			claim := mustClaimTurn(t, s, "s-1", "w1", time.Minute)
			claim = tt.lose(t, s, clock, claim)

			if err := s.ExtendLease(ctx, claim, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("ExtendLease error = %v, want ErrLeaseLost", err)
			}
			reply := []store.NewEvent{{Kind: "agent_message", TurnID: "trn_1", Payload: []byte(`{}`)}}
			evs, err := s.CompleteTurn(ctx, claim, reply, trigger.Offset+1)
			if !errors.Is(err, store.ErrLeaseLost) {
				t.Fatalf("CompleteTurn error = %v, want ErrLeaseLost", err)
			}
			if len(evs) != 0 {
				t.Errorf("CompleteTurn returned %d events with a lost lease", len(evs))
			}
			sess := mustGetSession(t, s, "s-1")
			if sess.NextOffset != trigger.Offset+1 {
				t.Errorf("NextOffset = %d, want %d: a lost lease appended events", sess.NextOffset, trigger.Offset+1)
			}
			if sess.ProcessedOffset != 0 {
				t.Errorf("ProcessedOffset = %d, want 0: a lost lease moved it", sess.ProcessedOffset)
			}
		})
	}
}

func (h *harness) testReleaseTurn(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	c, _ := mustHoldTurn(t, s, "s-1", "w1", time.Hour)
	if err := s.ReleaseTurn(ctx, c); err != nil {
		t.Fatalf("ReleaseTurn: %v", err)
	}
	sess := mustGetSession(t, s, "s-1")
	if sess.Lease.Held(clock.Now()) {
		t.Errorf("Lease = %+v after ReleaseTurn, want it free", sess.Lease)
	}
	if !sess.NeedsTurn() || sess.ProcessedOffset != 0 {
		t.Errorf("after ReleaseTurn = needs turn %v processed %d, want true and 0", sess.NeedsTurn(), sess.ProcessedOffset)
	}
	again := mustClaimTurn(t, s, "s-1", "w2", time.Hour)
	if again.Lease.Token == c.Lease.Token {
		t.Errorf("claim after ReleaseTurn reused the released token")
	}
	if err := s.ReleaseTurn(ctx, c); err != nil {
		t.Errorf("second ReleaseTurn of the old claim error = %v, want nil", err)
	}
	if stored := mustGetSession(t, s, "s-1"); !sameLease(stored.Lease, again.Lease) {
		t.Errorf("Lease = %+v after the old claim's release, want %+v kept", stored.Lease, again.Lease)
	}
}

func (h *harness) testPendingTurns(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	for _, id := range []string{"s-a", "s-b", "s-c", "s-d", "s-e"} {
		mustCreate(t, s, id)
	}
	for _, id := range []string{"s-a", "s-b", "s-c", "s-e"} {
		mustTrigger(t, s, id)
	}
	// s-b is claimed, s-c has a completed turn, s-e is deleted and s-d
	// has no trigger.
	mustClaimTurn(t, s, "s-b", "w1", time.Minute)
	claim := mustClaimTurn(t, s, "s-c", "w1", time.Minute)
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := s.PendingTurns(ctx, clock.Now().Add(tt.after), tt.limit)
			if err != nil {
				t.Fatalf("PendingTurns: %v", err)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tt.want) {
				t.Errorf("PendingTurns = %v, want %v in any order", ids, tt.want)
			}
		})
	}
	ids, err := s.PendingTurns(ctx, clock.Now().Add(2*time.Minute), 1)
	if err != nil {
		t.Fatalf("PendingTurns(limit 1): %v", err)
	}
	if len(ids) != 1 || (ids[0] != "s-a" && ids[0] != "s-b") {
		t.Errorf("PendingTurns(limit 1) = %v, want one of s-a and s-b", ids)
	}
}
