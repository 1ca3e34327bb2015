package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors. Implementations return them (wrapped or not) so callers
// can test with [errors.Is].
var (
	// ErrNotFound: the customer, session or event log does not exist, or the
	// session was deleted.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the id was used by a deleted session, or a write would
	// break a uniqueness rule.
	ErrConflict = errors.New("store: conflict")
	// ErrTurnBusy: an append with [AppendOptions.RequireIdle] found a turn
	// pending or running.
	ErrTurnBusy = errors.New("store: turn in progress")
	// ErrLeaseLost: the caller's lease expired or another owner holds it.
	ErrLeaseLost = errors.New("store: lease lost")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrUnavailable: the store cannot reach its database for now (the
	// connection was refused, dropped or timed out). The call may have
	// been applied or not; retrying it later is the caller's choice. The
	// HTTP layer responds with 503 and Retry-After.
	ErrUnavailable = errors.New("store: database unavailable")
)

// Store is everything the server keeps. Implementations must be safe for
// concurrent use by many goroutines and, for durable stores, by several
// processes sharing the same database. The caller closes the store after
// the server has shut down.
//
// Methods that create a customer, session or run reject an empty id, and
// methods that take or extend a lease reject an empty owner or a ttl that
// is not positive. They return an error wrapping [ErrInvalidArgument] and
// change nothing.
type Store interface {
	Customers
	Sessions
	Events
	Turns
	Runs
	Deliveries

	// Notifier returns the notifier that Append wakes. It is the same value
	// for the store's whole life.
	Notifier() Notifier
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	// Close releases the store's resources. Calls after Close return
	// ErrClosed.
	Close() error
}

// Customer is a person who talks to the agent across sessions.
type Customer struct {
	ID   string
	Name string
	// Variables are shown to the model; Metadata never is.
	Variables map[string]any
	Metadata  map[string]any
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Customers stores customers.
type Customers interface {
	// PutCustomer creates the customer or replaces its name, variables and
	// metadata, keeping CreatedAt. It returns the stored value and whether it
	// was created.
	PutCustomer(ctx context.Context, c Customer) (Customer, bool, error)
	// GetCustomer returns ErrNotFound for an unknown id.
	GetCustomer(ctx context.Context, id string) (Customer, error)
	// MergeCustomer merges patch into the customer's variables (or metadata
	// when metadata is true); a nil value in patch deletes the key. It
	// returns ErrNotFound for an unknown id.
	MergeCustomer(ctx context.Context, id string, metadata bool, patch map[string]any) (Customer, error)
}

// Session modes.
const (
	ModeAuto   = "auto"
	ModeManual = "manual"
)

// Session is one conversation: an ordered log of events plus the state the
// engine needs to answer it.
type Session struct {
	ID         string
	CustomerID string
	// Mode is ModeAuto (the agent answers) or ModeManual (a human does).
	Mode       string
	Variables  map[string]any
	Metadata   map[string]any
	WebhookURL string
	CreatedAt  time.Time
	UpdatedAt  time.Time

	// NextOffset is the offset the next appended event gets: the number of
	// events in the log.
	NextOffset int64
	// TriggerOffset is the offset of the newest event appended with
	// [AppendOptions.Trigger], or -1.
	TriggerOffset int64
	// ProcessedOffset is one past the newest trigger answered by a completed
	// turn. The session needs a turn while TriggerOffset >= ProcessedOffset.
	ProcessedOffset int64
	// Lease is the running turn's lease; the zero value means none.
	Lease Lease
	// CancelRequested records a request to cancel the running turn: the
	// lease holder ends the turn as cancelled. See [Turns.RequestCancel].
	CancelRequested bool
	// Deliveries is the progress of pushing the session's events, by
	// sink name. A sink without an entry is active at cursor 0.
	Deliveries map[string]Delivery
}

// NeedsTurn reports whether a triggering message is still unanswered.
func (s *Session) NeedsTurn() bool { return s.TriggerOffset >= s.ProcessedOffset }

// Lease gives one worker exclusive ownership of a piece of work until
// Expires. The owner extends it by heartbeat; once it expires any worker may
// claim the work.
type Lease struct {
	Owner   string
	Token   string
	Expires time.Time
}

// Held reports whether the lease is owned and unexpired at now.
func (l Lease) Held(now time.Time) bool { return l.Owner != "" && now.Before(l.Expires) }

// SessionPatch lists the fields of an update; nil fields stay unchanged.
type SessionPatch struct {
	Mode       *string
	WebhookURL *string
	// Variables and Metadata are merged; a nil value deletes the key.
	Variables map[string]any
	Metadata  map[string]any
}

// SessionFilter selects sessions for [Sessions.ListSessions].
type SessionFilter struct {
	// CustomerID, when set, keeps only that customer's sessions.
	CustomerID string
	// Limit is the page size; implementations clamp it to 1..1000.
	Limit int
	// Cursor is the NextCursor of the previous page, or "" for the first.
	Cursor string
}

// Sessions stores sessions.
type Sessions interface {
	// CreateSession stores s when its id is new and returns it with
	// created=true. For an existing id it returns the stored session and
	// created=false, leaving it unchanged. An id that belonged to a deleted
	// session returns ErrConflict. The initial events, if any, are appended
	// in the same step, so a session is never seen without them.
	CreateSession(ctx context.Context, s Session, initial []NewEvent) (Session, bool, error)
	// GetSession returns ErrNotFound for an unknown or deleted id.
	GetSession(ctx context.Context, id string) (Session, error)
	// ListSessions returns sessions in creation order and the cursor of the
	// next page ("" at the end).
	ListSessions(ctx context.Context, f SessionFilter) ([]Session, string, error)
	// UpdateSession applies p and returns the result.
	UpdateSession(ctx context.Context, id string, p SessionPatch) (Session, error)
	// DeleteSession removes the session and its events; its id stays
	// reserved so it is never reused.
	DeleteSession(ctx context.Context, id string) error
}

// Event is one entry of a session's log. Payload is a JSON object with the
// kind's own fields; its format belongs to the writer, not the store.
type Event struct {
	SessionID string
	Offset    int64
	Kind      string
	TurnID    string
	CreatedAt time.Time
	Payload   json.RawMessage
}

// NewEvent is an event before the store assigns its offset and time.
type NewEvent struct {
	Kind    string
	TurnID  string
	Payload json.RawMessage
}

// AppendOptions changes how [Events.Append] treats the appended events.
type AppendOptions struct {
	// Trigger marks the last appended event as one that needs a turn: the
	// session's TriggerOffset moves to its offset.
	Trigger bool
	// RequireIdle makes the append fail with ErrTurnBusy when the session
	// needs a turn or a turn lease is held.
	RequireIdle bool
}

// Events stores session logs. Offsets of a session start at 0 and are
// gapless: concurrent appends never skip or share an offset.
type Events interface {
	// Append adds events to the end of the session's log in one step and
	// returns them with their offsets, then wakes the session's waiters
	// through the Notifier. It returns ErrNotFound for an unknown session.
	Append(ctx context.Context, sessionID string, events []NewEvent, opts AppendOptions) ([]Event, error)
	// ListEvents returns up to limit events with offset >= from, in offset
	// order. It returns ErrNotFound for an unknown session.
	ListEvents(ctx context.Context, sessionID string, from int64, limit int) ([]Event, error)
}

// TurnClaim is a held turn lease.
type TurnClaim struct {
	SessionID string
	Lease     Lease
	// Session is the session as it was when the claim was made.
	Session Session
}

// Turns coordinates which worker answers a session. At most one unexpired
// lease exists per session, across processes.
type Turns interface {
	// ClaimTurn takes the session's turn lease for owner when the session
	// needs a turn and the lease is free or expired. It returns ok=false
	// when there is nothing to do or another owner holds the lease. A
	// successful claim clears the stored CancelRequested, but the claim's
	// Session carries the value it had, so a new holder of a turn whose
	// cancel was requested before its old holder died ends it as cancelled.
	ClaimTurn(ctx context.Context, sessionID, owner string, ttl time.Duration) (TurnClaim, bool, error)
	// ExtendLease moves the lease's expiry to now+ttl. It returns ErrLeaseLost
	// when the claim no longer holds the lease.
	ExtendLease(ctx context.Context, c TurnClaim, ttl time.Duration) error
	// CompleteTurn appends events, sets ProcessedOffset to processed (never
	// lowering it), releases the lease and clears CancelRequested, all in
	// one step, so a turn's reply is written exactly once. It returns
	// ErrLeaseLost, appending nothing, when the claim no longer holds the
	// lease, and ErrInvalidArgument, appending nothing, when processed is
	// past the log's NextOffset before the append.
	CompleteTurn(ctx context.Context, c TurnClaim, events []NewEvent, processed int64) ([]Event, error)
	// ReleaseTurn gives the lease up without completing the turn, so the
	// session is claimed again. Releasing a lost lease is not an error.
	ReleaseTurn(ctx context.Context, c TurnClaim) error
	// RequestCancel records a request to cancel the session's running turn
	// for the lease holder, in this process or another. When the lease is
	// held and unexpired at the store's clock, it sets CancelRequested,
	// wakes the session's waiters through the Notifier (in every process
	// that shares the store) and returns true. Otherwise it changes nothing
	// and returns false. CompleteTurn, ReleaseTurn and ClaimTurn clear the
	// flag. It returns ErrNotFound for an unknown or deleted session.
	RequestCancel(ctx context.Context, sessionID string) (bool, error)
	// PendingTurns lists up to limit sessions that need a turn and whose
	// lease is free or expired at now: work a sweep should claim.
	PendingTurns(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// Notifier tells waiters that a session's log grew. Implementations must be
// safe for concurrent use. A wake-up carries no data: waiters re-read the
// store, so a coalesced or spurious wake-up is harmless but a lost one is
// not.
type Notifier interface {
	// Subscribe returns a channel that receives a value after every Notify
	// for the session, coalescing bursts, until cancel is called. Events
	// appended before Subscribe returns may or may not be signalled, so a
	// waiter subscribes first and reads the store second.
	Subscribe(sessionID string) (wake <-chan struct{}, cancel func())
	// Notify wakes every subscriber of the session.
	Notify(sessionID string)
}
