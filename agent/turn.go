package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/agentry/agentry/internal/ids"
	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
)

// Causes of a turn's cancellation, read with context.Cause.
var (
	errCancelled   = errors.New("turn cancelled on request")
	errInterrupted = errors.New("turn interrupted by a newer message")
	errLeaseLost   = errors.New("turn lease lost")
	errTurnTimeout = errors.New("turn timed out")
	errHandedOff   = errors.New("session switched to manual mode")
)

// errEmptyReply is returned when the model returns no text.
var errEmptyReply = errors.New("the model returned an empty reply")

// releaseTimeout bounds the store calls that hand a turn back during
// shutdown, when the engine's own context is already cancelled.
const releaseTimeout = 5 * time.Second

// runTurn replies to the session's unanswered messages under claim and writes
// the outcome. Every path ends by completing the turn (one status ready),
// releasing the lease for a re-run, or finding the lease lost.
func (e *Engine) runTurn(claim store.TurnClaim) {
	sid := claim.SessionID
	turnID, resumed := e.turnID(claim)
	log := e.log.With("session_id", sid, "turn_id", turnID)
	if resumed {
		log.Info("turn resumed after its previous holder stopped or died")
	}

	turnIDs := telemetry.IDs{SessionID: sid, TurnID: turnID}
	spanCtx, span := e.tel.StartRoot(telemetry.WithIDs(e.ctx, turnIDs), "agent.turn", turnIDs.Attributes()...)
	started := time.Now()
	outcome := TurnReleased
	defer func() {
		span.SetAttributes(attribute.String("agentry.turn.outcome", outcome))
		if outcome == TurnTimeout || outcome == TurnModelError {
			span.SetStatus(codes.Error, "turn "+outcome)
		}
		span.End()
		e.tel.Metrics().TurnEnded(outcome, time.Since(started))
	}()

	timeout := e.cfg.Manifest.AgentConfig.Runtime.TurnTimeout.Or(manifest.DefaultTurnTimeout)
	ctx, cancel := context.WithCancelCause(spanCtx)
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, timeout, errTurnTimeout)
	defer cancelTimeout()
	e.setCancel(sid, cancel)
	defer e.setCancel(sid, nil)
	go e.heartbeat(ctx, claim, cancel, log)

	wake, unsubscribe := e.store.Notifier().Subscribe(sid)
	defer unsubscribe()

	if claim.Session.CancelRequested {
		// The previous holder died after a cancel was requested.
		e.complete(claim, []store.NewEvent{
			statusEvent(turnID, StatusCancelled, nil),
			statusEvent(turnID, StatusReady, nil),
		}, claim.Session.TriggerOffset+1, log)
		outcome = TurnCancelled
		log.Info("turn cancelled: the cancel was requested before this claim")
		return
	}
	if claim.Session.Mode == store.ModeManual {
		// A human handles this session, so the pending messages are theirs.
		e.complete(claim, nil, claim.Session.TriggerOffset+1, log)
		outcome = TurnManual
		return
	}

	start := []store.NewEvent{
		statusEvent(turnID, StatusAcknowledged, nil),
		statusEvent(turnID, StatusProcessing, nil),
	}
	if _, err := e.store.Append(ctx, sid, start, store.AppendOptions{}); err != nil {
		outcome = e.abandon(claim, err, log)
		return
	}
	log.Debug("turn started", "trigger_offset", claim.Session.TriggerOffset)

	target := claim.Session.TriggerOffset
	for {
		reply, err := e.attempt(ctx, sid, turnID, target, wake)
		var restart *interruption
		if errors.As(err, &restart) {
			log.Debug("turn interrupted by a newer message", "trigger_offset", restart.target)
			target = restart.target
			continue
		}
		outcome = e.finish(ctx, claim, turnID, target, reply, err, log)
		return
	}
}

// turnID returns the id of the turn that replies to claim's messages. A turn whose
// holder died or handed it back left status events without a ready after
// the session's processed offset; the re-run keeps that turn's id, so the
// turn still ends with exactly one ready. Otherwise, or when the log
// cannot be read, it returns a new id and resumed false.
func (e *Engine) turnID(claim store.TurnClaim) (id string, resumed bool) {
	ctx, cancel := context.WithTimeout(e.ctx, releaseTimeout)
	defer cancel()
	var last *store.Event
	from := claim.Session.ProcessedOffset
	for {
		events, err := e.store.ListEvents(ctx, claim.SessionID, from, store.MaxListLimit)
		if err != nil || len(events) == 0 {
			break
		}
		for i := range events {
			if events[i].Kind == KindStatus && events[i].TurnID != "" {
				last = &events[i]
			}
		}
		from = events[len(events)-1].Offset + 1
	}
	if last != nil {
		var p Payload
		if err := json.Unmarshal(last.Payload, &p); err == nil && p.Status != StatusReady {
			return last.TurnID, true
		}
	}
	return ids.New("trn_"), false
}

// interruption is returned by attempt when a newer customer message
// cancelled it under the interrupt double-texting mode.
type interruption struct{ target int64 }

func (i *interruption) Error() string { return errInterrupted.Error() }

// attempt generates one reply for the messages up to target. Under the
// interrupt mode it watches for newer customer messages and returns an
// *interruption when one arrives before the reply is ready. When the
// session is switched to manual mode meanwhile, it returns errHandedOff,
// and when a cancel is requested through the store (by another process,
// see [store.Turns.RequestCancel]), errCancelled.
func (e *Engine) attempt(ctx context.Context, sid, turnID string, target int64, wake <-chan struct{}) (answer, error) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	type outcome struct {
		reply answer
		err   error
	}
	done := make(chan outcome, 1)
	go func() {
		reply, err := e.generate(actx, sid, turnID, target)
		done <- outcome{reply, err}
	}()

	interrupt := e.cfg.Manifest.AgentConfig.Runtime.DoubleTexting == manifest.DoubleTextInterrupt
	for {
		select {
		case out := <-done:
			return out.reply, out.err
		case <-ctx.Done():
			// Wait briefly, so the results of cut-off tool calls are
			// written before the turn's final events, but not for a
			// model call that ignores its context.
			select {
			case out := <-done:
				return out.reply, context.Cause(ctx)
			case <-time.After(toolResultWriteTimeout):
				return answer{}, context.Cause(ctx)
			}
		case <-wake:
			s, err := e.store.GetSession(ctx, sid)
			if err != nil {
				continue
			}
			if s.CancelRequested {
				cancel(errCancelled)
				out := <-done
				return out.reply, errCancelled
			}
			if s.Mode == store.ModeManual {
				// A human took over: the agent stays silent.
				cancel(errHandedOff)
				out := <-done
				return out.reply, errHandedOff
			}
			if !interrupt || s.TriggerOffset <= target {
				continue
			}
			cancel(errInterrupted)
			<-done
			return answer{}, &interruption{target: s.TriggerOffset}
		}
	}
}

// generate assembles the prompt from the session's state and history up to
// target and calls the chat lane for the reply. It returns errCancelled
// when the session read shows a requested cancel: the turn subscribed to
// the session's topic before this read, so a request made after the read
// wakes attempt instead.
func (e *Engine) generate(ctx context.Context, sid, turnID string, target int64) (answer, error) {
	sess, err := e.store.GetSession(ctx, sid)
	if err != nil {
		return answer{}, fmt.Errorf("reading session: %w", err)
	}
	if sess.CancelRequested {
		return answer{}, errCancelled
	}
	var customer *store.Customer
	if sess.CustomerID != "" {
		c, err := e.store.GetCustomer(ctx, sess.CustomerID)
		switch {
		case err == nil:
			customer = &c
		case !errors.Is(err, store.ErrNotFound):
			return answer{}, fmt.Errorf("reading customer %s: %w", sess.CustomerID, err)
		}
	}
	history, err := e.history(ctx, sid, target)
	if err != nil {
		return answer{}, err
	}
	chunks := e.retrieve(ctx, sid, turnID, history)
	p := e.prompt.build(sess, customer, history, glossarySection(e.prompt.glossary, history), referenceSection(chunks))
	matched := e.matchPolicies(ctx, sid, turnID, p.turns)

	w := e.newRoutineWalk(sid, turnID, history)
	// A turn that ends without a reply still writes the routine events
	// it has, with its final events.
	unfinished := func() answer { return answer{routineEvents: w.unwritten()} }
	used := 0
	if w != nil {
		used, matched, err = w.prepare(ctx, &p, matched)
		if err != nil {
			return unfinished(), err
		}
	}

	typing := []store.NewEvent{statusEvent(turnID, StatusTyping, nil)}
	if _, err := e.store.Append(ctx, sid, typing, store.AppendOptions{}); err != nil {
		return unfinished(), fmt.Errorf("appending typing status: %w", err)
	}

	text, err := e.respond(ctx, sid, turnID, &p, matched, w, used)
	if err != nil {
		return unfinished(), err
	}
	return answer{text: text, citations: citations(chunks), routineEvents: w.unwritten()}, nil
}

// answer is a turn's reply: its text, the knowledge base chunks that
// were placed in its prompt, and the routine events that are written
// with it.
type answer struct {
	text          string
	citations     []Citation
	routineEvents []store.NewEvent
}

// modelError marks a failure of the chat lane, as opposed to the store.
type modelError struct{ err error }

func (m *modelError) Error() string { return "model call failed: " + m.err.Error() }
func (m *modelError) Unwrap() error { return m.err }

// historyPage is the number of events read per store call when loading a
// session's history.
const historyPage = 200

// history returns the newest events of the session with offsets up to
// target: enough to fill the chat lane's context window by a local
// estimate, read backwards a page at a time, so a turn's cost does not
// grow with the length of the session.
func (e *Engine) history(ctx context.Context, sid string, target int64) ([]store.Event, error) {
	budget := e.prompt.contextWindow * bytesPerToken
	var all []store.Event
	for end := target + 1; end > 0 && budget > 0; {
		from := max(0, end-historyPage)
		page, err := e.store.ListEvents(ctx, sid, from, int(end-from))
		if err != nil {
			return nil, fmt.Errorf("reading history: %w", err)
		}
		for _, ev := range page {
			budget -= len(ev.Payload)
		}
		all = append(page, all...)
		end = from
	}
	return all, nil
}

// Outcomes of a turn: the outcome label of agentry_turns_total and the
// agentry.turn.outcome attribute of the agent.turn span.
const (
	TurnCompleted  = "completed"
	TurnCancelled  = "cancelled"
	TurnTimeout    = "timeout"
	TurnModelError = "model_error"
	// TurnReleased: the turn was handed back to the store to be re-run,
	// at shutdown or after a store failure.
	TurnReleased = "released"
	// TurnLeaseLost: another worker took the turn over.
	TurnLeaseLost = "lease_lost"
	// TurnManual: the session is in manual mode, so the agent did not
	// reply.
	TurnManual = "manual"
)

// finish writes the turn's outcome: the reply, a cancellation or an error,
// each followed by status ready, in one store call with the move of the
// processed offset. It returns the outcome, one of the Turn constants.
func (e *Engine) finish(ctx context.Context, claim store.TurnClaim, turnID string, target int64, reply answer, err error, log *slog.Logger) string {
	processed := target + 1
	if err == nil {
		events := append(reply.routineEvents,
			newEvent(KindAgentMessage, turnID, Payload{Text: reply.text, Citations: reply.citations}),
			statusEvent(turnID, StatusReady, nil),
		)
		e.complete(claim, events, processed, log)
		log.Info("turn completed")
		return TurnCompleted
	}

	cause := context.Cause(ctx)
	var events []store.NewEvent
	var outcome string
	switch {
	case e.ctx.Err() != nil:
		// Shutting down: hand the turn back so it is re-run.
		e.release(claim, log)
		log.Info("turn released at shutdown")
		return TurnReleased
	case errors.Is(cause, errLeaseLost):
		log.Warn("turn abandoned: lease lost to another worker")
		return TurnLeaseLost
	case errors.Is(cause, errCancelled) || errors.Is(err, errCancelled):
		events = []store.NewEvent{statusEvent(turnID, StatusCancelled, nil)}
		outcome = TurnCancelled
		log.Info("turn cancelled")
	case errors.Is(err, errHandedOff):
		events = []store.NewEvent{statusEvent(turnID, StatusCancelled, nil)}
		outcome = TurnCancelled
		log.Info("turn cancelled: the session was switched to manual mode")
	case errors.Is(cause, errTurnTimeout):
		events = []store.NewEvent{statusEvent(turnID, StatusError, &EventError{
			Code:    ErrorCodeTimeout,
			Message: "the turn did not finish within runtime.turn_timeout",
		})}
		outcome = TurnTimeout
		log.Warn("turn timed out", "error", err)
	default:
		var me *modelError
		if !errors.As(err, &me) {
			// A store failure: hand the turn back for a re-run.
			log.Error("turn failed; releasing it for a retry", "error", err)
			e.release(claim, log)
			return TurnReleased
		}
		events = []store.NewEvent{statusEvent(turnID, StatusError, &EventError{
			Code:    ErrorCodeModel,
			Message: "the language model did not return a reply; the server log has the details",
		})}
		outcome = TurnModelError
		log.Error("model call failed", "error", err)
	}
	events = append(reply.routineEvents, append(events, statusEvent(turnID, StatusReady, nil))...)
	e.complete(claim, events, processed, log)
	return outcome
}

// complete writes the turn's final events and moves the processed offset.
func (e *Engine) complete(claim store.TurnClaim, events []store.NewEvent, processed int64, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), releaseTimeout)
	defer cancel()
	_, err := e.store.CompleteTurn(ctx, claim, events, processed)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrLeaseLost):
		log.Warn("turn result dropped: lease lost to another worker")
	case errors.Is(err, store.ErrNotFound):
		log.Info("turn result dropped: session deleted")
	default:
		log.Error("writing turn result failed; releasing it for a retry", "error", err)
		e.release(claim, log)
	}
}

// abandon handles a failure before the model was called and returns the
// turn's outcome.
func (e *Engine) abandon(claim store.TurnClaim, err error, log *slog.Logger) string {
	if errors.Is(err, store.ErrNotFound) {
		log.Info("turn skipped: session deleted")
		return TurnCancelled
	}
	if e.ctx.Err() == nil {
		log.Error("starting turn failed; releasing it for a retry", "error", err)
	}
	e.release(claim, log)
	return TurnReleased
}

// release hands the lease back so the turn is claimed again.
func (e *Engine) release(claim store.TurnClaim, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), releaseTimeout)
	defer cancel()
	if err := e.store.ReleaseTurn(ctx, claim); err != nil {
		log.Warn("releasing turn lease failed; it expires on its own", "error", err)
	}
}

// heartbeat extends the turn's lease until ctx ends, and cancels the turn
// when the lease is lost.
func (e *Engine) heartbeat(ctx context.Context, claim store.TurnClaim, cancel context.CancelCauseFunc, log *slog.Logger) {
	t := time.NewTicker(e.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := e.store.ExtendLease(ctx, claim, e.cfg.LeaseTTL)
		switch {
		case err == nil:
		case errors.Is(err, store.ErrLeaseLost):
			cancel(errLeaseLost)
			return
		case ctx.Err() == nil:
			log.Warn("extending turn lease failed; retrying", "error", err)
		}
	}
}
