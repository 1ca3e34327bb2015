package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// testInvalidArguments checks that every method rejects the arguments its
// contract rules out with an error wrapping store.ErrInvalidArgument.
func (h *harness) testInvalidArguments(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	turn, run, delivery := mustHoldClaims(t, s, clock.Now())
	mustEndRun(t, s, "run-cb")
	callback := mustClaimCallback(t, s, "d1", clock.Now())
	now := clock.Now()
	withRun := func(modify func(r *store.Run)) store.Run {
		r := newRun("run-new")
		modify(&r)
		return r
	}

	tests := []struct {
		name string
		call func() error
	}{
		{"PutCustomer empty id", func() error {
			_, _, err := s.PutCustomer(ctx, store.Customer{})
			return err
		}},
		{"CreateSession empty id", func() error {
			_, _, err := s.CreateSession(ctx, store.Session{}, nil)
			return err
		}},
		{"ClaimTurn empty owner", func() error {
			_, _, err := s.ClaimTurn(ctx, "s-1", "", time.Minute)
			return err
		}},
		{"ClaimTurn zero ttl", func() error {
			_, _, err := s.ClaimTurn(ctx, "s-1", "w1", 0)
			return err
		}},
		{"ExtendLease zero ttl", func() error {
			return s.ExtendLease(ctx, turn, 0)
		}},
		{"CompleteTurn processed past the log", func() error {
			_, err := s.CompleteTurn(ctx, turn, nil, 1000)
			return err
		}},
		{"CreateRun empty id", func() error {
			_, _, err := s.CreateRun(ctx, withRun(func(r *store.Run) { r.ID = "" }))
			return err
		}},
		{"CreateRun running", func() error {
			_, _, err := s.CreateRun(ctx, withRun(func(r *store.Run) { r.Status = store.RunRunning }))
			return err
		}},
		{"CreateRun negative max attempts", func() error {
			_, _, err := s.CreateRun(ctx, withRun(func(r *store.Run) { r.MaxAttempts = -1 }))
			return err
		}},
		{"CreateRun negative timeout", func() error {
			_, _, err := s.CreateRun(ctx, withRun(func(r *store.Run) { r.Timeout = -time.Second }))
			return err
		}},
		{"ClaimRun empty owner", func() error {
			_, _, err := s.ClaimRun(ctx, "", time.Minute)
			return err
		}},
		{"ClaimRun zero ttl", func() error {
			_, _, err := s.ClaimRun(ctx, "w1", 0)
			return err
		}},
		{"ExtendRunLease zero ttl", func() error {
			return s.ExtendRunLease(ctx, run, 0)
		}},
		{"CompleteRun running status", func() error {
			_, err := s.CompleteRun(ctx, run, store.RunResult{Status: store.RunRunning})
			return err
		}},
		{"CompleteRun failed without error", func() error {
			_, err := s.CompleteRun(ctx, run, store.RunResult{Status: store.RunFailed})
			return err
		}},
		{"ClaimCallback empty owner", func() error {
			_, _, err := s.ClaimCallback(ctx, "", now, time.Minute)
			return err
		}},
		{"ClaimCallback zero ttl", func() error {
			_, _, err := s.ClaimCallback(ctx, "d1", now, 0)
			return err
		}},
		{"RecordCallback waiting state", func() error {
			_, err := s.RecordCallback(ctx, callback, store.CallbackOutcome{State: store.CallbackWaiting})
			return err
		}},
		{"RecordCallback pending without time", func() error {
			_, err := s.RecordCallback(ctx, callback, store.CallbackOutcome{State: store.CallbackPending})
			return err
		}},
		{"ClaimDelivery no sink", func() error {
			_, _, err := s.ClaimDelivery(ctx, store.DeliverySink{}, "w1", now, time.Minute)
			return err
		}},
		{"ClaimDelivery empty owner", func() error {
			_, _, err := s.ClaimDelivery(ctx, webhookSink, "", now, time.Minute)
			return err
		}},
		{"ClaimDelivery zero ttl", func() error {
			_, _, err := s.ClaimDelivery(ctx, webhookSink, "w1", now, 0)
			return err
		}},
		{"ExtendDeliveryLease zero ttl", func() error {
			return s.ExtendDeliveryLease(ctx, delivery, 0)
		}},
		{"RecordDelivery active failure", func() error {
			_, err := s.RecordDelivery(ctx, delivery, store.DeliveryOutcome{State: store.DeliveryActive})
			return err
		}},
		{"RecordDelivery retry without time", func() error {
			_, err := s.RecordDelivery(ctx, delivery, store.DeliveryOutcome{State: store.DeliveryRetrying})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, store.ErrInvalidArgument) {
				t.Errorf("error = %v, want one wrapping store.ErrInvalidArgument", err)
			}
		})
	}

	// The rejected calls left the claims intact.
	if err := s.ExtendLease(ctx, turn, time.Minute); err != nil {
		t.Errorf("ExtendLease after rejected calls: %v", err)
	}
	if err := s.ExtendRunLease(ctx, run, time.Minute); err != nil {
		t.Errorf("ExtendRunLease after rejected calls: %v", err)
	}
	if err := s.ExtendDeliveryLease(ctx, delivery, time.Minute); err != nil {
		t.Errorf("ExtendDeliveryLease after rejected calls: %v", err)
	}
	if got := mustGetRun(t, s, "run-cb"); got.Callback.Attempts != 0 || got.Callback.State != store.CallbackPending {
		t.Errorf("callback of run-cb = %q with %d attempts after rejected outcomes, want pending with 0",
			got.Callback.State, got.Callback.Attempts)
	}
}
