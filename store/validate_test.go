package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateRejects(t *testing.T) {
	queued := Run{ID: "run-1", Status: RunQueued}
	withRun := func(modify func(r *Run)) Run {
		r := queued
		modify(&r)
		return r
	}

	tests := []struct {
		name string
		err  error
		// want is a part of the message that names the field or value.
		want string
	}{
		{"empty id", CheckID(""), "missing id"},
		{"zero ttl", CheckTTL(0), "invalid lease ttl 0s"},
		{"negative ttl", CheckTTL(-time.Second), "invalid lease ttl -1s"},
		{"claim empty owner", CheckClaim("", time.Minute), "missing lease owner"},
		{"claim zero ttl", CheckClaim("w1", 0), "invalid lease ttl 0s"},
		{"processed past the log", CheckProcessedOffset(6, 5), "processed offset 6 is past the log's next offset 5"},
		{"sink without name", DeliverySink{RequireWebhookURL: true}.Validate(), "missing sink name"},
		{"run without id", CheckNewRun(withRun(func(r *Run) { r.ID = "" })), "missing id"},
		{"run running", CheckNewRun(withRun(func(r *Run) { r.Status = RunRunning })), `status "running"`},
		{"run empty status", CheckNewRun(withRun(func(r *Run) { r.Status = "" })), `status ""`},
		{"run negative max attempts", CheckNewRun(withRun(func(r *Run) { r.MaxAttempts = -1 })), "max attempts -1"},
		{"run negative timeout", CheckNewRun(withRun(func(r *Run) { r.Timeout = -time.Second })), "timeout -1s"},
		{"result running", RunResult{Status: RunRunning}.Validate(), `status "running"`},
		{"result failed without error", RunResult{Status: RunFailed}.Validate(), "RunResult.Error"},
		{"callback waiting", CallbackOutcome{State: CallbackWaiting}.Validate(), `state "waiting"`},
		{"callback unknown", CallbackOutcome{State: "retry"}.Validate(), `state "retry"`},
		{"callback pending without time", CallbackOutcome{State: CallbackPending}.Validate(), "NextAttemptAt"},
		{"delivery active failure", DeliveryOutcome{State: DeliveryActive}.Validate(), `state "active"`},
		{"delivery empty state", DeliveryOutcome{}.Validate(), `state ""`},
		{"delivery retrying without time", DeliveryOutcome{State: DeliveryRetrying}.Validate(), "NextAttemptAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, ErrInvalidArgument) {
				t.Fatalf("error = %v, want one wrapping ErrInvalidArgument", tt.err)
			}
			if !strings.Contains(tt.err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", tt.err, tt.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	due := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		err  error
	}{
		{"id", CheckID("c-1")},
		{"ttl", CheckTTL(time.Nanosecond)},
		{"claim", CheckClaim("w1", time.Minute)},
		{"processed below the log", CheckProcessedOffset(4, 5)},
		{"processed at the log end", CheckProcessedOffset(5, 5)},
		{"sink", DeliverySink{Name: "webhook"}.Validate()},
		{"run defaults", CheckNewRun(Run{ID: "run-1", Status: RunQueued})},
		{"run limits", CheckNewRun(Run{ID: "run-1", Status: RunQueued, MaxAttempts: 3, Timeout: time.Minute})},
		{"result succeeded", RunResult{Status: RunSucceeded}.Validate()},
		{"result failed", RunResult{Status: RunFailed, Error: &RunError{Code: "timeout"}}.Validate()},
		{"callback delivered", CallbackOutcome{State: CallbackDelivered}.Validate()},
		{"callback disabled", CallbackOutcome{State: CallbackDisabled}.Validate()},
		{"callback failed", CallbackOutcome{State: CallbackFailed}.Validate()},
		{"callback pending", CallbackOutcome{State: CallbackPending, NextAttemptAt: due}.Validate()},
		{"delivery delivered", DeliveryOutcome{Delivered: true}.Validate()},
		{"delivery delivered ignores state", DeliveryOutcome{Delivered: true, State: "gone"}.Validate()},
		{"delivery paused", DeliveryOutcome{State: DeliveryPaused}.Validate()},
		{"delivery disabled", DeliveryOutcome{State: DeliveryDisabled}.Validate()},
		{"delivery retrying", DeliveryOutcome{State: DeliveryRetrying, NextAttemptAt: due}.Validate()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err != nil {
				t.Errorf("error = %v, want nil", tt.err)
			}
		})
	}
}
