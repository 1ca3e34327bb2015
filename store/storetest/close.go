package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

func (h *harness) storeChecks() []check {
	return []check{
		{"Ping", h.testPing},
		{"Closed", h.testClosed},
		{"InvalidArguments", h.testInvalidArguments},
	}
}

func (h *harness) testPing(t *testing.T) {
	s, _ := h.open(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping of an open store: %v", err)
	}
}

// testClosed checks that every method returns ErrClosed after Close.
func (h *harness) testClosed(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	turn, run, delivery := mustHoldClaims(t, s, clock.Now())

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	now := clock.Now()
	calls := []struct {
		name string
		call func() error
	}{
		{"Close", s.Close},
		{"Ping", func() error { return s.Ping(ctx) }},
		{"PutCustomer", func() error { _, _, err := s.PutCustomer(ctx, store.Customer{ID: "c"}); return err }},
		{"GetCustomer", func() error { _, err := s.GetCustomer(ctx, "c"); return err }},
		{"MergeCustomer", func() error { _, err := s.MergeCustomer(ctx, "c", false, map[string]any{"a": 1}); return err }},
		{"CreateSession", func() error { _, _, err := s.CreateSession(ctx, store.Session{ID: "s-2"}, nil); return err }},
		{"GetSession", func() error { _, err := s.GetSession(ctx, "s-1"); return err }},
		{"ListSessions", func() error { _, _, err := s.ListSessions(ctx, store.SessionFilter{}); return err }},
		{"UpdateSession", func() error { _, err := s.UpdateSession(ctx, "s-1", store.SessionPatch{}); return err }},
		{"DeleteSession", func() error { return s.DeleteSession(ctx, "s-1") }},
		{"Append", func() error {
			_, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("x")}, store.AppendOptions{})
			return err
		}},
		{"ListEvents", func() error { _, err := s.ListEvents(ctx, "s-1", 0, listAll); return err }},
		{"ClaimTurn", func() error { _, _, err := s.ClaimTurn(ctx, "s-1", "w", time.Second); return err }},
		{"ExtendLease", func() error { return s.ExtendLease(ctx, turn, time.Second) }},
		{"CompleteTurn", func() error { _, err := s.CompleteTurn(ctx, turn, nil, 1); return err }},
		{"ReleaseTurn", func() error { return s.ReleaseTurn(ctx, turn) }},
		{"PendingTurns", func() error { _, err := s.PendingTurns(ctx, now, 1); return err }},
		{"CreateRun", func() error { _, _, err := s.CreateRun(ctx, newRun("run-2")); return err }},
		{"GetRun", func() error { _, err := s.GetRun(ctx, "run-1"); return err }},
		{"ClaimRun", func() error { _, _, err := s.ClaimRun(ctx, "w", time.Second); return err }},
		{"ExtendRunLease", func() error { return s.ExtendRunLease(ctx, run, time.Second) }},
		{"CompleteRun", func() error {
			_, err := s.CompleteRun(ctx, run, store.RunResult{Status: store.RunSucceeded})
			return err
		}},
		{"CancelRun", func() error { _, err := s.CancelRun(ctx, "run-1"); return err }},
		{"ClaimCallback", func() error { _, _, err := s.ClaimCallback(ctx, "w", now, time.Second); return err }},
		{"RecordCallback", func() error {
			_, err := s.RecordCallback(ctx, store.CallbackClaim{Run: run.Run, Lease: run.Lease},
				store.CallbackOutcome{State: store.CallbackDelivered})
			return err
		}},
		{"RedeliverCallback", func() error { _, err := s.RedeliverCallback(ctx, "run-1"); return err }},
		{"ClaimDelivery", func() error { _, _, err := s.ClaimDelivery(ctx, webhookSink, "w", now, time.Second); return err }},
		{"ExtendDeliveryLease", func() error { return s.ExtendDeliveryLease(ctx, delivery, time.Second) }},
		{"RecordDelivery", func() error { _, err := s.RecordDelivery(ctx, delivery, delivered(0)); return err }},
		{"ReleaseDelivery", func() error { return s.ReleaseDelivery(ctx, delivery) }},
		{"ResumeDelivery", func() error { _, err := s.ResumeDelivery(ctx, "s-1", ""); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, store.ErrClosed) {
				t.Errorf("%s after Close error = %v, want ErrClosed", c.name, err)
			}
		})
	}
}
