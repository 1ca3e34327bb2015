package routine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/agentry/agentry/internal/ids"
	"github.com/agentry/agentry/internal/ratelog"
	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/store"
)

// Errors of [Runner.Trigger].
var (
	// ErrUnknownRoutine: no autonomous routine has the id.
	ErrUnknownRoutine = errors.New("routine: no autonomous routine with this id")
	// ErrIdempotencyConflict: the idempotency key was used with another
	// input.
	ErrIdempotencyConflict = errors.New("routine: idempotency key reused with a different input")
)

// InvalidTriggerError lists every problem of a trigger request: input
// that violates the schema (paths under /input) and a callback URL that
// is not allowed (path /callback_url).
type InvalidTriggerError struct {
	Violations []Violation
}

func (e *InvalidTriggerError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Path + ": " + v.Message
	}
	return "invalid trigger: " + strings.Join(parts, "; ")
}

// Failure codes that the runner sets itself, beside those of [Failure].
const (
	// CodeTimeout: the run did not end within autonomous.timeout_seconds
	// of its start.
	CodeTimeout = "timeout"
	// CodeCancelled: the run was cancelled through the API.
	CodeCancelled = "cancelled"
	// CodeInterrupted: the run's process died and its attempts are used
	// up.
	CodeInterrupted = "interrupted"
)

// Causes of a run's context cancellation, read with context.Cause.
var (
	errRunTimeout   = errors.New("run timed out")
	errRunCancelled = errors.New("run cancelled")
	errRunLeaseLost = errors.New("run lease lost")
)

// RunnerConfig configures a [Runner].
type RunnerConfig struct {
	// Store keeps runs. Required.
	Store store.Store
	// Executor runs the routines' graphs. Required.
	Executor *Executor
	// Routines are the autonomous routines that can be triggered.
	Routines []*Routine
	// CheckCallback checks a callback URL (form, allowlist aside) before a
	// run is stored, for example against the outbound guard. It returns a
	// message for the caller, or "" when the URL is acceptable. Optional.
	CheckCallback func(ctx context.Context, rawURL string) string
	// Owner names this process in leases. Default: a random id.
	Owner string
	// Logger receives the runner's logs. Default: slog.Default().
	Logger *slog.Logger
	// Workers is the number of runs executed at once. Default 8.
	Workers int
	// LeaseTTL is how long a run lease lasts without a heartbeat. Default 30s.
	LeaseTTL time.Duration
	// PollInterval is how often idle workers look for runs that no
	// wake-up announced, such as runs of a crashed process. Default 1s.
	PollInterval time.Duration
	// OnEnded is called after a run ended, so the callback deliverer can
	// start at once. Optional.
	OnEnded func(store.Run)
	// Telemetry receives a routine.run span per run and the run metrics.
	// Default: spans go to the global OpenTelemetry provider and no
	// metrics are recorded.
	Telemetry *telemetry.Telemetry
}

// Runner stores triggered runs and executes them in the background with
// a pool of workers. It is safe for concurrent use.
type Runner struct {
	cfg      RunnerConfig
	log      *slog.Logger
	routines map[string]*Routine
	kick     chan struct{}

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
	once sync.Once
}

// NewRunner returns a runner that is not yet started.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Store == nil || cfg.Executor == nil {
		return nil, errors.New("routine: RunnerConfig.Store and RunnerConfig.Executor are required")
	}
	if cfg.Owner == "" {
		cfg.Owner = ids.New("proc_")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	routines := make(map[string]*Routine, len(cfg.Routines))
	for _, r := range cfg.Routines {
		if r.Autonomous() {
			routines[r.ID()] = r
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Runner{
		cfg:      cfg,
		log:      cfg.Logger,
		routines: routines,
		kick:     make(chan struct{}, cfg.Workers),
		ctx:      ctx,
		stop:     stop,
	}, nil
}

// Routines returns the autonomous routines, in no particular order.
func (r *Runner) Routines() []*Routine {
	out := make([]*Routine, 0, len(r.routines))
	for _, rt := range r.routines {
		out = append(out, rt)
	}
	return out
}

// Routine returns the autonomous routine with the id.
func (r *Runner) Routine(id string) (*Routine, bool) {
	rt, ok := r.routines[id]
	return rt, ok
}

// TriggerRequest is a request for a run of an autonomous routine.
type TriggerRequest struct {
	RoutineID string
	Input     json.RawMessage
	// CallbackURL overrides the routine's callback_url.
	CallbackURL    string
	IdempotencyKey string
	Metadata       map[string]any
	// Source is "api" (default) or "webhook"; Webhook names the inbound
	// webhook.
	Source  string
	Webhook string
	// DedupeHash, when set, replaces the hash of Input that distinguishes
	// a repeated idempotency key from a reuse with other content. Inbound
	// webhooks set it to a hash of the whole body.
	DedupeHash string
}

// Trigger validates req, stores a queued run and wakes a worker. The run
// is stored before Trigger returns, so nothing accepted is lost. With an
// idempotency key already used for the routine, it returns the existing
// run and created=false, or ErrIdempotencyConflict when the input differs.
func (r *Runner) Trigger(ctx context.Context, req TriggerRequest) (store.Run, bool, error) {
	rt, ok := r.routines[req.RoutineID]
	if !ok {
		return store.Run{}, false, ErrUnknownRoutine
	}
	callback := req.CallbackURL
	if callback == "" {
		callback = rt.def.Autonomous.CallbackURL
	}
	var problems []Violation
	if len(req.Input) == 0 {
		problems = append(problems, Violation{Path: "/input", Message: "missing: send the routine's input as a JSON value"})
	} else {
		for _, v := range rt.ValidateInput(req.Input) {
			problems = append(problems, Violation{Path: "/input" + v.Path, Message: v.Message})
		}
	}
	if msg := r.checkCallback(ctx, rt, callback); msg != "" {
		problems = append(problems, Violation{Path: "/callback_url", Message: msg})
	}
	if len(problems) > 0 {
		return store.Run{}, false, &InvalidTriggerError{Violations: problems}
	}

	hash := req.DedupeHash
	if hash == "" {
		var err error
		if hash, err = inputHash(req.Input); err != nil {
			return store.Run{}, false, &InvalidTriggerError{Violations: []Violation{{Path: "/input", Message: err.Error()}}}
		}
	}
	source := req.Source
	if source == "" {
		source = "api"
	}
	run := store.Run{
		ID:             ids.New("run_"),
		RoutineID:      rt.ID(),
		Status:         store.RunQueued,
		Input:          req.Input,
		CallbackURL:    callback,
		IdempotencyKey: req.IdempotencyKey,
		InputHash:      hash,
		Trigger:        store.RunTrigger{Source: source, Webhook: req.Webhook},
		Metadata:       req.Metadata,
		MaxAttempts:    rt.def.Autonomous.MaxAttempts,
		Timeout:        time.Duration(rt.def.Autonomous.TimeoutSeconds) * time.Second,
	}
	stored, created, err := r.cfg.Store.CreateRun(ctx, run)
	if err != nil {
		return store.Run{}, false, err
	}
	if !created {
		if stored.InputHash != hash {
			return store.Run{}, false, ErrIdempotencyConflict
		}
		return stored, false, nil
	}
	r.log.Info("run queued", "run_id", stored.ID, "routine_id", stored.RoutineID, "source", source)
	r.Wake()
	return stored, true, nil
}

func (r *Runner) checkCallback(ctx context.Context, rt *Routine, raw string) string {
	if raw == "" {
		return ""
	}
	a := rt.def.Autonomous
	if err := a.CheckCallbackURL(raw); err != nil {
		return err.Error()
	}
	if r.cfg.CheckCallback != nil {
		return r.cfg.CheckCallback(ctx, raw)
	}
	return ""
}

// inputHash returns a digest of the input that ignores formatting: the
// JSON is decoded (numbers kept exact) and encoded again with sorted keys.
func inputHash(raw json.RawMessage) (string, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return "", fmt.Errorf("not valid JSON: %w", err)
	}
	canonical, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:]), nil
}

// Wake signals an idle worker to look for a run now.
func (r *Runner) Wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Start launches the workers.
func (r *Runner) Start(ctx context.Context) error {
	r.once.Do(func() {
		errs := ratelog.New(r.log, "claiming run failed")
		for range r.cfg.Workers {
			r.wg.Add(1)
			go r.work(errs)
		}
		r.wg.Add(1)
		go r.poll()
		r.log.Info("run workers started", "workers", r.cfg.Workers, "owner", r.cfg.Owner)
	})
	return nil
}

// Stop stops the workers. A run in flight keeps its lease until it
// expires, then any process takes it over as a new attempt.
func (r *Runner) Stop(ctx context.Context) error {
	r.stop()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("routine: stopping run workers: %w", ctx.Err())
	}
}

// poll wakes one idle worker every PollInterval, for runs that no wake-up
// announced: those triggered on another replica and those whose worker
// died. One poller, not one per worker, keeps an idle process to one
// claim query per interval.
func (r *Runner) poll() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			r.Wake()
		}
	}
}

// work claims and executes runs until the runner stops. A worker that
// claimed a run wakes another, so a backlog spreads over the workers.
func (r *Runner) work(errs *ratelog.Errors) {
	defer r.wg.Done()
	for r.ctx.Err() == nil {
		claim, ok, err := r.cfg.Store.ClaimRun(r.ctx, r.cfg.Owner, r.cfg.LeaseTTL)
		if err != nil && r.ctx.Err() == nil {
			errs.Report(err)
		}
		if ok {
			r.Wake()
			r.execute(claim)
			continue
		}
		select {
		case <-r.ctx.Done():
		case <-r.kick:
		}
	}
}

// execute runs the claimed run to its end and stores the result.
func (r *Runner) execute(claim store.RunClaim) {
	run := claim.Run
	log := r.log.With("run_id", run.ID, "routine_id", run.RoutineID, "attempt", run.Attempts)
	rt, ok := r.routines[run.RoutineID]
	if !ok {
		// The manifest no longer has the routine: the run cannot proceed.
		r.complete(claim, store.RunResult{Status: store.RunFailed, Error: &store.RunError{
			Code: CodeInternalError, Message: "routine " + run.RoutineID + " is no longer configured",
		}}, log)
		return
	}

	runIDs := telemetry.IDs{RunID: run.ID}
	attrs := append(runIDs.Attributes(),
		attribute.String(telemetry.AttrRoutineID, run.RoutineID),
		attribute.Int("agentry.run.attempt", run.Attempts))
	spanCtx, span := r.cfg.Telemetry.StartRoot(telemetry.WithIDs(r.ctx, runIDs), "routine.run", attrs...)
	defer span.End()

	ctx, cancel := context.WithCancelCause(spanCtx)
	defer cancel(nil)
	if !run.Deadline.IsZero() {
		var stop context.CancelFunc
		ctx, stop = context.WithDeadlineCause(ctx, run.Deadline, errRunTimeout)
		defer stop()
	}
	go r.watch(ctx, claim, cancel, log)

	log.Info("run started")
	// The executor's copy logs with the run's id.
	executor := *r.cfg.Executor
	executor.Logger = log
	output, err := executor.Run(ctx, rt, run.Input)
	res := r.result(ctx, output, err)
	if res == nil {
		span.SetAttributes(attribute.String("agentry.run.status", "released"))
		log.Info("run left for another worker", "cause", context.Cause(ctx))
		return
	}
	span.SetAttributes(attribute.String("agentry.run.status", res.Status))
	if res.Error != nil {
		span.SetAttributes(attribute.String("agentry.run.error_code", res.Error.Code))
		span.SetStatus(codes.Error, "run failed: "+res.Error.Code)
	}
	r.complete(claim, *res, log)
}

// result maps the executor's outcome to the run's result, or nil when the
// run must not be completed here (cancelled by a caller, lease lost, or
// shutting down).
func (r *Runner) result(ctx context.Context, output json.RawMessage, err error) *store.RunResult {
	if err == nil {
		return &store.RunResult{Status: store.RunSucceeded, Output: output}
	}
	var f *Failure
	if errors.As(err, &f) {
		return &store.RunResult{Status: store.RunFailed, Error: &store.RunError{Code: f.Code, Message: f.Message}}
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errRunTimeout):
		return &store.RunResult{Status: store.RunFailed, Error: &store.RunError{
			Code: CodeTimeout, Message: "the run did not finish within autonomous.timeout_seconds",
		}}
	case errors.Is(cause, errRunCancelled), errors.Is(cause, errRunLeaseLost), r.ctx.Err() != nil:
		return nil
	}
	return &store.RunResult{Status: store.RunFailed, Error: &store.RunError{Code: CodeInternalError, Message: err.Error()}}
}

func (r *Runner) complete(claim store.RunClaim, res store.RunResult, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 10*time.Second)
	defer cancel()
	run, err := r.cfg.Store.CompleteRun(ctx, claim, res)
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		log.Warn("run result dropped: the run was cancelled or taken over")
		return
	case err != nil:
		log.Error("storing run result failed; the run will be retried after its lease expires", "error", err)
		return
	}
	r.cfg.Telemetry.Metrics().RunEnded(run.Status)
	if res.Error != nil {
		log.Warn("run failed", "code", res.Error.Code, "message", res.Error.Message)
	} else {
		log.Info("run succeeded")
	}
	if r.cfg.OnEnded != nil {
		r.cfg.OnEnded(run)
	}
}

// watch extends the run's lease while it executes and cancels the run
// when a caller cancelled it or the lease is lost.
func (r *Runner) watch(ctx context.Context, claim store.RunClaim, cancel context.CancelCauseFunc, log *slog.Logger) {
	wake, unsubscribe := r.cfg.Store.Notifier().Subscribe(store.RunTopic(claim.Run.ID))
	defer unsubscribe()
	t := time.NewTicker(r.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
			run, err := r.cfg.Store.GetRun(ctx, claim.Run.ID)
			if err == nil && run.Ended() {
				cancel(errRunCancelled)
				return
			}
		case <-t.C:
			err := r.cfg.Store.ExtendRunLease(ctx, claim, r.cfg.LeaseTTL)
			switch {
			case errors.Is(err, store.ErrLeaseLost):
				cancel(errRunLeaseLost)
				return
			case err != nil && ctx.Err() == nil:
				log.Warn("extending run lease failed; retrying", "error", err)
			}
		}
	}
}
