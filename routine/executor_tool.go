package routine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

// nodeTools are the tools a tool node offers.
type nodeTools struct {
	names []string
	// registered holds the node's tools other than built-in:emit_output.
	registered map[string]tool.Tool
	emit       bool
	offered    []llms.Tool
}

// resolveTools looks up the tools of node n in the executor's registry.
func (x *Executor) resolveTools(r *Routine, n *manifest.Node) (*nodeTools, error) {
	nt := &nodeTools{names: n.Tools, registered: make(map[string]tool.Tool, len(n.Tools))}
	for _, name := range n.Tools {
		if name == manifest.EmitOutputTool {
			if !r.Autonomous() {
				return nil, failf(CodeInternalError, "routine %q: node %q lists %s, but the routine is not autonomous", r.ID(), n.ID, name)
			}
			if !nt.emit {
				nt.emit = true
				nt.offered = append(nt.offered, emitOutputTool(r))
			}
			continue
		}
		t, ok := x.Tools.Get(name)
		if !ok {
			return nil, failf(CodeToolError, "routine %q: node %q needs tool %q, which is not registered: check that its MCP server connected", r.ID(), n.ID, name)
		}
		if _, dup := nt.registered[name]; dup {
			continue
		}
		nt.registered[name] = t
		nt.offered = append(nt.offered, llms.Tool{
			Type: "function",
			Function: &llms.FunctionDefinition{
				Name:        name,
				Description: t.Description(),
				Parameters:  json.RawMessage(argumentSchema(t)),
			},
		})
	}
	return nt, nil
}

// argumentSchema returns the argument schema of t, or a schema of any
// object when t has none.
func argumentSchema(t tool.Tool) json.RawMessage {
	s := t.Schema()
	if len(strings.TrimSpace(string(s))) == 0 || strings.TrimSpace(string(s)) == "null" {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	return s
}

// toolNode runs a tool node. It calls the chat model with the node's
// tools in a loop. The tool calls of each reply run, several at once
// concurrently. Each call and its result are appended to the transcript
// as their own pair of messages, and the model is called again. The node
// ends:
//
//   - when built-in:emit_output succeeds, which also ends the routine;
//   - when the model replies without tool calls, after at least one call
//     of the node's tools succeeded, unless the node must emit: a node
//     that lists built-in:emit_output and has no transitions ends only by
//     emitting.
//
// A reply that cannot end the node gets a reminder in return. After
// MaxIterations model calls the run fails: with output_validation_failed
// when a call of built-in:emit_output failed, else with iteration_limit.
func (x *Executor) toolNode(ctx context.Context, r *Routine, n *manifest.Node, st *State) error {
	label := fmt.Sprintf("routine %q: tool node %q", r.ID(), n.ID)
	if x.Chat == nil {
		return failf(CodeInternalError, "%s: the executor has no chat model: set Executor.Chat", label)
	}
	nt, err := x.resolveTools(r, n)
	if err != nil {
		return err
	}
	mustEmit := nt.emit && len(n.Transitions) == 0
	msgs := []llms.MessageContent{
		x.systemMessage(r),
		llms.TextParts(llms.ChatMessageTypeHuman, toolPrompt(r, n, nt, st)),
	}

	var records []callRecord
	succeeded := 0
	var emitFailure *callResult
	// toolFailure describes the newest failed call of a registered tool,
	// so a node that ends without a success reports it.
	toolFailure := ""
	done := false
	for range x.maxIterations() {
		resp, err := x.Chat.GenerateContent(ctx, msgs, llms.WithTools(nt.offered))
		if err != nil {
			return modelFailure(ctx, label, err)
		}
		reply := llm.Flatten(resp)
		if len(reply.ToolCalls) == 0 {
			if !mustEmit && succeeded > 0 {
				done = true
				break
			}
			if !mustEmit && toolFailure != "" {
				// The model stopped calling after a failure: the node
				// cannot do its work, and the failure states why.
				return failf(CodeToolError, "%s: %s", label, toolFailure)
			}
			if t := strings.TrimSpace(reply.Text); t != "" {
				msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeAI, t))
			}
			msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeHuman, reminder(nt, mustEmit)))
			continue
		}

		// Text beside tool calls is dropped: the transcript holds each
		// call alone in its message, followed by its result.
		outcomes := x.callTools(ctx, r, n, nt, reply.ToolCalls)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		for i, call := range reply.ToolCalls {
			o := outcomes[i]
			msgs = append(msgs, llm.ToolCallMessages(call, o.text)...)
			records = append(records, o.record)
			if o.ok {
				succeeded++
			} else if o.emitFailure == nil && o.record.Error != "" {
				toolFailure = fmt.Sprintf("tool %s failed: %s", o.record.Tool, o.record.Error)
			}
			if o.emitFailure != nil {
				emitFailure = o.emitFailure
			}
			if o.emitted != nil && st.Output == nil {
				st.Output = o.emitted
			}
		}
		if st.Output != nil {
			done = true
			break
		}
	}
	if !done {
		if emitFailure == nil && succeeded == 0 && toolFailure != "" {
			return failf(CodeToolError, "%s: no call succeeded within %d model calls; the last: %s", label, x.maxIterations(), toolFailure)
		}
		return exhausted(label, x.maxIterations(), emitFailure)
	}
	out, err := json.Marshal(records)
	if err != nil {
		return failf(CodeInternalError, "%s: encode the tool calls: %v", label, err)
	}
	st.Outputs[n.ID] = out
	return nil
}

// exhausted returns the failure of a tool node whose model calls ran out.
func exhausted(label string, calls int, emitFailure *callResult) *Failure {
	if emitFailure != nil {
		msg := fmt.Sprintf("%s: the output did not validate after %d model calls", label, calls)
		if len(emitFailure.Details) > 0 {
			msg += "; the last attempt had these problems: " + formatViolations(emitFailure.Details)
		} else if emitFailure.Message != "" {
			msg += "; the last attempt: " + emitFailure.Message
		}
		return &Failure{Code: CodeOutputValidationFailed, Message: msg}
	}
	return failf(CodeIterationLimit, "%s: the node did not finish within %d model calls", label, calls)
}

// toolPrompt returns the request of a tool node.
func toolPrompt(r *Routine, n *manifest.Node, nt *nodeTools, st *State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Node %q (tools).\n\n", n.ID)
	if t := strings.TrimSpace(n.ToolInstruction); t != "" {
		fmt.Fprintf(&b, "Task: %s\n\n", t)
	}
	b.WriteString(contextBlock(st))
	fmt.Fprintf(&b, "\n\nCall the tools of this node as the task needs: %s.", strings.Join(nt.names, ", "))
	if nt.emit {
		fmt.Fprintf(&b, "\nDeliver the routine's output by calling %s with output_json set to the output written as a JSON string. "+
			"The output must validate against this JSON Schema:\n%s\nThe run ends when that call succeeds.",
			manifest.EmitOutputTool, r.OutputSchema())
	}
	return b.String()
}

// reminder returns the request sent after a reply that cannot end the
// node.
func reminder(nt *nodeTools, mustEmit bool) string {
	if mustEmit {
		return fmt.Sprintf("You have not delivered the output yet. Call %s now, with output_json set to the output as a JSON string.", manifest.EmitOutputTool)
	}
	return fmt.Sprintf("You have not called the tools of this node yet. Call them now: %s.", strings.Join(nt.names, ", "))
}
