package transport

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/agentry/agentry/internal/ratelog"
	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/outbound"
	"github.com/agentry/agentry/transport/sink"
)

// Defaults of EventDelivererConfig.
const (
	// DefaultMaxPerReceiver is the default bound on deliveries in flight
	// to one receiver.
	DefaultMaxPerReceiver = 8
	defaultEventBatch     = 100
	defaultEventPoll      = time.Second
)

// EventDelivererConfig configures an [EventDeliverer].
type EventDelivererConfig struct {
	// Store keeps the events and each session's delivery cursors.
	// Required.
	Store store.Store
	// Sinks receive every event of every session, each with a cursor of
	// its own. Required: at least one, with unique names of 1 to 64
	// letters, digits, '-' or '_'.
	Sinks []sink.Sink
	// DefaultURL is the target of sessions without a webhook_url: the
	// manifest's runtime.event_webhook.url. Default "", which leaves
	// such sessions without a target for sinks that need a URL.
	DefaultURL string
	// Schedule is the retry schedule of a failed event. Default
	// outbound.DefaultSchedule().
	Schedule *outbound.Schedule
	// MaxPerReceiver bounds the deliveries in flight to one receiver
	// (see sink.ReceiverKeyer). Default DefaultMaxPerReceiver (8).
	MaxPerReceiver int
	// AttemptTimeout bounds one Deliver call. Default
	// outbound.DefaultTimeout (15s).
	AttemptTimeout time.Duration
	// LeaseTTL is how long a claim lasts without a heartbeat. Heartbeats
	// run every third of it. Default AttemptTimeout plus 30s.
	LeaseTTL time.Duration
	// PollInterval is how often the deliverer looks for work that no
	// wake-up announced, such as the expired leases of a crashed
	// process. Default 1s.
	PollInterval time.Duration
	// BatchSize is the number of events sent per claim before the
	// session goes back to the store, so other sessions get their turn.
	// Default 100.
	BatchSize int
	// Owner names this process in leases. Default: a random id.
	Owner string
	// Logger receives delivery logs. Default: slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Telemetry receives a delivery.attempt span per attempt and the
	// delivery metrics. Default: spans go to the global OpenTelemetry
	// provider and no metrics are recorded.
	Telemetry *telemetry.Telemetry
}

// EventDeliverer pushes every session's events to the sinks, at least
// once and in offset order per session and sink. A session's cursor
// moves only after a sink accepted the event, so a restart resumes where
// delivery stopped. A failed event is retried on the schedule, and the
// session's later events wait for it. When the schedule runs out, the
// session's delivery to that sink pauses until it is resumed through the
// store (PATCH of webhook_url or POST /sessions/{id}/redeliver).
//
// Sessions of different receivers are delivered independently, and those
// of one receiver concurrently up to MaxPerReceiver. A claimed session
// whose receiver is at its bound waits in this process, holding its
// lease, so a slow or hanging receiver never holds back the others.
type EventDeliverer struct {
	cfg   EventDelivererConfig
	log   *slog.Logger
	sinks []*sinkSpec
	kick  chan struct{}

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
	once sync.Once

	mu    sync.Mutex
	lanes map[string]*lane
	held  map[*job]struct{}
}

// sinkSpec is a sink with what the store needs to claim work for it.
type sinkSpec struct {
	sink  sink.Sink
	claim store.DeliverySink
	keyer sink.ReceiverKeyer
}

// NewEventDeliverer returns a deliverer that is not yet started.
func NewEventDeliverer(cfg EventDelivererConfig) (*EventDeliverer, error) {
	if cfg.Store == nil || len(cfg.Sinks) == 0 {
		return nil, errors.New("transport: EventDelivererConfig.Store and at least one sink are required")
	}
	if cfg.Schedule == nil {
		s := outbound.DefaultSchedule()
		cfg.Schedule = &s
	}
	if err := cfg.Schedule.Validate(); err != nil {
		return nil, fmt.Errorf("transport: event delivery schedule: %w", err)
	}
	if cfg.MaxPerReceiver <= 0 {
		cfg.MaxPerReceiver = DefaultMaxPerReceiver
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = outbound.DefaultTimeout
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = cfg.AttemptTimeout + 30*time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = defaultEventPoll
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = defaultEventBatch
	}
	if cfg.Owner == "" {
		cfg.Owner = "proc_" + rand.Text()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	d := &EventDeliverer{
		cfg:   cfg,
		log:   cfg.Logger,
		kick:  make(chan struct{}, 1),
		lanes: make(map[string]*lane),
		held:  make(map[*job]struct{}),
	}
	names := make(map[string]bool)
	for i, s := range cfg.Sinks {
		if s == nil {
			return nil, fmt.Errorf("transport: sink %d is nil", i)
		}
		name := s.Name()
		if !idPattern.MatchString(name) {
			return nil, fmt.Errorf("transport: sink name %q is invalid: it %s", name, idRule)
		}
		if names[name] {
			return nil, fmt.Errorf("transport: two sinks are named %q; give each sink its own name", name)
		}
		names[name] = true
		spec := &sinkSpec{sink: s, claim: store.DeliverySink{Name: name}}
		if u, ok := s.(sink.URLSink); ok && u.NeedsURL() && cfg.DefaultURL == "" {
			spec.claim.RequireWebhookURL = true
		}
		spec.keyer, _ = s.(sink.ReceiverKeyer)
		d.sinks = append(d.sinks, spec)
	}
	d.ctx, d.stop = context.WithCancel(context.Background())
	return d, nil
}

// SinkNames returns the names of the sinks, in the order of the config.
func (d *EventDeliverer) SinkNames() []string {
	names := make([]string, len(d.sinks))
	for i, s := range d.sinks {
		names[i] = s.claim.Name
	}
	return names
}

// HasTarget reports whether the sink delivers the session: always for
// sinks that need no URL, and for the others when the session has a
// webhook URL or the deliverer a default URL.
func (d *EventDeliverer) HasTarget(sinkName string, sess store.Session) bool {
	for _, s := range d.sinks {
		if s.claim.Name == sinkName {
			return !s.claim.RequireWebhookURL || sess.WebhookURL != ""
		}
	}
	return false
}

// Wake makes the deliverer look for work now.
func (d *EventDeliverer) Wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Start launches the dispatcher and the lease heartbeat.
func (d *EventDeliverer) Start(ctx context.Context) error {
	d.once.Do(func() {
		d.wg.Add(2)
		go d.dispatch()
		go d.heartbeat()
	})
	return nil
}

// Stop stops claiming, cancels the attempts in flight, releases every
// claim this process holds and waits for that, or for ctx. An event
// whose attempt was cancelled is sent again by the next owner.
func (d *EventDeliverer) Stop(ctx context.Context) error {
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
		return fmt.Errorf("transport: stopping event delivery: %w", ctx.Err())
	}
}

// dispatch claims work whenever the store announces some, the poll
// interval passes or Wake is called, and hands each claim to its lane.
func (d *EventDeliverer) dispatch() {
	defer d.wg.Done()
	wake, cancel := d.cfg.Store.Notifier().Subscribe(store.DeliveryTopic)
	defer cancel()
	ticker := time.NewTicker(d.cfg.PollInterval)
	defer ticker.Stop()
	errs := ratelog.New(d.log, "claiming event deliveries failed")
	for d.ctx.Err() == nil {
		d.claimAll(errs)
		select {
		case <-d.ctx.Done():
		case <-wake:
		case <-d.kick:
		case <-ticker.C:
		}
	}
}

// claimAll claims work for every sink in turn until no sink has any.
func (d *EventDeliverer) claimAll(errs *ratelog.Errors) {
	pending := len(d.sinks)
	done := make([]bool, len(d.sinks))
	for pending > 0 && d.ctx.Err() == nil {
		for i, s := range d.sinks {
			if done[i] {
				continue
			}
			c, ok, err := d.cfg.Store.ClaimDelivery(d.ctx, s.claim, d.cfg.Owner, d.cfg.Now(), d.cfg.LeaseTTL)
			if err != nil && d.ctx.Err() == nil {
				errs.Report(err, "sink", s.claim.Name)
			}
			if !ok {
				done[i] = true
				pending--
				continue
			}
			d.assign(s, c)
		}
	}
}

// heartbeat extends the lease of every claim this process holds, so a
// session waiting for its receiver or in a long attempt keeps its lease.
// A claim whose lease is gone is marked lost and sends nothing more.
func (d *EventDeliverer) heartbeat() {
	defer d.wg.Done()
	ticker := time.NewTicker(d.cfg.LeaseTTL / 3)
	defer ticker.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-ticker.C:
		}
		d.mu.Lock()
		jobs := make([]*job, 0, len(d.held))
		for j := range d.held {
			jobs = append(jobs, j)
		}
		d.mu.Unlock()
		for _, j := range jobs {
			if j.lost.Load() {
				continue
			}
			err := d.cfg.Store.ExtendDeliveryLease(d.ctx, j.claim, d.cfg.LeaseTTL)
			switch {
			case err == nil:
			case errors.Is(err, store.ErrLeaseLost), errors.Is(err, store.ErrNotFound):
				j.lost.Store(true)
			case d.ctx.Err() == nil:
				d.log.Warn("extending an event delivery lease failed; retrying at the next heartbeat",
					"session_id", j.claim.Session.ID, "sink", j.claim.Sink, "error", err)
			}
		}
	}
}
