package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/tool"
)

// handoffArgs are the arguments of built-in:handoff.
type handoffArgs struct {
	Reason string `json:"reason" jsonschema:"description=Why a human should take over the conversation, in one sentence,minLength=1,maxLength=500"`
}

// handoffTool is built-in:handoff as offered to the model. Its call only
// returns a confirmation: the engine switches the session to manual mode
// after the call's result is stored, so the events read tool_call,
// tool_result, then mode.
var handoffTool = sync.OnceValue(func() tool.Tool {
	t, err := tool.Func(manifest.HandoffTool,
		"Hand the conversation to a human agent. Call it when the customer asks for a human or when you cannot help further. "+
			"The session switches to manual mode and you send no more messages until it returns to automatic mode.",
		func(context.Context, handoffArgs) (map[string]any, error) {
			return map[string]any{"ok": true, "mode": store.ModeManual}, nil
		})
	if err != nil {
		panic("agent: built-in:handoff does not build: " + err.Error())
	}
	return t
})

// handoffAvailable reports whether the model may be offered
// built-in:handoff: the manifest sets context.handoff, or a policy lists
// the tool.
func handoffAvailable(c manifest.Context) bool {
	if c.Handoff {
		return true
	}
	for _, p := range c.Policies {
		if slices.Contains(p.Tools, manifest.HandoffTool) {
			return true
		}
	}
	return false
}

// handoffReason returns the reason of the first call of built-in:handoff
// in calls whose arguments are valid.
func handoffReason(calls []llms.ToolCall) (string, bool) {
	for _, c := range calls {
		if c.FunctionCall == nil || c.FunctionCall.Name != manifest.HandoffTool {
			continue
		}
		args, violations := tool.ValidateArgs(handoffTool(), json.RawMessage(c.FunctionCall.Arguments))
		if len(violations) > 0 {
			continue
		}
		var a handoffArgs
		if json.Unmarshal(args, &a) != nil {
			continue
		}
		return strings.TrimSpace(a.Reason), true
	}
	return "", false
}

// handOff switches the session to manual mode through the same path as a
// PATCH of the session's mode, so a mode event with the reason is
// appended, and returns errHandedOff so that the turn ends without a
// reply. The switch runs even when the turn is being cancelled, so the
// session is never left in auto mode without its mode event.
func (e *Engine) handOff(ctx context.Context, sid, turnID, reason string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	manual := store.ModeManual
	if _, err := e.UpdateSession(ctx, sid, store.SessionPatch{Mode: &manual}, "handoff: "+reason); err != nil {
		return fmt.Errorf("switching session %s to manual mode for a handoff: %w", sid, err)
	}
	e.log.Info("session handed to a human", "session_id", sid, "turn_id", turnID, "reason", reason)
	return errHandedOff
}
