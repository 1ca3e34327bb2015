package agentry

import (
	"context"
	"time"

	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/store"
)

// timedStore records the latency of each call to the store it wraps, by
// method name, in agentry_store_operation_duration_seconds. It names the
// inner store in a field rather than embedding it, so a method added to
// store.Store fails to compile here until it is timed too.
type timedStore struct {
	inner   store.Store
	metrics *telemetry.Metrics
}

var _ store.Store = timedStore{}

// observe records the time since started under operation.
func (t timedStore) observe(operation string, started time.Time) {
	t.metrics.StoreOperation(operation, time.Since(started))
}

// Notifier returns the inner store's notifier; subscribing is not timed.
func (t timedStore) Notifier() store.Notifier { return t.inner.Notifier() }

// Close closes the inner store.
func (t timedStore) Close() error { return t.inner.Close() }

func (t timedStore) Ping(ctx context.Context) error {
	defer t.observe("Ping", time.Now())
	return t.inner.Ping(ctx)
}

func (t timedStore) PutCustomer(ctx context.Context, c store.Customer) (store.Customer, bool, error) {
	defer t.observe("PutCustomer", time.Now())
	return t.inner.PutCustomer(ctx, c)
}

func (t timedStore) GetCustomer(ctx context.Context, id string) (store.Customer, error) {
	defer t.observe("GetCustomer", time.Now())
	return t.inner.GetCustomer(ctx, id)
}

func (t timedStore) MergeCustomer(ctx context.Context, id string, metadata bool, patch map[string]any) (store.Customer, error) {
	defer t.observe("MergeCustomer", time.Now())
	return t.inner.MergeCustomer(ctx, id, metadata, patch)
}

func (t timedStore) CreateSession(ctx context.Context, s store.Session, initial []store.NewEvent) (store.Session, bool, error) {
	defer t.observe("CreateSession", time.Now())
	return t.inner.CreateSession(ctx, s, initial)
}

func (t timedStore) GetSession(ctx context.Context, id string) (store.Session, error) {
	defer t.observe("GetSession", time.Now())
	return t.inner.GetSession(ctx, id)
}

func (t timedStore) ListSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, string, error) {
	defer t.observe("ListSessions", time.Now())
	return t.inner.ListSessions(ctx, f)
}

func (t timedStore) UpdateSession(ctx context.Context, id string, p store.SessionPatch) (store.Session, error) {
	defer t.observe("UpdateSession", time.Now())
	return t.inner.UpdateSession(ctx, id, p)
}

func (t timedStore) DeleteSession(ctx context.Context, id string) error {
	defer t.observe("DeleteSession", time.Now())
	return t.inner.DeleteSession(ctx, id)
}

func (t timedStore) Append(ctx context.Context, sessionID string, events []store.NewEvent, opts store.AppendOptions) ([]store.Event, error) {
	defer t.observe("Append", time.Now())
	return t.inner.Append(ctx, sessionID, events, opts)
}

func (t timedStore) ListEvents(ctx context.Context, sessionID string, from int64, limit int) ([]store.Event, error) {
	defer t.observe("ListEvents", time.Now())
	return t.inner.ListEvents(ctx, sessionID, from, limit)
}

func (t timedStore) ClaimTurn(ctx context.Context, sessionID string, owner string, ttl time.Duration) (store.TurnClaim, bool, error) {
	defer t.observe("ClaimTurn", time.Now())
	return t.inner.ClaimTurn(ctx, sessionID, owner, ttl)
}

func (t timedStore) ExtendLease(ctx context.Context, c store.TurnClaim, ttl time.Duration) error {
	defer t.observe("ExtendLease", time.Now())
	return t.inner.ExtendLease(ctx, c, ttl)
}

func (t timedStore) CompleteTurn(ctx context.Context, c store.TurnClaim, events []store.NewEvent, processed int64) ([]store.Event, error) {
	defer t.observe("CompleteTurn", time.Now())
	return t.inner.CompleteTurn(ctx, c, events, processed)
}

func (t timedStore) ReleaseTurn(ctx context.Context, c store.TurnClaim) error {
	defer t.observe("ReleaseTurn", time.Now())
	return t.inner.ReleaseTurn(ctx, c)
}

func (t timedStore) RequestCancel(ctx context.Context, sessionID string) (bool, error) {
	defer t.observe("RequestCancel", time.Now())
	return t.inner.RequestCancel(ctx, sessionID)
}

func (t timedStore) PendingTurns(ctx context.Context, now time.Time, limit int) ([]string, error) {
	defer t.observe("PendingTurns", time.Now())
	return t.inner.PendingTurns(ctx, now, limit)
}

func (t timedStore) CreateRun(ctx context.Context, r store.Run) (store.Run, bool, error) {
	defer t.observe("CreateRun", time.Now())
	return t.inner.CreateRun(ctx, r)
}

func (t timedStore) GetRun(ctx context.Context, id string) (store.Run, error) {
	defer t.observe("GetRun", time.Now())
	return t.inner.GetRun(ctx, id)
}

func (t timedStore) ClaimRun(ctx context.Context, owner string, ttl time.Duration) (store.RunClaim, bool, error) {
	defer t.observe("ClaimRun", time.Now())
	return t.inner.ClaimRun(ctx, owner, ttl)
}

func (t timedStore) ExtendRunLease(ctx context.Context, c store.RunClaim, ttl time.Duration) error {
	defer t.observe("ExtendRunLease", time.Now())
	return t.inner.ExtendRunLease(ctx, c, ttl)
}

func (t timedStore) CompleteRun(ctx context.Context, c store.RunClaim, res store.RunResult) (store.Run, error) {
	defer t.observe("CompleteRun", time.Now())
	return t.inner.CompleteRun(ctx, c, res)
}

func (t timedStore) CancelRun(ctx context.Context, id string) (store.Run, error) {
	defer t.observe("CancelRun", time.Now())
	return t.inner.CancelRun(ctx, id)
}

func (t timedStore) ClaimCallback(ctx context.Context, owner string, now time.Time, ttl time.Duration) (store.CallbackClaim, bool, error) {
	defer t.observe("ClaimCallback", time.Now())
	return t.inner.ClaimCallback(ctx, owner, now, ttl)
}

func (t timedStore) RecordCallback(ctx context.Context, c store.CallbackClaim, o store.CallbackOutcome) (store.Run, error) {
	defer t.observe("RecordCallback", time.Now())
	return t.inner.RecordCallback(ctx, c, o)
}

func (t timedStore) RedeliverCallback(ctx context.Context, id string) (store.Run, error) {
	defer t.observe("RedeliverCallback", time.Now())
	return t.inner.RedeliverCallback(ctx, id)
}

func (t timedStore) ClaimDelivery(ctx context.Context, sink store.DeliverySink, owner string, now time.Time, ttl time.Duration) (store.DeliveryClaim, bool, error) {
	defer t.observe("ClaimDelivery", time.Now())
	return t.inner.ClaimDelivery(ctx, sink, owner, now, ttl)
}

func (t timedStore) ExtendDeliveryLease(ctx context.Context, c store.DeliveryClaim, ttl time.Duration) error {
	defer t.observe("ExtendDeliveryLease", time.Now())
	return t.inner.ExtendDeliveryLease(ctx, c, ttl)
}

func (t timedStore) RecordDelivery(ctx context.Context, c store.DeliveryClaim, o store.DeliveryOutcome) (store.Delivery, error) {
	defer t.observe("RecordDelivery", time.Now())
	return t.inner.RecordDelivery(ctx, c, o)
}

func (t timedStore) ReleaseDelivery(ctx context.Context, c store.DeliveryClaim) error {
	defer t.observe("ReleaseDelivery", time.Now())
	return t.inner.ReleaseDelivery(ctx, c)
}

func (t timedStore) ResumeDelivery(ctx context.Context, sessionID string, sink string) (store.Session, error) {
	defer t.observe("ResumeDelivery", time.Now())
	return t.inner.ResumeDelivery(ctx, sessionID, sink)
}
