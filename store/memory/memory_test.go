package memory

// The conformance suite (conformance_test.go) checks every promise of the
// store interfaces, including the invalid arguments they reject. The tests
// here check what only this store documents: ListEvents bounds, orders
// that the interfaces leave open, and a clock that moves backwards.

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/storetest"
)

func TestListEventsBounds(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s-1")
	for range 5 {
		mustTrigger(t, s, "s-1")
	}
	tests := []struct {
		name      string
		from      int64
		limit     int
		wantFirst int64
		wantLen   int
	}{
		{"zero limit reads to the end", 1, 0, 1, 4},
		{"negative limit reads to the end", 3, -1, 3, 2},
		{"negative from reads from 0", -3, 2, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := s.ListEvents(ctx, "s-1", tt.from, tt.limit)
			if err != nil {
				t.Fatalf("ListEvents: %v", err)
			}
			if len(evs) != tt.wantLen {
				t.Fatalf("len = %d, want %d", len(evs), tt.wantLen)
			}
			if evs[0].Offset != tt.wantFirst {
				t.Errorf("first offset = %d, want %d", evs[0].Offset, tt.wantFirst)
			}
		})
	}
}

func TestPendingTurnsOldestFirst(t *testing.T) {
	ctx := context.Background()
	s := New()
	ids := []string{"s-c", "s-a", "s-b"}
	for _, id := range ids {
		mustCreate(t, s, id)
	}
	for _, id := range []string{"s-b", "s-a", "s-c"} {
		mustTrigger(t, s, id)
	}
	got, err := s.PendingTurns(ctx, time.Now(), 10)
	if err != nil {
		t.Fatalf("PendingTurns: %v", err)
	}
	if !reflect.DeepEqual(got, ids) {
		t.Errorf("PendingTurns = %v, want %v (creation order)", got, ids)
	}
	got, err = s.PendingTurns(ctx, time.Now(), 1)
	if err != nil {
		t.Fatalf("PendingTurns(limit 1): %v", err)
	}
	if !reflect.DeepEqual(got, ids[:1]) {
		t.Errorf("PendingTurns(limit 1) = %v, want %v", got, ids[:1])
	}
}

func TestClaimRunTieByID(t *testing.T) {
	s := New()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, id := range []string{"run-b", "run-a"} {
		r := newRun(id)
		r.CreatedAt = at
		mustCreateRun(t, s, r)
	}
	if c := mustClaimRun(t, s, "w1", time.Minute); c.Run.ID != "run-a" {
		t.Errorf("first claim = %q, want run-a: equal CreatedAt is ordered by id", c.Run.ID)
	}
}

// TestClaimRunClockBackwards checks that a lease seen expired by one claim
// is not taken by a later claim that reads an earlier time.
func TestClaimRunClockBackwards(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	s := New(WithClock(clock.Now))
	for _, id := range []string{"run-a", "run-b"} {
		r := newRun(id)
		r.MaxAttempts = 2
		r.CreatedAt = clock.Now()
		mustCreateRun(t, s, r)
	}
	mustClaimRun(t, s, "w1", 10*time.Second)
	second := mustClaimRun(t, s, "w1", 10*time.Second)

	clock.Advance(20 * time.Second)
	if c := mustClaimRun(t, s, "w2", 10*time.Second); c.Run.ID != "run-a" {
		t.Fatalf("takeover claim = %q, want run-a", c.Run.ID)
	}
	clock.Advance(-15 * time.Second)
	if c, ok, err := s.ClaimRun(ctx, "w3", 10*time.Second); err != nil || ok {
		t.Errorf("ClaimRun after the clock moved back = %q, %v, %v; want false, nil", c.Run.ID, ok, err)
	}
	if err := s.ExtendRunLease(ctx, second, 10*time.Second); err != nil {
		t.Errorf("ExtendRunLease of run-b's held lease: %v", err)
	}
}

func TestClaimCallbackOrder(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	s := New(WithClock(clock.Now))
	start := clock.Now()
	for _, id := range []string{"run-a", "run-b", "run-c"} {
		mustEndRun(t, s, id)
		clock.Advance(time.Second)
	}
	first, ok, err := s.ClaimCallback(ctx, "d1", clock.Now(), time.Minute)
	if err != nil || !ok || first.Run.ID != "run-a" {
		t.Fatalf("first ClaimCallback = %q, %v, %v; want run-a, the earliest due", first.Run.ID, ok, err)
	}
	// run-a's retry is due after run-b and run-c.
	if _, err := s.RecordCallback(ctx, first, store.CallbackOutcome{
		State: store.CallbackPending, NextAttemptAt: start.Add(10 * time.Second),
	}); err != nil {
		t.Fatalf("RecordCallback: %v", err)
	}

	want := []string{"run-b", "run-c", "run-a"}
	var got []string
	for range want {
		c, ok, err := s.ClaimCallback(ctx, "d1", start.Add(time.Minute), time.Minute)
		if err != nil || !ok {
			t.Fatalf("ClaimCallback = %v, %v", ok, err)
		}
		got = append(got, c.Run.ID)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("callback claim order = %v, want %v (by NextAttemptAt)", got, want)
	}
}
