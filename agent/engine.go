package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/internal/ids"
	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/kb"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/tool"
)

// Config configures an [Engine].
type Config struct {
	// Manifest supplies the runtime and context blocks. Required; it must
	// have been loaded (defaults applied).
	Manifest *manifest.Manifest
	// Store keeps sessions and events. Required.
	Store store.Store
	// Chat is the chat lane's model, fallbacks included. Required.
	Chat llms.Model
	// Tools are offered to the chat lane per runtime.tool_access. Optional.
	Tools *tool.Registry
	// Evaluation is the evaluation lane's model, which matches policy
	// conditions and rewrites knowledge base queries. Optional: without
	// it the chat lane matches policies and the last customer message is
	// the query.
	Evaluation llms.Model
	// Knowledge is searched before each reply. Optional.
	Knowledge kb.Retriever
	// Logger receives the engine's logs. Default: slog.Default().
	Logger *slog.Logger
	// Owner names this process in turn leases. Default: a random id.
	Owner string
	// LeaseTTL is how long a turn lease lasts without a heartbeat; a
	// crashed process's turns are taken over after it. Default 30s.
	LeaseTTL time.Duration
	// SweepInterval is how often the engine looks for turns that no wake-up
	// started, such as those left by a crashed process. Default 5s.
	SweepInterval time.Duration
	// MaxConcurrentTurns bounds the turns this process runs at once.
	// Default 256.
	MaxConcurrentTurns int
	// Telemetry receives the spans and metrics of turns and tool calls.
	// Default: spans go to the global OpenTelemetry provider and no
	// metrics are recorded.
	Telemetry *telemetry.Telemetry
}

// Engine runs turns: it replies to each customer message of a session in
// the background, one turn per session at a time across every process that
// shares the store. An Engine is safe for concurrent use. Call Start before
// posting messages and Stop when shutting down.
type Engine struct {
	cfg    Config
	store  store.Store
	chat   llms.Model
	log    *slog.Logger
	tel    *telemetry.Telemetry
	prompt promptConfig
	// routines is nil when the manifest declares no conversational
	// routine.
	routines *routineSet

	slots chan struct{}

	mu      sync.Mutex
	active  map[string]*runner // sessions with a local runner goroutine
	ctx     context.Context    // cancelled by Stop
	stop    context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// runner is the state of one session's local runner goroutine.
type runner struct {
	// again is set by a wake-up that arrived while the runner was busy, so
	// the runner looks for work once more before it exits.
	again bool
	// cancel, when a turn is running, cancels it with a cause.
	cancel context.CancelCauseFunc
}

// New checks cfg and returns an engine that is not yet started.
func New(cfg Config) (*Engine, error) {
	if cfg.Manifest == nil || cfg.Store == nil || cfg.Chat == nil {
		return nil, errors.New("agent: Config.Manifest, Config.Store and Config.Chat are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Owner == "" {
		cfg.Owner = ids.New("proc_")
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = 5 * time.Second
	}
	if cfg.MaxConcurrentTurns <= 0 {
		cfg.MaxConcurrentTurns = 256
	}
	pc, err := newPromptConfig(cfg.Manifest)
	if err != nil {
		return nil, err
	}
	routines, err := newRoutineSet(cfg.Manifest, cfg.Tools)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Engine{
		routines: routines,
		cfg:      cfg,
		store:    cfg.Store,
		chat:     cfg.Chat,
		log:      cfg.Logger,
		tel:      cfg.Telemetry,
		prompt:   pc,
		slots:    make(chan struct{}, cfg.MaxConcurrentTurns),
		active:   make(map[string]*runner),
		ctx:      ctx,
		stop:     stop,
	}, nil
}

// Start launches the sweep that picks up pending turns, including those a
// crashed process left behind. Turns themselves start on demand.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return nil
	}
	e.started = true
	e.wg.Add(1)
	go e.sweep()
	e.log.Info("engine started", "owner", e.cfg.Owner)
	return nil
}

// Stop cancels running turns, releases their leases so another process
// (or the next start) re-runs them, and waits for the runners to exit or
// ctx to end.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	e.stop()
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		e.log.Info("engine stopped", "owner", e.cfg.Owner)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("agent: stopping engine: %w", ctx.Err())
	}
}

// Wake signals the engine to look for work on the session now. Posting a
// message calls it; callers that append triggering events through the
// store directly call it too.
func (e *Engine) Wake(sessionID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx.Err() != nil {
		return
	}
	if r, ok := e.active[sessionID]; ok {
		r.again = true
		return
	}
	e.active[sessionID] = &runner{}
	e.wg.Add(1)
	go e.run(sessionID)
}

// run claims and runs the session's turns until none is pending.
func (e *Engine) run(sessionID string) {
	defer e.wg.Done()
	for {
		select {
		case e.slots <- struct{}{}:
		case <-e.ctx.Done():
			e.finishRunner(sessionID, true)
			return
		}
		ran := e.claimAndRun(sessionID)
		<-e.slots
		if !ran && e.finishRunner(sessionID, false) {
			return
		}
	}
}

// finishRunner removes the session's runner unless a wake-up arrived while
// it worked. It reports whether the runner should exit.
func (e *Engine) finishRunner(sessionID string, force bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.active[sessionID]
	if !force && r != nil && r.again {
		r.again = false
		return false
	}
	delete(e.active, sessionID)
	return true
}

// claimAndRun runs one turn if the session needs one and its lease is
// free. It reports whether it ran a turn.
func (e *Engine) claimAndRun(sessionID string) bool {
	claim, ok, err := e.store.ClaimTurn(e.ctx, sessionID, e.cfg.Owner, e.cfg.LeaseTTL)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && e.ctx.Err() == nil {
			e.log.Error("claiming turn failed", "session_id", sessionID, "error", err)
		}
		return false
	}
	if !ok {
		return false
	}
	e.runTurn(claim)
	return true
}

// sweep periodically wakes sessions that need a turn and have no live
// lease, so work survives lost wake-ups and crashed processes.
func (e *Engine) sweep() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		ids, err := e.store.PendingTurns(e.ctx, time.Now(), 1000)
		if err != nil {
			if e.ctx.Err() == nil {
				e.log.Warn("sweep for pending turns failed", "error", err)
			}
			continue
		}
		for _, id := range ids {
			e.Wake(id)
		}
	}
}

// setCancel records (or clears, with nil) the running turn's cancel func.
func (e *Engine) setCancel(sessionID string, cancel context.CancelCauseFunc) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r, ok := e.active[sessionID]; ok {
		r.cancel = cancel
	}
}

// cancelLocal cancels the session's turn if it runs in this process.
func (e *Engine) cancelLocal(sessionID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.active[sessionID]
	if !ok || r.cancel == nil {
		return false
	}
	r.cancel(errCancelled)
	return true
}
