package routine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

// Codes in the results of failed tool calls.
const (
	callErrorUnknownTool      = "unknown_tool"
	callErrorInvalidArguments = "invalid_arguments"
	callErrorToolFailed       = "tool_failed"
	callErrorToolReported     = "tool_reported_error"
)

// callRecord is one tool call in a tool node's output.
type callRecord struct {
	Tool      string          `json:"tool"`
	Arguments json.RawMessage `json:"arguments"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// callOutcome is the outcome of one tool call.
type callOutcome struct {
	// text is the result as the model reads it.
	text string
	// ok reports a call that succeeded.
	ok     bool
	record callRecord
	// emitted is the output that built-in:emit_output accepted.
	emitted json.RawMessage
	// emitFailure is the result of a call of built-in:emit_output that
	// failed.
	emitFailure *callResult
}

// callTools runs the tool calls of one reply and returns their outcomes
// in the same order. Calls of registered tools run concurrently. Calls of
// built-in:emit_output are checked in order, and once one succeeds, the
// later ones in the same reply are rejected, so the first valid output
// wins. No failure stops the other calls.
func (x *Executor) callTools(ctx context.Context, r *Routine, n *manifest.Node, nt *nodeTools, calls []llms.ToolCall) []callOutcome {
	outcomes := make([]callOutcome, len(calls))
	var wg sync.WaitGroup
	emitted := false
	for i, call := range calls {
		name, args := "", "{}"
		if call.FunctionCall != nil {
			name, args = call.FunctionCall.Name, llm.NormalizeArguments(call.FunctionCall.Arguments)
		}
		switch t, registered := nt.registered[name]; {
		case name == manifest.EmitOutputTool && nt.emit:
			outcomes[i] = x.callEmit(r, n, args, emitted)
			emitted = emitted || outcomes[i].emitted != nil
		case registered:
			wg.Add(1)
			go func() {
				defer wg.Done()
				outcomes[i] = x.callTool(ctx, r, n, t, args)
			}()
		default:
			outcomes[i] = x.rejectCall(r, n, name, args, callResult{
				Error:   callErrorUnknownTool,
				Message: fmt.Sprintf("tool %q is not offered at this node: call one of %s", name, strings.Join(nt.names, ", ")),
			})
		}
	}
	wg.Wait()
	return outcomes
}

// callEmit runs built-in:emit_output. already reports an earlier call in
// the same reply that succeeded.
func (x *Executor) callEmit(r *Routine, n *manifest.Node, args string, already bool) callOutcome {
	if already {
		return x.rejectCall(r, n, manifest.EmitOutputTool, args, callResult{
			Error:   emitErrorAlreadyEmitted,
			Message: "an earlier call in the same reply already delivered the output",
		})
	}
	output, res := r.emit(args)
	o := callOutcome{text: res.text(), ok: res.OK, emitted: output}
	o.record = callRecord{Tool: manifest.EmitOutputTool, Arguments: argumentsJSON(args), Result: json.RawMessage(o.text)}
	var err error
	if !res.OK {
		o.emitFailure = &res
		err = errors.New(res.Message)
		x.logger().Warn("routine output rejected", "routine_id", r.ID(), "node_id", n.ID,
			"error", res.Error, "problems", formatViolations(res.Details))
	}
	if x.Observer != nil {
		x.Observer.ToolCalled(manifest.EmitOutputTool, argumentsJSON(args), tool.Result{Content: json.RawMessage(o.text), IsError: !res.OK}, err)
	}
	return o
}

// callTool checks the arguments of a registered tool and calls it.
func (x *Executor) callTool(ctx context.Context, r *Routine, n *manifest.Node, t tool.Tool, args string) callOutcome {
	name := t.Name()
	v, err := decodeJSON([]byte(args))
	if err != nil {
		return x.rejectCall(r, n, name, args, callResult{
			Error: callErrorInvalidArguments, Message: "the arguments are not valid JSON: " + err.Error(),
		})
	}
	if _, ok := v.(map[string]any); !ok {
		return x.rejectCall(r, n, name, args, callResult{
			Error: callErrorInvalidArguments, Message: "the arguments must be a JSON object, not " + jsonKind(v),
		})
	}
	if s := x.argSchema(r, t); s != nil {
		if vs := s.validateValue(v); len(vs) > 0 {
			return x.rejectCall(r, n, name, args, callResult{
				Error:   callErrorInvalidArguments,
				Message: "the arguments do not validate against the tool's schema: fix the listed problems and call again",
				Details: vs,
			})
		}
	}

	callCtx, span := x.Telemetry.StartToolCall(ctx, name)
	res, err := safeCall(callCtx, t, json.RawMessage(args))
	switch {
	case err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)):
		span.End(telemetry.ToolTimeout, err)
	case err != nil || res.IsError:
		span.End(telemetry.ToolError, err)
	default:
		span.End(telemetry.ToolOK, nil)
	}
	if x.Observer != nil {
		x.Observer.ToolCalled(name, json.RawMessage(args), res, err)
	}
	record := callRecord{Tool: name, Arguments: argumentsJSON(args)}
	switch {
	case err != nil:
		x.logger().Warn("routine tool call failed", "routine_id", r.ID(), "node_id", n.ID, "tool", name, "error", err)
		record.Error = err.Error()
		text := callResult{Error: callErrorToolFailed, Message: "the tool call failed: " + err.Error()}.text()
		return callOutcome{text: text, record: record}
	case res.IsError:
		content := valueJSON(res.Content)
		x.logger().Warn("routine tool reported an error", "routine_id", r.ID(), "node_id", n.ID, "tool", name,
			"result", logExcerpt(content))
		record.Error = "the tool reported an error"
		record.Result = content
		text := callResult{Error: callErrorToolReported, Message: "the tool reported an error", Content: content}.text()
		return callOutcome{text: text, record: record}
	}
	content := valueJSON(res.Content)
	record.Result = content
	return callOutcome{text: string(content), ok: true, record: record}
}

// rejectCall returns the outcome of a call that was not made, and reports
// it to the log and the observer.
func (x *Executor) rejectCall(r *Routine, n *manifest.Node, name, args string, res callResult) callOutcome {
	x.Telemetry.Metrics().ToolCall(name, telemetry.ToolInvalidArgs)
	x.logger().Warn("routine tool call rejected", "routine_id", r.ID(), "node_id", n.ID, "tool", name,
		"error", res.Error, "message", res.Message, "problems", formatViolations(res.Details))
	text := res.text()
	if x.Observer != nil {
		x.Observer.ToolCalled(name, argumentsJSON(args), tool.Result{Content: json.RawMessage(text), IsError: true}, errors.New(res.Message))
	}
	return callOutcome{
		text:   text,
		record: callRecord{Tool: name, Arguments: argumentsJSON(args), Error: res.Message},
	}
}

// argSchema returns the compiled argument schema of t: the one Compile
// kept when t's schema is unchanged, or else a fresh compilation. It
// returns nil when the schema does not compile, and the call then goes
// ahead unchecked.
func (x *Executor) argSchema(r *Routine, t tool.Tool) *schema {
	raw := argumentSchema(t)
	if s := r.toolArgs[t.Name()]; s != nil && bytes.Equal(s.raw, raw) {
		return s
	}
	s, err := compileSchema("tools/"+t.Name(), raw)
	if err != nil {
		x.logger().Warn("tool argument schema does not compile; arguments are not checked", "tool", t.Name(), "error", err)
		return nil
	}
	return s
}

// safeCall calls t and turns a panic into an error, so a faulty tool
// cannot end the process.
func safeCall(ctx context.Context, t tool.Tool, args json.RawMessage) (res tool.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the tool panicked: %v", p)
		}
	}()
	return t.Call(ctx, args)
}

// argumentsJSON returns args when it is valid JSON, or else args as a
// JSON string, so that a record stays valid JSON.
func argumentsJSON(args string) json.RawMessage {
	return valueJSON(json.RawMessage(args))
}

// valueJSON returns raw when it is valid JSON, null when it is empty, or
// else raw's text as a JSON string.
func valueJSON(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(raw) {
		return raw
	}
	s, _ := json.Marshal(string(raw))
	return s
}

// maxLogExcerpt is the most bytes of a tool result a log line carries.
const maxLogExcerpt = 300

// logExcerpt returns the start of a tool result for a log line, cut at
// maxLogExcerpt bytes.
func logExcerpt(content json.RawMessage) string {
	if len(content) <= maxLogExcerpt {
		return string(content)
	}
	return strings.ToValidUTF8(string(content[:maxLogExcerpt]), "") + "..."
}
