package routine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/internal/jsonreply"
	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
)

// think runs a think node. The evaluation model replies to the node's
// instruction with JSON that must validate against the node's output
// schema, and that JSON becomes the node's output.
func (x *Executor) think(ctx context.Context, r *Routine, n *manifest.Node, st *State) error {
	s := r.think[n.ID]
	if s == nil {
		return failf(CodeInternalError, "routine %q: think node %q has no compiled output schema", r.ID(), n.ID)
	}
	prompt := fmt.Sprintf("Node %q (think).\n\nTask: %s\n\n%s\n\n"+
		"Answer with one JSON value that validates against this JSON Schema, and nothing else: no prose, no code fence.\n"+
		"JSON Schema:\n%s",
		n.ID, strings.TrimSpace(n.Think), contextBlock(st), compactJSON(s.raw))
	msgs := []llms.MessageContent{x.systemMessage(r), llms.TextParts(llms.ChatMessageTypeHuman, prompt)}
	out, err := x.askJSON(ctx, msgs, s, fmt.Sprintf("routine %q: think node %q", r.ID(), n.ID))
	if err != nil {
		return err
	}
	st.Outputs[n.ID] = out
	return nil
}

// askJSON calls the evaluation model until a reply contains one JSON
// value that s accepts. After a rejected reply, the model gets the
// problems found and tries again, up to MaxIterations calls in all. The
// JSON is returned compacted, with its number literals as written. label
// names the call in errors.
//
// The JSON is requested in the prompt and checked afterwards, without
// a provider's JSON mode, because the langchaingo v0.1.14 Anthropic
// client ignores llms.WithJSONMode.
func (x *Executor) askJSON(ctx context.Context, msgs []llms.MessageContent, s *schema, label string) (json.RawMessage, error) {
	model := x.evaluation()
	if model == nil {
		return nil, failf(CodeInternalError, "%s: the executor has no model: set Executor.Chat", label)
	}
	var problems []Violation
	for range x.maxIterations() {
		resp, err := model.GenerateContent(ctx, msgs)
		if err != nil {
			return nil, modelFailure(ctx, label, err)
		}
		text := llm.Flatten(resp).Text
		raw, v, err := extractJSON(text)
		if err != nil {
			problems = []Violation{{Path: "", Message: "the reply contains no JSON value: " + err.Error()}}
		} else {
			problems = s.validateValue(v)
			if len(problems) == 0 {
				return compactJSON(raw), nil
			}
		}
		if strings.TrimSpace(text) != "" {
			msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeAI, text))
		}
		msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeHuman,
			"Your answer is not valid: "+formatViolations(problems)+
				".\nAnswer again with only the corrected JSON value."))
	}
	return nil, failf(CodeIterationLimit, "%s: no valid JSON answer after %d model calls; the last answer had these problems: %s",
		label, x.maxIterations(), formatViolations(problems))
}

// extractJSON finds the JSON value in a model's reply; see
// [jsonreply.Extract].
func extractJSON(text string) (json.RawMessage, any, error) {
	return jsonreply.Extract(text)
}
