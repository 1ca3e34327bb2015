package store

import (
	"context"
	"encoding/json"
	"time"
)

// Run statuses.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// Callback delivery states.
const (
	// CallbackNone: the run has no callback URL.
	CallbackNone = "none"
	// CallbackWaiting: the run has not ended yet.
	CallbackWaiting = "waiting"
	// CallbackPending: the callback is due at NextAttemptAt.
	CallbackPending = "pending"
	// CallbackDelivered: a 2xx was received.
	CallbackDelivered = "delivered"
	// CallbackFailed: every attempt of the schedule failed.
	CallbackFailed = "failed"
	// CallbackDisabled: the receiver answered 410 Gone.
	CallbackDisabled = "disabled"
)

// Run is one execution of an autonomous routine.
type Run struct {
	ID        string
	RoutineID string
	// Status is RunQueued, RunRunning, RunSucceeded or RunFailed.
	Status string
	Input  json.RawMessage
	// Output is set when the run succeeded.
	Output json.RawMessage
	// Error is set when the run failed.
	Error *RunError
	// CallbackURL receives the result; empty means none.
	CallbackURL string
	// IdempotencyKey, when set, is unique per routine: a second run with
	// the same key is not created.
	IdempotencyKey string
	// InputHash identifies the trigger's input, so a repeated key with a
	// different input can be told apart.
	InputHash string
	Trigger   RunTrigger
	Metadata  map[string]any

	// Attempts counts the times a worker claimed the run; MaxAttempts caps
	// it, after which a run whose worker died fails as interrupted. A
	// MaxAttempts of 0 means 1.
	Attempts    int
	MaxAttempts int
	// Timeout is the routine's time limit for one run, counted from
	// StartedAt, or 0 for none. The caller sets it at creation because the
	// store does not know the routine.
	Timeout time.Duration
	// Deadline is when the run times out: StartedAt plus Timeout, set at
	// its first claim. It stays zero when Timeout is 0.
	Deadline time.Time
	Lease    Lease

	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time

	Callback CallbackState
}

// Ended reports whether the run succeeded or failed.
func (r *Run) Ended() bool { return r.Status == RunSucceeded || r.Status == RunFailed }

// RunError is why a run failed.
type RunError struct {
	// Code is output_validation_failed, timeout, iteration_limit,
	// model_error, tool_error, interrupted, cancelled or internal_error.
	Code    string
	Message string
}

// RunTrigger records what started a run.
type RunTrigger struct {
	// Source is "api" or "webhook".
	Source string
	// Webhook is the inbound webhook's name when Source is "webhook".
	Webhook string
}

// CallbackState is the delivery state of a run's callback.
type CallbackState struct {
	// State is one of the Callback* constants.
	State         string
	Attempts      int
	NextAttemptAt time.Time
	// LastStatus is the HTTP status of the last attempt, 0 when it got
	// none.
	LastStatus  int
	LastError   string
	DeliveredAt time.Time
	Lease       Lease
}

// RunClaim is a held run lease.
type RunClaim struct {
	Run   Run
	Lease Lease
}

// RunResult is how a run ended.
type RunResult struct {
	// Status is RunSucceeded or RunFailed.
	Status string
	Output json.RawMessage
	Error  *RunError
}

// CallbackClaim is a held lease on a run's callback delivery.
type CallbackClaim struct {
	Run   Run
	Lease Lease
}

// CallbackOutcome is the result of one delivery attempt.
type CallbackOutcome struct {
	// State is CallbackDelivered, CallbackDisabled, CallbackFailed (no
	// attempt left) or CallbackPending (retry at NextAttemptAt).
	State         string
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
}

// Runs stores autonomous runs and their callbacks. A run's id and an
// idempotency key's run never change once created.
type Runs interface {
	// CreateRun stores r, which must be RunQueued with an id and a MaxAttempts
	// and Timeout that are not negative; otherwise it returns
	// ErrInvalidArgument (see [CheckNewRun]). When r.IdempotencyKey is
	// already used for r.RoutineID, it stores nothing and returns the
	// existing run with created=false; the caller compares InputHash. The
	// callback state starts as CallbackWaiting when r has a CallbackURL and
	// CallbackNone otherwise.
	CreateRun(ctx context.Context, r Run) (Run, bool, error)
	// GetRun returns ErrNotFound for an unknown id.
	GetRun(ctx context.Context, id string) (Run, error)
	// ClaimRun takes the oldest run that is queued, or running with an
	// expired lease, sets it running, counts the attempt and sets Deadline
	// at the first attempt. A run over its MaxAttempts is failed with code
	// interrupted instead (its callback becomes due) and the next one is
	// tried. It returns ok=false when no run is claimable.
	ClaimRun(ctx context.Context, owner string, ttl time.Duration) (RunClaim, bool, error)
	// ExtendRunLease moves the claim's expiry to now+ttl, or returns
	// ErrLeaseLost when the lease expired or the run was cancelled, ended
	// or claimed by another owner.
	ExtendRunLease(ctx context.Context, c RunClaim, ttl time.Duration) error
	// CompleteRun ends the run with res, releases the lease and makes its
	// callback due now (when it has a callback URL), in one step. It
	// returns ErrLeaseLost, changing nothing, when the claim no longer
	// holds the run, and ErrInvalidArgument for a result that
	// [RunResult.Validate] rejects. It wakes the run's waiters (see
	// RunTopic).
	CompleteRun(ctx context.Context, c RunClaim, res RunResult) (Run, error)
	// CancelRun fails a queued or running run with code cancelled, releases
	// its lease and makes its callback due; an ended run is returned
	// unchanged. It returns ErrNotFound for an unknown id.
	CancelRun(ctx context.Context, id string) (Run, error)
	// ClaimCallback takes a run whose callback is pending and due at now
	// and whose callback lease is free or expired.
	ClaimCallback(ctx context.Context, owner string, now time.Time, ttl time.Duration) (CallbackClaim, bool, error)
	// RecordCallback stores the outcome of an attempt, counts it and
	// releases the callback lease. It returns ErrLeaseLost when the claim
	// no longer holds the callback, and ErrInvalidArgument for an outcome
	// that [CallbackOutcome.Validate] rejects.
	RecordCallback(ctx context.Context, c CallbackClaim, o CallbackOutcome) (Run, error)
	// RedeliverCallback makes an ended run's callback due now with its
	// attempts reset. It returns ErrConflict for a run that has not ended
	// or has no callback URL, and ErrNotFound for an unknown id.
	RedeliverCallback(ctx context.Context, id string) (Run, error)
}

// RunTopic is the Notifier key woken when the run's state changes, so
// `GET /runs/{id}?wait=` waits without polling.
func RunTopic(runID string) string { return "run:" + runID }
