package routine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/agentry/agentry/internal/ids"
	"github.com/agentry/agentry/internal/ratelog"
	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/outbound"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// DelivererConfig configures a [Deliverer].
type DelivererConfig struct {
	// Store keeps runs and their callback state. Required.
	Store store.Store
	// Client sends the POSTs through the outbound guard. Required.
	Client *outbound.Client
	// SigningKeys sign each POST with the Standard Webhooks scheme, the
	// first key current; none means unsigned.
	SigningKeys [][]byte
	// BearerToken is sent as Authorization: Bearer; empty sends none.
	BearerToken string
	// Schedule is the retry schedule. Default outbound.DefaultSchedule.
	Schedule *outbound.Schedule
	// Owner names this process in leases. Default: a random id.
	Owner string
	// Logger receives delivery logs. Default: slog.Default().
	Logger *slog.Logger
	// Workers is the number of POSTs in flight at once. Default 16.
	Workers int
	// PollInterval is how often idle workers look for due retries.
	// Default 500ms.
	PollInterval time.Duration
	// LeaseTTL bounds how long a worker holds a callback; it must exceed
	// the POST timeout. Default 1m.
	LeaseTTL time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Telemetry receives a delivery.attempt span per POST and the
	// delivery metrics. Default: spans go to the global OpenTelemetry
	// provider and no metrics are recorded.
	Telemetry *telemetry.Telemetry
}

// Deliverer POSTs the result of each ended run to its callback URL, at
// least once, retrying on the schedule until a 2xx or a 410. It is safe
// for concurrent use.
type Deliverer struct {
	cfg  DelivererConfig
	log  *slog.Logger
	kick chan struct{}

	ctx  context.Context
	stop context.CancelFunc
	// abort cancels the POSTs in flight, which stop alone lets finish.
	inflight context.Context
	abort    context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
}

// NewDeliverer returns a deliverer that is not yet started.
func NewDeliverer(cfg DelivererConfig) (*Deliverer, error) {
	if cfg.Store == nil || cfg.Client == nil {
		return nil, errors.New("routine: DelivererConfig.Store and DelivererConfig.Client are required")
	}
	if cfg.Schedule == nil {
		s := outbound.DefaultSchedule()
		cfg.Schedule = &s
	}
	if cfg.Owner == "" {
		cfg.Owner = ids.New("proc_")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 500 * time.Millisecond
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, stop := context.WithCancel(context.Background())
	inflight, abort := context.WithCancel(context.Background())
	return &Deliverer{
		cfg: cfg, log: cfg.Logger, kick: make(chan struct{}, cfg.Workers),
		ctx: ctx, stop: stop, inflight: inflight, abort: abort,
	}, nil
}

// Wake signals an idle worker to look for due callbacks now.
func (d *Deliverer) Wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Start launches the workers.
func (d *Deliverer) Start(ctx context.Context) error {
	d.once.Do(func() {
		errs := ratelog.New(d.log, "claiming callback failed")
		for range d.cfg.Workers {
			d.wg.Add(1)
			go d.work(errs)
		}
		d.wg.Add(1)
		go d.poll()
	})
	return nil
}

// Stop stops the workers and waits for the POSTs in flight to finish and
// be recorded. When ctx ends first, it cancels them: they are recorded as
// failed attempts and sent again later, so a receiver may see a callback
// twice, as at-least-once delivery allows.
func (d *Deliverer) Stop(ctx context.Context) error {
	d.stop()
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	d.abort()
	d.log.Warn("callbacks in flight cancelled at shutdown; they are sent again later")
	select {
	case <-done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("routine: stopping callback workers: %w", ctx.Err())
	}
}

// poll wakes one idle worker every PollInterval, for callbacks whose
// retry fell due without a Wake. One poller, not one per worker, keeps an
// idle process to one claim query per interval.
func (d *Deliverer) poll() {
	defer d.wg.Done()
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
			d.Wake()
		}
	}
}

// work claims and delivers callbacks until the deliverer stops. A worker
// that claimed one wakes another, so a backlog spreads over the workers.
func (d *Deliverer) work(errs *ratelog.Errors) {
	defer d.wg.Done()
	for d.ctx.Err() == nil {
		claim, ok, err := d.cfg.Store.ClaimCallback(d.ctx, d.cfg.Owner, d.cfg.Now(), d.cfg.LeaseTTL)
		if err != nil && d.ctx.Err() == nil {
			errs.Report(err)
		}
		if ok {
			d.Wake()
			d.deliver(claim)
			continue
		}
		select {
		case <-d.ctx.Done():
		case <-d.kick:
		}
	}
}

// deliver makes one attempt and stores its outcome.
func (d *Deliverer) deliver(claim store.CallbackClaim) {
	run := claim.Run
	attempt := run.Callback.Attempts + 1
	log := d.log.With("run_id", run.ID, "routine_id", run.RoutineID, "attempt", attempt)

	body, err := CallbackBody(run)
	if err != nil {
		log.Error("encoding callback failed", "error", err)
		d.record(claim, store.CallbackOutcome{State: store.CallbackFailed, LastError: "encoding the body failed"}, log)
		return
	}
	ctx := telemetry.WithIDs(d.inflight, telemetry.IDs{RunID: run.ID})
	ctx, span := d.cfg.Telemetry.StartDelivery(ctx, telemetry.TargetCallback, run.CallbackURL, attempt)
	res := d.post(ctx, run, body)
	out := store.CallbackOutcome{LastStatus: res.StatusCode, LastError: res.Error}
	switch res.Kind {
	case outbound.Delivered:
		out.State = store.CallbackDelivered
		span.End(res.StatusCode, telemetry.DeliveryDelivered, "")
		log.Info("callback delivered", "status", res.StatusCode)
	case outbound.Gone:
		out.State = store.CallbackDisabled
		span.End(res.StatusCode, telemetry.DeliveryGone, res.Error)
		log.Warn("callback receiver returned 410 Gone; delivery stopped")
	default:
		delay, ok := d.cfg.Schedule.Next(attempt, res.RetryAfter)
		if !ok {
			out.State = store.CallbackFailed
			span.End(res.StatusCode, telemetry.DeliveryFailed, res.Error)
			log.Error("callback failed; attempts used up", "status", res.StatusCode, "error", res.Error)
			break
		}
		out.State = store.CallbackPending
		out.NextAttemptAt = d.cfg.Now().Add(delay)
		span.End(res.StatusCode, telemetry.DeliveryRetry, res.Error)
		log.Warn("callback attempt failed; retrying", "status", res.StatusCode, "error", res.Error, "retry_in", delay.String())
	}
	d.record(claim, out, log)
}

func (d *Deliverer) record(claim store.CallbackClaim, out store.CallbackOutcome, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 10*time.Second)
	defer cancel()
	if _, err := d.cfg.Store.RecordCallback(ctx, claim, out); err != nil {
		log.Error("storing callback outcome failed; the attempt is repeated when its lease expires", "error", err)
	}
}

// post sends one attempt. Every attempt carries the same body and
// webhook-id; only the timestamp and signature change.
// ctx derives from d.inflight.
func (d *Deliverer) post(ctx context.Context, run store.Run, body []byte) outbound.Outcome {
	// A POST in flight outlives Stop until Stop's context ends, so a
	// callback the receiver accepts is also recorded as delivered.
	ctx, cancel := context.WithTimeout(ctx, d.cfg.LeaseTTL)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, run.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return outbound.Classify(nil, err)
	}
	for k, v := range webhook.Headers(d.cfg.SigningKeys, run.ID, d.cfg.Now(), body) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "agentry-callback")
	if d.cfg.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+d.cfg.BearerToken)
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return outbound.Classify(nil, err)
	}
	_, readErr := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	out := outbound.Classify(resp, nil)
	if readErr != nil && out.Kind == outbound.Delivered {
		// The connection broke before the response was complete, so the
		// receiver may not have finished; a duplicate is safer than a loss.
		out.Kind = outbound.Retry
		out.Error = "the connection closed before the response was complete"
	}
	return out
}

// CallbackBody returns the JSON POSTed for an ended run. It depends only
// on the stored run, so every attempt sends the same bytes.
func CallbackBody(run store.Run) ([]byte, error) {
	cb := wire.RunCallback{
		RunID:      run.ID,
		RoutineID:  run.RoutineID,
		Status:     run.Status,
		Output:     run.Output,
		Trigger:    wire.RunTrigger{Source: run.Trigger.Source, Webhook: run.Trigger.Webhook},
		Metadata:   run.Metadata,
		CreatedAt:  run.CreatedAt.UTC(),
		FinishedAt: run.FinishedAt.UTC(),
	}
	if cb.Metadata == nil {
		cb.Metadata = map[string]any{}
	}
	if run.Error != nil {
		cb.Error = &wire.ErrorInfo{Code: run.Error.Code, Message: run.Error.Message}
	}
	if !run.StartedAt.IsZero() {
		started := run.StartedAt.UTC()
		cb.StartedAt = &started
		cb.DurationMS = run.FinishedAt.Sub(run.StartedAt).Milliseconds()
	}
	return json.Marshal(cb)
}
