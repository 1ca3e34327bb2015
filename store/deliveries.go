package store

import (
	"context"
	"time"
)

// DeliveryTopic is the [Notifier] key that wakes event deliverers: a
// session may have events to push. Stores notify it after every append
// (Append, CompleteTurn, CreateSession with initial events), after an
// UpdateSession that changes WebhookURL, and after ResumeDelivery and
// ReleaseDelivery.
const DeliveryTopic = "deliveries"

// Delivery states of one session's events to one sink.
const (
	// DeliveryActive: the sink gets each event as it is appended.
	DeliveryActive = "active"
	// DeliveryRetrying: the event at Cursor failed and is tried again at
	// NextAttemptAt.
	DeliveryRetrying = "retrying"
	// DeliveryPaused: every attempt of the event at Cursor failed. Nothing
	// is sent until ResumeDelivery.
	DeliveryPaused = "paused"
	// DeliveryDisabled: the receiver responded 410 Gone. Nothing is sent
	// until ResumeDelivery.
	DeliveryDisabled = "disabled"
)

// Delivery is the progress of pushing one session's events to one sink,
// in offset order. A session has one per sink name; a sink without an
// entry in [Session.Deliveries] is active with cursor 0.
type Delivery struct {
	// State is one of the Delivery* constants.
	State string
	// Cursor is the offset of the next event to deliver. Every event
	// before it was accepted by the sink; it only moves forward.
	Cursor int64
	// Attempts counts the failed attempts of the event at Cursor.
	Attempts int
	// NextAttemptAt is when a retrying delivery is due; zero otherwise.
	NextAttemptAt time.Time
	// LastStatus is the HTTP status of the last attempt, or 0 when it got
	// none or the sink does not speak HTTP.
	LastStatus int
	// LastError describes the last failed attempt; a success clears it.
	LastError string
	// LastAttemptAt is when the last attempt was recorded.
	LastAttemptAt time.Time
	// Lease is held by the worker delivering the session to the sink.
	Lease Lease
}

// DeliverySink names the sink that [Deliveries.ClaimDelivery] claims
// work for.
type DeliverySink struct {
	// Name identifies the sink's entry in Session.Deliveries.
	Name string
	// RequireWebhookURL skips sessions whose WebhookURL is empty. The
	// built-in HTTP webhook sets it when the manifest names no default
	// URL, so sessions without a target hold their events until one is
	// set.
	RequireWebhookURL bool
}

// DeliveryClaim is a held lease on one session's delivery to one sink.
type DeliveryClaim struct {
	Sink string
	// Session is the session as it was when the claim was made.
	Session Session
	// Delivery is the sink's progress at the claim, with the new lease.
	Delivery Delivery
}

// DeliveryOutcome is the result of one attempt to deliver the event at
// the claim's cursor.
type DeliveryOutcome struct {
	// Offset is the offset of the event attempted. It must equal the
	// stored cursor.
	Offset int64
	// Delivered reports that the sink accepted the event: the cursor
	// moves past it, Attempts resets to 0, the state becomes active and
	// the lease stays held. Otherwise the attempt counts as failed, the
	// state becomes State and the lease is released.
	Delivered bool
	// State is DeliveryRetrying, DeliveryPaused or DeliveryDisabled for a
	// failed attempt; it is ignored when Delivered is true.
	State string
	// NextAttemptAt is required with DeliveryRetrying.
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
}

// Deliveries keeps the per-session cursors of event delivery. The
// framework's deliverer claims a session's delivery to a sink, sends the
// events from the cursor one at a time, records each outcome, and
// releases the claim. At most one unexpired lease exists per session and
// sink, across processes. So the events of a session reach a sink in
// offset order, and the next event is sent only after the previous one
// was recorded as delivered.
//
// A SQL store keeps one row per session and sink (a missing row means
// active at cursor 0) and claims with SELECT ... FOR UPDATE SKIP LOCKED
// over the rows that the conditions of ClaimDelivery select, so replicas
// never wait for each other's claims.
type Deliveries interface {
	// ClaimDelivery leases, for owner and until now+ttl, the delivery of
	// one session to sink that has work at now: active with Cursor below
	// the session's NextOffset, or retrying with NextAttemptAt at or
	// before now. The lease must be free or expired, and the session
	// must have a WebhookURL when sink.RequireWebhookURL is set. It
	// returns ok=false when no session has work for the sink, and
	// ErrInvalidArgument for a sink without a name.
	ClaimDelivery(ctx context.Context, sink DeliverySink, owner string, now time.Time, ttl time.Duration) (DeliveryClaim, bool, error)
	// ExtendDeliveryLease moves the claim's expiry to now+ttl. It returns
	// ErrLeaseLost when the claim no longer holds the lease.
	ExtendDeliveryLease(ctx context.Context, c DeliveryClaim, ttl time.Duration) error
	// RecordDelivery stores the outcome of an attempt and returns the
	// sink's progress. It returns ErrLeaseLost, changing nothing, when
	// the claim no longer holds the lease, ErrConflict when o.Offset is
	// not the stored cursor, and ErrInvalidArgument for an outcome that
	// [DeliveryOutcome.Validate] rejects.
	RecordDelivery(ctx context.Context, c DeliveryClaim, o DeliveryOutcome) (Delivery, error)
	// ReleaseDelivery gives the lease up, so the session is claimed again
	// when it has work. Releasing a lost lease is not an error.
	ReleaseDelivery(ctx context.Context, c DeliveryClaim) error
	// ResumeDelivery makes the session's retrying, paused or disabled
	// delivery to sink active again with Attempts reset, or those of
	// every sink when sink is "". The cursor stays, so the event that
	// failed is the next one sent. A delivery in flight loses its lease.
	// LastStatus and LastError keep their values until the next attempt.
	// It returns ErrNotFound for an unknown or deleted session.
	ResumeDelivery(ctx context.Context, sessionID, sink string) (Session, error)
}
