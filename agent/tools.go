package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/tool"
)

// Error codes of tool_result events whose call failed.
const (
	ToolErrorUnknown = "unknown_tool"
	ToolErrorArgs    = "invalid_arguments"
	ToolErrorFailed  = "tool_error"
	ToolErrorTimeout = "timeout"
)

// offeredTools returns the tools the chat lane is offered in a round.
// With tool_access open that is every registered tool, and
// built-in:handoff when context.handoff is set or a matched policy lists
// it. With guided it is only the tools that matched policies list, in
// their order, then the tools of the routine's current node (nodeTools),
// each once.
func (e *Engine) offeredTools(matched []matchedPolicy, nodeTools []string) []tool.Tool {
	var out []tool.Tool
	seen := map[string]bool{}
	add := func(t tool.Tool) {
		if !seen[t.Name()] {
			seen[t.Name()] = true
			out = append(out, t)
		}
	}
	if e.cfg.Manifest.AgentConfig.Runtime.ToolAccess != manifest.ToolAccessGuided {
		if e.cfg.Tools != nil {
			for _, t := range e.cfg.Tools.List() {
				add(t)
			}
		}
		if e.cfg.Manifest.AgentConfig.Context.Handoff {
			add(handoffTool())
		}
	}
	for _, m := range matched {
		for _, name := range m.policy.Tools {
			if t, ok := e.lookupTool(name); ok {
				add(t)
			}
		}
	}
	for _, name := range nodeTools {
		if t, ok := e.lookupTool(name); ok {
			add(t)
		}
	}
	return out
}

// lookupTool returns the registered tool, or built-in:handoff, of the
// given name. Server start-up has checked that every native tool a
// policy lists is registered; an MCP tool that its server stopped
// offering is not found.
func (e *Engine) lookupTool(name string) (tool.Tool, bool) {
	if name == manifest.HandoffTool {
		if handoffAvailable(e.cfg.Manifest.AgentConfig.Context) {
			return handoffTool(), true
		}
		return nil, false
	}
	if e.cfg.Tools == nil {
		return nil, false
	}
	return e.cfg.Tools.Get(name)
}

// toolDefinitions describes tools for the model.
func toolDefinitions(tools []tool.Tool) []llms.Tool {
	defs := make([]llms.Tool, 0, len(tools))
	for _, t := range tools {
		var params any = map[string]any{"type": "object", "properties": map[string]any{}}
		if s := t.Schema(); len(s) > 0 {
			var decoded map[string]any
			if json.Unmarshal(s, &decoded) == nil && decoded != nil {
				params = decoded
			}
		}
		defs = append(defs, llms.Tool{
			Type:     "function",
			Function: &llms.FunctionDefinition{Name: t.Name(), Description: t.Description(), Parameters: params},
		})
	}
	return defs
}

// respond runs the model with the offered tools until it replies with
// text: each round's tool calls are stored as tool_call events, run
// concurrently, stored as tool_result events and fed back. The rounds
// that the routine's preparation used (used) count against
// max_engine_iterations, and the last round offers no tools, so a turn
// ends with a reply within that many rounds. matched are the policies
// that apply to the first round. After a round that ran tools, policies
// are matched again, because the results may change which conditions
// hold. A valid call of built-in:handoff ends the turn with errHandedOff
// once the round's results are stored.
func (e *Engine) respond(ctx context.Context, sid, turnID string, p *prompt, matched []matchedPolicy, w *routineWalk, used int) (string, error) {
	rounds := e.cfg.Manifest.AgentConfig.Runtime.MaxEngineIterations
	for round := 0; ; round++ {
		if round > 0 {
			matched = e.matchPolicies(ctx, sid, turnID, p.turns)
		}
		msgs := e.prompt.fit(*p, policySection(matched), w.section())
		var opts []llms.CallOption
		if defs := toolDefinitions(e.offeredTools(matched, w.nodeTools())); len(defs) > 0 && used+round < rounds {
			opts = append(opts, llms.WithTools(defs))
		}
		resp, err := e.chat.GenerateContent(ctx, msgs, opts...)
		if err != nil {
			return "", &modelError{err}
		}
		reply := llm.Flatten(resp)
		if len(reply.ToolCalls) == 0 || len(opts) == 0 {
			text := strings.TrimSpace(reply.Text)
			if text == "" {
				return "", &modelError{errEmptyReply}
			}
			return text, nil
		}
		results, err := e.runTools(ctx, sid, turnID, reply.ToolCalls)
		if err != nil {
			return "", err
		}
		if reason, ok := handoffReason(reply.ToolCalls); ok && e.offered(opts, manifest.HandoffTool) {
			return "", e.handOff(ctx, sid, turnID, reason)
		}
		for i, call := range reply.ToolCalls {
			p.turns = append(p.turns, llm.ToolCallMessages(call, results[i])...)
		}
	}
}

// offered reports whether the call options offer the tool named name.
func (e *Engine) offered(opts []llms.CallOption, name string) bool {
	var co llms.CallOptions
	for _, opt := range opts {
		opt(&co)
	}
	for _, t := range co.Tools {
		if t.Function != nil && t.Function.Name == name {
			return true
		}
	}
	return false
}

// runTools stores the calls, runs them concurrently and stores each
// result. It returns the text of each result for the model. A failing
// tool yields a result that states the failure, so only a store failure
// is an error.
func (e *Engine) runTools(ctx context.Context, sid, turnID string, calls []llms.ToolCall) ([]string, error) {
	started := make([]store.NewEvent, len(calls))
	for i, c := range calls {
		started[i] = newEvent(KindToolCall, turnID, Payload{
			CallID: c.ID, Tool: c.FunctionCall.Name, Arguments: json.RawMessage(llm.NormalizeArguments(c.FunctionCall.Arguments)),
		})
	}
	if _, err := e.store.Append(ctx, sid, started, store.AppendOptions{}); err != nil {
		return nil, fmt.Errorf("appending tool calls: %w", err)
	}

	texts := make([]string, len(calls))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var appendErr error
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := e.callTool(ctx, c)
			texts[i] = resultText(p)
			if err := e.appendToolResult(ctx, sid, turnID, p); err != nil {
				mu.Lock()
				appendErr = errors.Join(appendErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if appendErr != nil {
		return nil, fmt.Errorf("appending tool results: %w", appendErr)
	}
	return texts, nil
}

// toolResultWriteTimeout bounds the write of a tool result once the
// turn's context has ended.
const toolResultWriteTimeout = 5 * time.Second

// appendToolResult stores the tool_result p. It writes with a context
// detached from ctx, so a call that the end of the turn cut off still
// gets its result, and logs a failure, which the ended turn cannot report.
func (e *Engine) appendToolResult(ctx context.Context, sid, turnID string, p Payload) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), toolResultWriteTimeout)
	defer cancel()
	_, err := e.store.Append(wctx, sid, []store.NewEvent{newEvent(KindToolResult, turnID, p)}, store.AppendOptions{})
	if err != nil {
		e.log.Error("appending tool result failed", "session_id", sid, "turn_id", turnID, "call_id", p.CallID, "tool", p.Tool, "error", err)
	}
	return err
}

// callTool runs one call and returns its tool_result payload. A tool that
// panics is recovered and reported as failed, so no tool crashes the turn.
func (e *Engine) callTool(ctx context.Context, c llms.ToolCall) (p Payload) {
	name := c.FunctionCall.Name
	p = Payload{CallID: c.ID, Tool: name}
	log := e.log.With(telemetry.IDsFrom(ctx).LogArgs()...).With("tool", name, "call_id", c.ID)
	ctx, span := e.tel.StartToolCall(ctx, name)
	defer func() { span.End(toolOutcome(p.Error), nil) }()

	t, ok := e.lookupTool(name)
	if !ok {
		p.Error = &EventError{Code: ToolErrorUnknown, Message: fmt.Sprintf("no tool is named %q; use one of the offered tools", name)}
		log.Warn("model called an unknown tool")
		return p
	}
	args, violations := tool.ValidateArgs(t, json.RawMessage(c.FunctionCall.Arguments))
	if len(violations) > 0 {
		parts := make([]string, len(violations))
		for i, v := range violations {
			parts[i] = v.String()
		}
		p.Error = &EventError{Code: ToolErrorArgs, Message: "the arguments do not match the tool's schema: " + strings.Join(parts, "; ")}
		log.Warn("tool call arguments do not match the tool's schema", "violations", len(violations))
		return p
	}

	defer func() {
		if r := recover(); r != nil {
			log.Error("tool panicked", "panic", r)
			p.Error = &EventError{Code: ToolErrorFailed, Message: "the tool failed unexpectedly"}
		}
	}()
	res, err := t.Call(ctx, args)
	switch {
	case err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)):
		// The turn ended, or the tool's own deadline passed (an MCP
		// server's timeout wraps context.DeadlineExceeded).
		log.Warn("tool call timed out", "error", err)
		p.Error = &EventError{Code: ToolErrorTimeout, Message: "the call was cancelled or timed out"}
	case err != nil:
		log.Warn("tool call failed", "error", err)
		p.Error = &EventError{Code: ToolErrorFailed, Message: err.Error()}
	default:
		limit := e.cfg.Manifest.AgentConfig.Runtime.ToolResultMaxBytes
		if limit > 0 {
			var cut bool
			if res, cut = tool.Truncate(res, limit); cut {
				log.Info("tool result truncated", "limit_bytes", limit)
			}
		}
		p.Result = res.Content
		if res.IsError {
			p.Error = &EventError{Code: ToolErrorFailed, Message: "the tool reported an error"}
		}
	}
	return p
}

// toolOutcome maps a tool_result error to the outcome of the tool.call
// span and the agentry_tool_calls_total metric.
func toolOutcome(failure *EventError) string {
	if failure == nil {
		return telemetry.ToolOK
	}
	switch failure.Code {
	case ToolErrorUnknown:
		return telemetry.ToolUnknown
	case ToolErrorArgs:
		return telemetry.ToolInvalidArgs
	case ToolErrorTimeout:
		return telemetry.ToolTimeout
	}
	return telemetry.ToolError
}

// resultText renders a tool_result payload for the model. A failure is
// stated in words, because the transcript has no error flag.
func resultText(p Payload) string {
	switch {
	case p.Error != nil && len(p.Result) > 0:
		return fmt.Sprintf("The tool call failed (%s): %s. Result: %s", p.Error.Code, p.Error.Message, p.Result)
	case p.Error != nil:
		return fmt.Sprintf("The tool call failed (%s): %s.", p.Error.Code, p.Error.Message)
	case len(p.Result) == 0:
		return "null"
	}
	return string(p.Result)
}
