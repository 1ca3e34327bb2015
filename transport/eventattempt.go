package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/outbound"
	"github.com/agentry/agentry/transport/sink"
	"github.com/agentry/agentry/transport/wire"
)

// storeTimeout bounds the store calls that record an outcome or release
// a claim. They run even during shutdown, so that an accepted event is
// not sent again needlessly.
const storeTimeout = 10 * time.Second

// deliver sends the claimed session's events from its cursor, up to one
// batch, and releases the claim. It stops at the first failed event,
// whose outcome releases the claim.
func (d *EventDeliverer) deliver(j *job) {
	c := j.claim
	if j.lost.Load() {
		return
	}
	if d.ctx.Err() != nil {
		d.release(j)
		return
	}
	// A claim that waited for a free slot may have lost its lease, for
	// example to a new webhook URL. This check also renews the lease.
	if j.queued {
		if err := d.cfg.Store.ExtendDeliveryLease(d.ctx, c, d.cfg.LeaseTTL); err != nil {
			if !errors.Is(err, store.ErrLeaseLost) && !errors.Is(err, store.ErrNotFound) {
				j.logger(d.log).Warn("renewing an event delivery lease failed; the session is delivered when the lease expires", "error", err)
			}
			return
		}
	}

	events, err := d.cfg.Store.ListEvents(d.ctx, c.Session.ID, c.Delivery.Cursor, d.cfg.BatchSize)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && d.ctx.Err() == nil {
			j.logger(d.log).Error("reading events for delivery failed; retrying on the next claim", "error", err)
		}
		d.release(j)
		return
	}
	attempts := c.Delivery.Attempts
	for _, ev := range events {
		if d.ctx.Err() != nil || j.lost.Load() {
			break
		}
		if !d.attempt(j, ev, attempts) {
			return
		}
		attempts = 0
	}
	d.release(j)
}

// attempt sends one event and records the outcome. It returns true when
// the event was delivered and the claim still holds the lease.
func (d *EventDeliverer) attempt(j *job, ev store.Event, attempts int) bool {
	we, err := toWireEvent(ev)
	var body []byte
	if err == nil {
		body, err = json.Marshal(we)
	}
	if err != nil {
		j.logger(d.log).Error("encoding an event for delivery failed; delivery paused at it",
			"offset", ev.Offset, "error", err)
		d.record(j, store.DeliveryOutcome{
			Offset: ev.Offset, State: store.DeliveryPaused,
			LastError: "encoding the event failed; the server log has the details",
		})
		return false
	}

	started := time.Now()
	ctx := telemetry.WithIDs(d.ctx, telemetry.IDs{SessionID: ev.SessionID})
	ctx, span := d.cfg.Telemetry.StartDelivery(ctx, j.spec.claim.Name, j.target.URL, attempts+1)
	res := d.call(ctx, j, we, body)
	if res.Kind != outbound.Delivered && d.ctx.Err() != nil {
		// Stop cancelled the attempt, so the failure is not the
		// receiver's. The next owner sends the event again.
		span.End(res.StatusCode, telemetry.DeliveryRetry, "cancelled at shutdown")
		d.release(j)
		return false
	}
	out, delay := d.outcome(ev.Offset, attempts, res)
	span.End(res.StatusCode, deliveryOutcome(out), out.LastError)
	if !d.record(j, out) {
		return false
	}

	switch {
	case out.Delivered:
		if d.log.Enabled(d.ctx, slog.LevelDebug) {
			j.logger(d.log).Debug("event delivered", "offset", ev.Offset, "status", res.StatusCode,
				"duration", time.Since(started).String())
		}
		return true
	case out.State == store.DeliveryDisabled:
		j.logger(d.log).Warn("event receiver is gone; delivery to the session disabled until it is resumed",
			"offset", ev.Offset, "status", res.StatusCode, "error", out.LastError)
	case out.State == store.DeliveryPaused:
		j.logger(d.log).Error("event delivery failed and its attempts are used up; delivery paused until it is resumed",
			"offset", ev.Offset, "attempts", attempts+1, "status", res.StatusCode, "error", out.LastError)
	default:
		j.logger(d.log).Warn("event delivery failed; retrying", "offset", ev.Offset, "attempt", attempts+1,
			"status", res.StatusCode, "error", out.LastError, "retry_in", delay.String())
		// The store makes the session claimable at NextAttemptAt; the
		// margin covers the rounding between clocks.
		time.AfterFunc(delay+5*time.Millisecond, d.Wake)
	}
	return false
}

// deliveryOutcome maps a stored outcome to the outcome of the
// delivery.attempt span and the delivery metrics.
func deliveryOutcome(out store.DeliveryOutcome) string {
	switch {
	case out.Delivered:
		return telemetry.DeliveryDelivered
	case out.State == store.DeliveryDisabled:
		return telemetry.DeliveryGone
	case out.State == store.DeliveryPaused:
		return telemetry.DeliveryFailed
	}
	return telemetry.DeliveryRetry
}

// call runs the sink's Deliver with the attempt timeout. A panic in the
// sink counts as a failed attempt instead of ending the process. ctx
// derives from d.ctx.
func (d *EventDeliverer) call(ctx context.Context, j *job, ev wire.Event, body []byte) (res sink.Result) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.AttemptTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			d.log.Error("event sink panicked; the attempt counts as failed",
				"sink", j.spec.claim.Name, "session_id", ev.SessionID, "offset", ev.Offset, "panic", fmt.Sprint(p))
			res = sink.Retry("the sink panicked; the server log has the details", 0)
		}
	}()
	return j.spec.sink.Deliver(ctx, j.target, ev, body)
}

// outcome turns a sink's result into the outcome to store, with the wait
// before the next attempt of a retrying one.
func (d *EventDeliverer) outcome(offset int64, attempts int, res sink.Result) (store.DeliveryOutcome, time.Duration) {
	out := store.DeliveryOutcome{Offset: offset, LastStatus: res.StatusCode, LastError: res.Error}
	switch res.Kind {
	case outbound.Delivered:
		out.Delivered = true
		return out, 0
	case outbound.Gone:
		out.State = store.DeliveryDisabled
		return out, 0
	}
	if out.LastError == "" {
		out.LastError = "the sink reported a failure without a reason"
	}
	delay, ok := d.cfg.Schedule.Next(attempts+1, res.RetryAfter)
	if !ok {
		out.State = store.DeliveryPaused
		return out, 0
	}
	out.State = store.DeliveryRetrying
	out.NextAttemptAt = d.cfg.Now().Add(delay)
	return out, delay
}

// record stores an attempt's outcome and reports whether it was stored.
// A deleted session or a lost lease is not stored.
func (d *EventDeliverer) record(j *job, out store.DeliveryOutcome) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), storeTimeout)
	defer cancel()
	if _, err := d.cfg.Store.RecordDelivery(ctx, j.claim, out); err != nil {
		switch {
		case errors.Is(err, store.ErrNotFound):
		case errors.Is(err, store.ErrLeaseLost):
			// A resume (such as a new webhook URL) or an expired lease
			// handed the session on; its new owner sends the event.
			j.logger(d.log).Info("event delivery lease taken over; the new owner sends the event again",
				"offset", out.Offset, "delivered", out.Delivered)
		default:
			j.logger(d.log).Warn("storing an event delivery outcome failed; the event is sent again by the next owner",
				"offset", out.Offset, "delivered", out.Delivered, "error", err)
		}
		return false
	}
	return true
}

// release gives the claim back to the store, which makes the session
// claimable again when events are left.
func (d *EventDeliverer) release(j *job) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), storeTimeout)
	defer cancel()
	if err := d.cfg.Store.ReleaseDelivery(ctx, j.claim); err != nil && !errors.Is(err, store.ErrNotFound) {
		j.logger(d.log).Warn("releasing an event delivery claim failed; the session is delivered when the lease expires", "error", err)
	}
	d.Wake()
}
