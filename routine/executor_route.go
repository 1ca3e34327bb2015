package routine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/manifest"
)

// routeChoice is the reply of the evaluation model that picks a
// transition.
type routeChoice struct {
	Next string `json:"next"`
}

// routeTargets returns the targets that a choice between n's transitions
// may name: the targets of conditional transitions in order without
// repeats, then the default (the transition without a condition), which
// is "" when n has none.
func routeTargets(n *manifest.Node) (targets []string, fallback string) {
	seen := make(map[string]bool)
	for _, t := range n.Transitions {
		if t.Condition == "" {
			fallback = t.To
			continue
		}
		if !seen[t.To] {
			seen[t.To] = true
			targets = append(targets, t.To)
		}
	}
	if fallback != "" && !seen[fallback] {
		targets = append(targets, fallback)
	}
	return targets, fallback
}

// routeSchema returns the schema of the reply that picks one of targets.
func routeSchema(targets []string) json.RawMessage {
	enum, _ := json.Marshal(targets)
	return json.RawMessage(`{"type":"object","properties":{"next":{"type":"string","enum":` + string(enum) +
		`}},"required":["next"],"additionalProperties":false}`)
}

// next returns the node that follows n, or "" when n has no transitions.
// A transition without a condition is taken when it is the only one.
// Otherwise the evaluation model reads the conditions, the input and the
// outputs so far, and replies {"next": "<node id>"}. The reply names the
// target of the first condition that holds, or the default when none
// holds. Conditions choose between targets rather than guard them, so
// without a default the model picks the condition that fits best. A
// choice with a single possible target needs no model call.
func (x *Executor) next(ctx context.Context, r *Routine, n *manifest.Node, st *State) (string, error) {
	targets, fallback := routeTargets(n)
	switch len(targets) {
	case 0:
		return "", nil
	case 1:
		return targets[0], nil
	}
	s := r.route[n.ID]
	if s == nil {
		return "", failf(CodeInternalError, "routine %q: node %q has no compiled transition schema", r.ID(), n.ID)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Choose the node that follows node %q.\n\nTransitions, in order:\n", n.ID)
	i := 0
	for _, t := range n.Transitions {
		if t.Condition == "" {
			continue
		}
		i++
		fmt.Fprintf(&b, "%d. to %q if: %s\n", i, t.To, strings.TrimSpace(t.Condition))
	}
	rule := "the target of the first transition whose condition holds; if none holds exactly, the target of the condition that fits best"
	if fallback != "" {
		fmt.Fprintf(&b, "Default: to %q when no condition holds.\n", fallback)
		rule = fmt.Sprintf("the target of the first transition whose condition holds, or %q when none holds", fallback)
	}
	fmt.Fprintf(&b, "\n%s\n\nAnswer with only this JSON object: {\"next\": \"<node id>\"}, where next is %s.", contextBlock(st), rule)

	msgs := []llms.MessageContent{x.systemMessage(r), llms.TextParts(llms.ChatMessageTypeHuman, b.String())}
	raw, err := x.askJSON(ctx, msgs, s, fmt.Sprintf("routine %q: transition from node %q", r.ID(), n.ID))
	if err != nil {
		return "", err
	}
	var choice routeChoice
	if err := json.Unmarshal(raw, &choice); err != nil {
		return "", failf(CodeInternalError, "routine %q: transition from node %q: decode %s: %v", r.ID(), n.ID, raw, err)
	}
	return choice.Next, nil
}
