package wire

import "time"

// Values of Delivery.State.
const (
	DeliveryActive   = "active"
	DeliveryRetrying = "retrying"
	DeliveryPaused   = "paused"
	DeliveryDisabled = "disabled"
)

// Delivery is the state of pushing a session's events to one sink, shown
// on GET /sessions/{id}.
type Delivery struct {
	// State is active (events go out as they are appended), retrying (the
	// event at Cursor failed and is tried again at NextAttemptAt), paused
	// (every attempt of that event failed) or disabled (the receiver
	// responded 410 Gone). POST /sessions/{id}/redeliver resumes a paused
	// or disabled delivery, and so does a PATCH of webhook_url.
	State string `json:"state" jsonschema:"enum=active,enum=retrying,enum=paused,enum=disabled"`
	// Cursor is the offset of the next event to deliver. Every event
	// before it was delivered.
	Cursor int64 `json:"cursor"`
	// Attempts counts the failed attempts of the event at Cursor.
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// LastStatus is the HTTP status of the last attempt, absent when it
	// got none.
	LastStatus int `json:"last_status,omitempty"`
	// LastError describes the last failed attempt, until an event is
	// delivered.
	LastError     string     `json:"last_error,omitempty"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
}
