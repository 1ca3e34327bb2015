package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agentry/agentry/internal/ids"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
)

// ErrTurnBusy is returned by PostMessage under the reject double-texting
// mode when a turn is pending or running.
var ErrTurnBusy = errors.New("agent: a turn is already running for this session")

// OpenRequest describes a session to open.
type OpenRequest struct {
	// ID is the caller's id for the session; empty means the server picks
	// one with the prefix "ses_".
	ID         string
	CustomerID string
	// Mode is store.ModeAuto (default) or store.ModeManual.
	Mode       string
	Variables  map[string]any
	Metadata   map[string]any
	WebhookURL string
}

// OpenSession creates the session, or returns the existing one with the
// same id and created=false. A new session starts with the configured
// greeting as its first agent_message.
func (e *Engine) OpenSession(ctx context.Context, req OpenRequest) (store.Session, bool, error) {
	s := store.Session{
		ID:         req.ID,
		CustomerID: req.CustomerID,
		Mode:       req.Mode,
		Variables:  req.Variables,
		Metadata:   req.Metadata,
		WebhookURL: req.WebhookURL,
	}
	if s.ID == "" {
		s.ID = ids.New("ses_")
	}
	if s.Mode == "" {
		s.Mode = store.ModeAuto
	}
	var initial []store.NewEvent
	if g := e.cfg.Manifest.AgentConfig.Context.Greeting; g != "" {
		initial = append(initial, newEvent(KindAgentMessage, "", Payload{Text: g}))
	}
	sess, created, err := e.store.CreateSession(ctx, s, initial)
	if err != nil {
		return store.Session{}, false, err
	}
	if created {
		e.log.Info("session opened", "session_id", sess.ID, "customer_id", sess.CustomerID)
	}
	return sess, created, nil
}

// Message is a message posted to a session.
type Message struct {
	Text string
	// Source is SourceCustomer (default) or SourceHumanAgent.
	Source   string
	Metadata map[string]any
}

// PostMessage appends the message as a user_message event and, for a
// customer message in auto mode, starts a turn in the background. It
// returns the stored event as soon as it is appended.
func (e *Engine) PostMessage(ctx context.Context, sessionID string, m Message) (store.Event, error) {
	if m.Source == "" {
		m.Source = SourceCustomer
	}
	sess, err := e.store.GetSession(ctx, sessionID)
	if err != nil {
		return store.Event{}, err
	}
	opts := store.AppendOptions{
		Trigger: m.Source == SourceCustomer && sess.Mode == store.ModeAuto,
	}
	opts.RequireIdle = opts.Trigger &&
		e.cfg.Manifest.AgentConfig.Runtime.DoubleTexting == manifest.DoubleTextReject
	ev := newEvent(KindUserMessage, "", Payload{Text: m.Text, Source: m.Source, Metadata: m.Metadata})
	out, err := e.store.Append(ctx, sessionID, []store.NewEvent{ev}, opts)
	if errors.Is(err, store.ErrTurnBusy) {
		return store.Event{}, ErrTurnBusy
	}
	if err != nil {
		return store.Event{}, err
	}
	if opts.Trigger {
		e.Wake(sessionID)
	}
	return out[0], nil
}

// UpdateSession applies the patch. A change of mode appends a mode event.
func (e *Engine) UpdateSession(ctx context.Context, sessionID string, p store.SessionPatch, reason string) (store.Session, error) {
	before, err := e.store.GetSession(ctx, sessionID)
	if err != nil {
		return store.Session{}, err
	}
	after, err := e.store.UpdateSession(ctx, sessionID, p)
	if err != nil {
		return store.Session{}, err
	}
	if after.Mode != before.Mode {
		ev := newEvent(KindMode, "", Payload{Mode: after.Mode, Reason: reason})
		if _, err := e.store.Append(ctx, sessionID, []store.NewEvent{ev}, store.AppendOptions{}); err != nil {
			return after, fmt.Errorf("appending mode event: %w", err)
		}
		e.log.Info("session mode changed", "session_id", sessionID, "mode", after.Mode)
		// Return the session with the mode event counted.
		return e.store.GetSession(ctx, sessionID)
	}
	return after, nil
}

// Cancel cancels the session's pending or running turn, which then ends
// with status cancelled and status ready. It tries, in order, the turn
// running in this process, a pending turn that no process has claimed
// (closed here at once), and a turn running in another process sharing
// the store (asked to stop through [store.Turns.RequestCancel]). It
// reports whether one of them took the cancel.
func (e *Engine) Cancel(ctx context.Context, sessionID string) (bool, error) {
	if _, err := e.store.GetSession(ctx, sessionID); err != nil {
		return false, err
	}
	if e.cancelLocal(sessionID) {
		return true, nil
	}
	claim, ok, err := e.store.ClaimTurn(ctx, sessionID, e.cfg.Owner, e.cfg.LeaseTTL)
	if err != nil {
		return false, err
	}
	if ok {
		if err := e.closeCancelled(ctx, claim); err != nil {
			return false, err
		}
		return true, nil
	}
	// Another lease holder runs the turn: another process, or this one
	// before its runner recorded the turn's cancel func. The holder reads
	// the request on its next wake-up or session read.
	requested, err := e.store.RequestCancel(ctx, sessionID)
	if err != nil {
		return false, fmt.Errorf("requesting cancel of the running turn: %w", err)
	}
	if requested {
		e.log.Info("cancel requested from the turn's lease holder", "session_id", sessionID)
	}
	return requested, nil
}

// closeCancelled ends a claimed turn with status cancelled and status
// ready, and marks its messages processed. A turn that a dead holder left
// without ready keeps its id.
func (e *Engine) closeCancelled(ctx context.Context, claim store.TurnClaim) error {
	turnID, _ := e.turnID(claim)
	_, err := e.store.CompleteTurn(ctx, claim, []store.NewEvent{
		statusEvent(turnID, StatusCancelled, nil),
		statusEvent(turnID, StatusReady, nil),
	}, claim.Session.TriggerOffset+1)
	if err != nil {
		return fmt.Errorf("closing cancelled turn: %w", err)
	}
	e.log.Info("pending turn cancelled", "session_id", claim.SessionID, "turn_id", turnID)
	return nil
}

// ToolEvent is external context injected into a session as the result of
// a tool call that the agent did not make, such as a statement or a CRM
// export.
type ToolEvent struct {
	// Tool names the source, for example "crm:export".
	Tool      string
	Arguments json.RawMessage
	Result    json.RawMessage
}

// InjectToolEvent stores ev as a tool_result event marked injected. The
// next turn shows it to the model, and it starts no turn itself.
func (e *Engine) InjectToolEvent(ctx context.Context, sessionID string, ev ToolEvent) (store.Event, error) {
	p := Payload{
		CallID:    ids.New("inj_"),
		Tool:      ev.Tool,
		Arguments: ev.Arguments,
		Result:    ev.Result,
		Injected:  true,
	}
	out, err := e.store.Append(ctx, sessionID, []store.NewEvent{newEvent(KindToolResult, "", p)}, store.AppendOptions{})
	if err != nil {
		return store.Event{}, err
	}
	return out[0], nil
}
