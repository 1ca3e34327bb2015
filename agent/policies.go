package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"github.com/tmc/langchaingo/llms"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/agentry/agentry/internal/jsonreply"
	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
)

// matchAttempts is the number of evaluation calls per batch: the first
// answer and one repair that sends the problems back.
const matchAttempts = 2

// toolResultExcerpt is the number of bytes of each tool result that the
// evaluation lane receives when it judges conditions.
const toolResultExcerpt = 2000

// policySet holds the manifest's policies and their relationships,
// prepared at load for matching in every turn.
type policySet struct {
	policies  []manifest.Policy
	batchSize int
	// entails maps a policy id to the ids of the policies it makes apply.
	entails map[string][]string
	// outranks maps a policy id to the ids of the policies it wins over
	// when both match.
	outranks map[string][]string
	// overAllRoutines holds the ids of policies that rank over every
	// routine: when one matches, no routine is active for the turn.
	overAllRoutines map[string]bool
	// contextWindow is the evaluation lane's context size in tokens.
	contextWindow int
}

func newPolicySet(m *manifest.Manifest) *policySet {
	c := m.AgentConfig.Context
	if len(c.Policies) == 0 {
		return nil
	}
	ps := &policySet{
		policies:        c.Policies,
		batchSize:       m.AgentConfig.Runtime.PolicyBatchSize,
		entails:         map[string][]string{},
		outranks:        map[string][]string{},
		overAllRoutines: map[string]bool{},
		contextWindow:   m.AgentConfig.LLMs.EvaluationContextWindow,
	}
	if ps.batchSize <= 0 {
		ps.batchSize = manifest.DefaultPolicyBatchSize
	}
	if ps.contextWindow <= 0 {
		ps.contextWindow = manifest.DefaultContextWindow
	}
	for _, e := range c.Relationships.Entailments {
		ps.entails[e.Source] = append(ps.entails[e.Source], e.Target)
	}
	for _, p := range c.Relationships.Priorities {
		if p.OverAllRoutines {
			ps.overAllRoutines[p.Higher] = true
			continue
		}
		ps.outranks[p.Higher] = append(ps.outranks[p.Higher], p.Over)
	}
	return ps
}

// matchedPolicy is a policy that applies to the reply being written.
type matchedPolicy struct {
	policy *manifest.Policy
	// reason is the evaluation lane's explanation, or, for a policy that
	// applies through an entailment, the id of the policy that entails it.
	reason string
}

// matchPolicies returns the policies that apply to the conversation in
// msgs (the chat transcript without its system message), ordered by
// criticality, highest first, then by id. The evaluation lane judges the
// conditions in batches of runtime.policy_batch_size, all batches at
// once. A batch whose reply stays invalid after one repair counts as no
// match and is logged. Entailments then add policies and priorities drop
// those that a matched policy outranks.
func (e *Engine) matchPolicies(ctx context.Context, sid, turnID string, msgs []llms.MessageContent) []matchedPolicy {
	ps := e.prompt.policies
	if ps == nil {
		return nil
	}
	log := e.log.With("session_id", sid, "turn_id", turnID)
	transcript := ps.transcript(msgs)

	batches := slices.Collect(slices.Chunk(ps.policies, ps.batchSize))
	found := make([]map[string]string, len(batches))
	forEachBounded(len(batches), func(i int) {
		found[i] = e.matchBatch(ctx, log, batches[i], transcript)
	})

	reasons := map[string]string{}
	for _, f := range found {
		for id, reason := range f {
			reasons[id] = reason
		}
	}
	return ps.resolve(reasons)
}

// resolve applies entailments and priorities to the ids that the
// evaluation lane matched, with their reasons, and returns the policies
// that apply. Entailments apply transitively. A policy is dropped when
// any policy that applies after the entailments outranks it, even one
// that is itself dropped.
func (ps *policySet) resolve(reasons map[string]string) []matchedPolicy {
	queue := make([]string, 0, len(reasons))
	for id := range reasons {
		queue = append(queue, id)
	}
	slices.Sort(queue)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, target := range ps.entails[id] {
			if _, ok := reasons[target]; !ok {
				reasons[target] = "entailed by " + id
				queue = append(queue, target)
			}
		}
	}
	dropped := map[string]bool{}
	for id := range reasons {
		for _, lower := range ps.outranks[id] {
			dropped[lower] = true
		}
	}

	var out []matchedPolicy
	for i := range ps.policies {
		p := &ps.policies[i]
		if reason, ok := reasons[p.ID]; ok && !dropped[p.ID] {
			out = append(out, matchedPolicy{policy: p, reason: reason})
		}
	}
	slices.SortStableFunc(out, func(a, b matchedPolicy) int {
		if ra, rb := manifest.CriticalityRank(a.policy.Criticality), manifest.CriticalityRank(b.policy.Criticality); ra != rb {
			return rb - ra
		}
		return strings.Compare(a.policy.ID, b.policy.ID)
	})
	return out
}

// matchBatch runs [Engine.judge] for a batch of policies. It returns the
// ids of the policies whose conditions hold, with the lane's reasons. A
// failed call or a reply that stays invalid returns nil after logging a
// warning.
func (e *Engine) matchBatch(ctx context.Context, log *slog.Logger, batch []manifest.Policy, transcript string) map[string]string {
	ids := make([]string, len(batch))
	conds := make([]condition, len(batch))
	for i, p := range batch {
		ids[i] = p.ID
		conds[i] = condition{id: p.ID, text: p.Condition}
	}
	ctx, span := e.tel.StartPolicyMatch(ctx, ids)
	defer span.End()
	matched, err := e.judge(ctx, "policy match", conds, "", transcript)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		if ctx.Err() == nil {
			log.Warn(err.Error()+"; counting the batch as no match", "policy_ids", ids)
		}
		return nil
	}
	span.SetAttributes(attribute.StringSlice("agentry.policy.matched_ids", sortedIDs(matched)))
	return matched
}

// condition is one statement for the evaluation lane to judge against a
// conversation, under an id that its answer names.
// maxConcurrentJudgements is the maximum number of evaluation calls
// that one round of condition checks (policy matching, routine
// activation) has in flight, so a manifest with many batches does not
// send them all to the provider at once.
const maxConcurrentJudgements = 8

// forEachBounded calls fn(i) for each i in [0, n), at most
// maxConcurrentJudgements at a time, and returns when all calls have.
func forEachBounded(n int, fn func(i int)) {
	slots := make(chan struct{}, maxConcurrentJudgements)
	var wg sync.WaitGroup
	for i := range n {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			fn(i)
		}()
	}
	wg.Wait()
}

type condition struct {
	id, text string
}

// judge runs one evaluation call, and one repair call when the reply is
// invalid, for conds. The conditions are judged on transcript alone.
// Earlier, when not "", is the conversation before transcript, sent as
// context that the lane is told not to count. It returns the ids of the
// conditions that hold, with the lane's reasons. Its errors start with
// what, such as "policy match", and name the problems of the last reply.
func (e *Engine) judge(ctx context.Context, what string, conds []condition, earlier, transcript string) (map[string]string, error) {
	ids := make([]string, len(conds))
	for i, c := range conds {
		ids[i] = c.id
	}
	model := e.cfg.Evaluation
	if model == nil {
		model = e.chat
	}
	schema, schemaText, err := matchSchema(ids)
	if err != nil {
		return nil, fmt.Errorf("compiling the %s schema failed: %w", what, err)
	}
	msgs := []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, "You decide which conditions hold for a conversation between a customer and an agent. "+
			"Judge each condition only by the part headed \"Conversation:\", above all the customer's latest messages. "+
			"A part headed \"Earlier conversation\" is context only: a condition that only the earlier part meets does not hold. "+
			"Answer with one JSON object that validates against this JSON Schema, and nothing else: no prose, no code fence.\n"+
			"JSON Schema:\n"+schemaText),
		llms.TextParts(llms.ChatMessageTypeHuman, matchRequest(conds, earlier, transcript)),
	}
	var problems string
	for range matchAttempts {
		resp, err := model.GenerateContent(ctx, msgs)
		if err != nil {
			return nil, fmt.Errorf("%s call failed: %w", what, err)
		}
		text := llm.Flatten(resp).Text
		matched, p := readMatches(text, schema)
		if p == "" {
			return matched, nil
		}
		problems = p
		if strings.TrimSpace(text) != "" {
			msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeAI, text))
		}
		msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeHuman,
			"Your answer is not valid: "+problems+"\nAnswer again with only the corrected JSON object."))
	}
	return nil, fmt.Errorf("%s reply invalid after a repair: %s", what, problems)
}

// matchRequest lists conds, the earlier conversation when there is one,
// and the conversation to judge, for the evaluation lane.
func matchRequest(conds []condition, earlier, transcript string) string {
	var b strings.Builder
	b.WriteString("Conditions:\n")
	for _, c := range conds {
		fmt.Fprintf(&b, "- id: %s\n  condition: %s\n", c.id, strings.TrimSpace(c.text))
	}
	if earlier != "" {
		b.WriteString("\nEarlier conversation (context only, do not judge the conditions on it):\n")
		b.WriteString(earlier)
		b.WriteString("\n")
	}
	b.WriteString("\nConversation:\n")
	b.WriteString(transcript)
	b.WriteString("\nFor each condition, give its id, applies (true or false) and a short reason.")
	return b.String()
}

// matchSchema compiles the JSON Schema of an answer about the policies
// ids and returns it with its text for the prompt. An id outside ids is
// a violation, so the repair call can correct it.
func matchSchema(ids []string) (*jsonschema.Schema, string, error) {
	doc := map[string]any{
		"type":     "object",
		"required": []string{"matches"},
		"properties": map[string]any{
			"matches": map[string]any{
				"type": "array",
				"items": map[string]any{
					"type":     "object",
					"required": []string{"id", "applies"},
					"properties": map[string]any{
						"id":      map[string]any{"enum": ids},
						"applies": map[string]any{"type": "boolean"},
						"reason":  map[string]any{"type": "string"},
					},
					"additionalProperties": false,
				},
			},
		},
		"additionalProperties": false,
	}
	text, err := json.Marshal(doc)
	if err != nil {
		return nil, "", err
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource("mem:///policy-match.json", bytes.NewReader(text)); err != nil {
		return nil, "", err
	}
	s, err := c.Compile("mem:///policy-match.json")
	if err != nil {
		return nil, "", err
	}
	return s, string(text), nil
}

// readMatches reads an evaluation answer. It returns the matched ids with
// their reasons, or a description of what is wrong with the answer.
func readMatches(text string, schema *jsonschema.Schema) (map[string]string, string) {
	raw, value, err := jsonreply.Extract(text)
	if err != nil {
		return nil, "the reply contains no JSON object: " + err.Error()
	}
	if err := schema.Validate(value); err != nil {
		return nil, describeSchemaError(err)
	}
	var answer struct {
		Matches []struct {
			ID      string `json:"id"`
			Applies bool   `json:"applies"`
			Reason  string `json:"reason"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return nil, "the answer cannot be read: " + err.Error()
	}
	matched := map[string]string{}
	for _, m := range answer.Matches {
		if m.Applies {
			matched[m.ID] = m.Reason
		}
	}
	return matched, ""
}

// describeSchemaError lists the failed keywords of a validation error as
// "location: message" items.
func describeSchemaError(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var parts []string
	var walk func(*jsonschema.ValidationError)
	walk = func(v *jsonschema.ValidationError) {
		if len(v.Causes) == 0 {
			at := v.InstanceLocation
			if at == "" {
				at = "(the whole answer)"
			}
			parts = append(parts, at+": "+v.Message)
			return
		}
		for _, c := range v.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.Sort(parts)
	return strings.Join(slices.Compact(parts), "; ")
}

// transcript renders the conversation for the evaluation lane, keeping
// as many of the newest lines as fit half of the lane's context window.
func (ps *policySet) transcript(msgs []llms.MessageContent) string {
	return renderTranscript(msgs, ps.contextWindow*bytesPerToken/2)
}

// renderTranscript renders msgs one line per message, newest last,
// keeping as many of the newest lines as fit budget bytes. The newest
// line goes in even when it alone is over budget.
func renderTranscript(msgs []llms.MessageContent, budget int) string {
	var lines []string
	for _, m := range msgs {
		for _, part := range m.Parts {
			switch p := part.(type) {
			case llms.TextContent:
				switch m.Role {
				case llms.ChatMessageTypeHuman:
					lines = append(lines, "Customer: "+p.Text)
				case llms.ChatMessageTypeAI:
					lines = append(lines, "Agent: "+p.Text)
				}
			case llms.ToolCall:
				if p.FunctionCall != nil {
					lines = append(lines, fmt.Sprintf("Agent called tool %s with %s", p.FunctionCall.Name, p.FunctionCall.Arguments))
				}
			case llms.ToolCallResponse:
				lines = append(lines, fmt.Sprintf("Tool %s returned: %s", p.Name, excerpt(p.Content, toolResultExcerpt)))
			}
		}
	}
	start := len(lines)
	for start > 0 && budget-len(lines[start-1]) >= 0 {
		start--
		budget -= len(lines[start]) + 1
	}
	if start == len(lines) && start > 0 {
		start--
	}
	return strings.Join(lines[start:], "\n")
}

// excerpt cuts s to at most n bytes on a rune boundary and marks the cut.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + " [cut]"
}

func sortedIDs(m map[string]string) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
