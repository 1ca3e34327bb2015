package store

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidArgument: a method received an argument that its contract
// rules out, such as an empty id or owner, a lease ttl that is not
// positive or an outcome state the method does not take. The call changes
// nothing, and retrying it with the same argument fails again. [CheckID],
// [CheckTTL], [CheckClaim], [CheckNewRun] and the Validate methods return
// errors that wrap it and name the field, its value and what is allowed.
var ErrInvalidArgument = errors.New("store: invalid argument")

// CheckID rejects an empty customer, session or run id.
func CheckID(id string) error {
	if id == "" {
		return fmt.Errorf("missing id: pass a non-empty id: %w", ErrInvalidArgument)
	}
	return nil
}

// CheckTTL rejects a lease ttl that is not positive.
func CheckTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("invalid lease ttl %v: pass a positive duration: %w", ttl, ErrInvalidArgument)
	}
	return nil
}

// CheckClaim rejects the arguments of a lease claim (ClaimTurn, ClaimRun,
// ClaimCallback, ClaimDelivery) when owner is empty or ttl is not
// positive.
func CheckClaim(owner string, ttl time.Duration) error {
	if owner == "" {
		return fmt.Errorf("missing lease owner: pass a non-empty owner: %w", ErrInvalidArgument)
	}
	return CheckTTL(ttl)
}

// CheckProcessedOffset rejects a processed offset for
// [Turns.CompleteTurn] that is past nextOffset, the session's NextOffset
// before the turn's events are appended: no trigger can be there.
func CheckProcessedOffset(processed, nextOffset int64) error {
	if processed > nextOffset {
		return fmt.Errorf("processed offset %d is past the log's next offset %d: %w",
			processed, nextOffset, ErrInvalidArgument)
	}
	return nil
}

// Validate rejects a sink without a name.
func (s DeliverySink) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("missing sink name: pass the name of the sink: %w", ErrInvalidArgument)
	}
	return nil
}

// CheckNewRun rejects a run that [Runs.CreateRun] must not store: one
// without an id, with a status other than RunQueued, or with a negative
// MaxAttempts or Timeout.
func CheckNewRun(r Run) error {
	if err := CheckID(r.ID); err != nil {
		return err
	}
	switch {
	case r.Status != RunQueued:
		return fmt.Errorf("run %q has status %q: create runs with status %q: %w",
			r.ID, r.Status, RunQueued, ErrInvalidArgument)
	case r.MaxAttempts < 0:
		return fmt.Errorf("run %q has invalid max attempts %d: pass 0 for one attempt or a positive count: %w",
			r.ID, r.MaxAttempts, ErrInvalidArgument)
	case r.Timeout < 0:
		return fmt.Errorf("run %q has invalid timeout %v: pass 0 for none or a positive duration: %w",
			r.ID, r.Timeout, ErrInvalidArgument)
	}
	return nil
}

// Validate rejects a result whose Status is neither RunSucceeded nor
// RunFailed, and a failed result without an Error.
func (r RunResult) Validate() error {
	switch {
	case r.Status != RunSucceeded && r.Status != RunFailed:
		return fmt.Errorf("invalid run result status %q: pass %q or %q: %w",
			r.Status, RunSucceeded, RunFailed, ErrInvalidArgument)
	case r.Status == RunFailed && r.Error == nil:
		return fmt.Errorf("failed run result has no error: set RunResult.Error with a code: %w", ErrInvalidArgument)
	}
	return nil
}

// Validate rejects an outcome whose State is not CallbackDelivered,
// CallbackDisabled, CallbackFailed or CallbackPending, and a pending one
// without NextAttemptAt.
func (o CallbackOutcome) Validate() error {
	switch o.State {
	case CallbackDelivered, CallbackDisabled, CallbackFailed:
		return nil
	case CallbackPending:
		if o.NextAttemptAt.IsZero() {
			return fmt.Errorf("pending callback outcome has no next attempt time: set NextAttemptAt: %w",
				ErrInvalidArgument)
		}
		return nil
	default:
		return fmt.Errorf("invalid callback outcome state %q: pass %s, %s, %s or %s: %w",
			o.State, CallbackDelivered, CallbackDisabled, CallbackFailed, CallbackPending, ErrInvalidArgument)
	}
}

// Validate rejects a failed attempt (Delivered false) whose State is not
// DeliveryRetrying, DeliveryPaused or DeliveryDisabled, and a retrying one
// without NextAttemptAt. A delivered outcome is valid whatever its State.
// Offset is checked against the stored cursor by the store, not here.
func (o DeliveryOutcome) Validate() error {
	if o.Delivered {
		return nil
	}
	switch o.State {
	case DeliveryPaused, DeliveryDisabled:
		return nil
	case DeliveryRetrying:
		if o.NextAttemptAt.IsZero() {
			return fmt.Errorf("retrying delivery outcome has no next attempt time: set NextAttemptAt: %w",
				ErrInvalidArgument)
		}
		return nil
	default:
		return fmt.Errorf("invalid delivery outcome state %q: pass %s, %s or %s for a failed attempt: %w",
			o.State, DeliveryRetrying, DeliveryPaused, DeliveryDisabled, ErrInvalidArgument)
	}
}
