package sink

import (
	"context"
	"time"

	"github.com/agentry/agentry/transport/outbound"
	"github.com/agentry/agentry/transport/wire"
)

// Sink delivers session events to one kind of destination. The deliverer
// calls Deliver for one event at a time per session, in offset order, and
// sends the next event of that session only after Deliver returned a
// delivered Result. Calls for different sessions run concurrently, so
// implementations must be safe for concurrent use.
type Sink interface {
	// Name identifies the sink: 1 to 64 letters, digits, '-' or '_',
	// unique among the sinks of a server. The store keeps each session's
	// cursor under this name, so renaming a sink starts its deliveries
	// over from the first event of every session.
	Name() string
	// Deliver sends ev, whose JSON encoding is body, and classifies the
	// outcome. body is the same bytes on every attempt for the event.
	// ctx ends when the attempt times out or the server stops.
	Deliver(ctx context.Context, target Target, ev wire.Event, body []byte) Result
}

// ReceiverKeyer is implemented by sinks that deliver to several
// receivers. The deliverer bounds the deliveries in flight per receiver
// key, so a slow receiver never holds back the others. A sink without it
// counts as one receiver.
type ReceiverKeyer interface {
	// ReceiverKey names the receiver that Deliver reaches for target.
	ReceiverKey(target Target) string
}

// URLSink is implemented by sinks that deliver to Target.URL. When
// NeedsURL returns true and the manifest names no default URL, a session
// without a webhook_url holds its events for the sink. Delivery starts
// from the first undelivered event once a URL is set, so none is skipped.
type URLSink interface {
	NeedsURL() bool
}

// Target is the destination of an event and the session it belongs to.
type Target struct {
	SessionID  string
	CustomerID string
	// Metadata is the session's metadata as it was when the deliverer
	// claimed the session, for sinks that route on it.
	Metadata map[string]any
	// URL is the session's webhook_url, or else the manifest's
	// runtime.event_webhook.url, or "" when neither is set.
	URL string
	// Default reports that URL is the manifest's default, written by the
	// operator, rather than a session's webhook_url from an API call.
	Default bool
}

// Result is the outcome of one Deliver call. Kind outbound.Delivered
// moves the session's cursor past the event, outbound.Gone disables the
// session's delivery to the sink, and outbound.Retry (or a zero Kind)
// retries the event on the schedule, after at least RetryAfter. Error is
// shown to operators on GET /sessions/{id}, so it must not contain
// secrets.
type Result = outbound.Outcome

// Delivered returns the Result of an accepted event.
func Delivered() Result {
	return Result{Kind: outbound.Delivered}
}

// Retry returns the Result of a failed attempt that is worth repeating.
// retryAfter is the least wait the receiver requested, or 0.
func Retry(reason string, retryAfter time.Duration) Result {
	return Result{Kind: outbound.Retry, Error: reason, RetryAfter: retryAfter}
}

// Gone returns the Result of a destination that will never accept
// events again.
func Gone(reason string) Result {
	return Result{Kind: outbound.Gone, Error: reason}
}
