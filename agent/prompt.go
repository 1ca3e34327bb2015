package agent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
)

// replyReserve is the part of the context window kept free for the reply,
// in estimated tokens.
const replyReserve = 1024

// bytesPerToken is the local estimate of text bytes per token.
const bytesPerToken = 4

// promptConfig holds the parts of the prompt fixed at load.
type promptConfig struct {
	system        string
	language      string
	variables     []manifest.Variable
	contextWindow int
	glossary      []glossaryTerm
	// policies is nil when the manifest declares none.
	policies *policySet
}

func newPromptConfig(m *manifest.Manifest) (promptConfig, error) {
	c := m.AgentConfig.Context
	pc := promptConfig{
		language:      c.Language,
		variables:     c.Variables,
		contextWindow: m.AgentConfig.LLMs.ContextWindow,
		glossary:      newGlossary(c.Glossary),
		policies:      newPolicySet(m),
	}
	if c.SystemPrompt != nil {
		pc.system = strings.TrimSpace(c.SystemPrompt.Text)
	}
	if pc.contextWindow <= 0 {
		pc.contextWindow = manifest.DefaultContextWindow
	}
	return pc, nil
}

// prompt is a reply's prompt before trimming: the system message's text
// and the whole conversation history as chat messages. Tool rounds
// append to turns.
type prompt struct {
	system string
	turns  []llms.MessageContent
}

// assemble builds the messages of a reply: build, then fit.
func (pc promptConfig) assemble(s store.Session, c *store.Customer, history []store.Event, sections ...string) []llms.MessageContent {
	return pc.fit(pc.build(s, c, history, sections...))
}

// build returns the system text (prompt, language, variables, then each
// of sections that is not empty, such as the glossary and knowledge base
// references) and the conversation history of a reply. Metadata of
// sessions, customers and messages is never included.
func (pc promptConfig) build(s store.Session, c *store.Customer, history []store.Event, sections ...string) prompt {
	var sys strings.Builder
	sys.WriteString(pc.system)
	section(&sys, pc.languageDirective())
	if vars := pc.variableLines(s, c); vars != "" {
		section(&sys, "Variables:\n"+vars)
	}
	for _, text := range sections {
		section(&sys, text)
	}

	turns := conversation(history)
	// Agent messages before the first customer message (the greeting) go
	// into the system message: some providers require a conversation to
	// start with the user.
	var opening []string
	for len(turns) > 0 && turns[0].Role == llms.ChatMessageTypeAI && isText(turns[0]) {
		opening = append(opening, textOf(turns[0]))
		turns = turns[1:]
	}
	if len(opening) > 0 {
		section(&sys, "You opened the conversation with:\n"+strings.Join(opening, "\n"))
	}
	return prompt{system: sys.String(), turns: turns}
}

// fit returns the messages of p: the system message with each of late
// that is not empty appended as a section (the rules of matched policies,
// the routine's instruction), then the newest turns that fit the context
// window after the system message and the reply reserve. Trimming starts
// at the oldest turn, so late sections count against the budget too.
func (pc promptConfig) fit(p prompt, late ...string) []llms.MessageContent {
	var sys strings.Builder
	sys.WriteString(p.system)
	for _, text := range late {
		section(&sys, text)
	}
	system := llms.TextParts(llms.ChatMessageTypeSystem, strings.TrimSpace(sys.String()))
	turns := p.turns
	budget := pc.contextWindow - replyReserve - estimateTokens(system)
	keep := len(turns)
	for i := len(turns) - 1; i >= 0; i-- {
		budget -= estimateTokens(turns[i])
		if budget < 0 {
			break
		}
		keep = i
	}
	if keep == len(turns) && len(turns) > 0 {
		// Always send the newest message, even alone over budget.
		keep = len(turns) - 1
	}
	// A tool result must follow its call: never start at a result.
	for keep < len(turns)-1 && turns[keep].Role == llms.ChatMessageTypeTool {
		keep++
	}
	return append([]llms.MessageContent{system}, turns[keep:]...)
}

// policySection renders the actions of matched policies as rules for the
// reply, in the order of matched (criticality, then id). It returns ""
// when no policy matched.
func policySection(matched []matchedPolicy) string {
	if len(matched) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Rules for this reply. Follow each one; they are listed from the most to the least critical:")
	for _, m := range matched {
		fmt.Fprintf(&b, "\n- [%s] %s", m.policy.Criticality, strings.TrimSpace(m.policy.Action))
	}
	return b.String()
}

func section(b *strings.Builder, text string) {
	if text == "" {
		return
	}
	if b.Len() > 0 {
		b.WriteString("\n\n")
	}
	b.WriteString(text)
}

func (pc promptConfig) languageDirective() string {
	switch strings.ToLower(pc.language) {
	case "", "auto":
		return "Reply in the language the customer writes in."
	default:
		return "Always reply in " + pc.language + "."
	}
}

// variableLines lists the variables shown to the model, one "- name: value"
// line each: every declared variable (from its scope, then the other scope,
// then its default) and every undeclared session or customer variable.
func (pc promptConfig) variableLines(s store.Session, c *store.Customer) string {
	var customerVars map[string]any
	if c != nil {
		customerVars = c.Variables
	}
	values := make(map[string]any)
	for k, v := range customerVars {
		values[k] = v
	}
	for k, v := range s.Variables {
		values[k] = v
	}
	for _, d := range pc.variables {
		first, second := s.Variables, customerVars
		if d.Scope == manifest.ScopeCustomer {
			first, second = second, first
		}
		if v, ok := first[d.Name]; ok {
			values[d.Name] = v
		} else if v, ok := second[d.Name]; ok {
			values[d.Name] = v
		} else if d.DefaultValue != nil {
			values[d.Name] = d.DefaultValue
		}
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	descriptions := make(map[string]string, len(pc.variables))
	for _, d := range pc.variables {
		descriptions[d.Name] = d.Description
	}
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "- %s: %s", name, formatValue(values[name]))
		if d := descriptions[name]; d != "" {
			fmt.Fprintf(&b, " (%s)", d)
		}
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

func formatValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// conversation turns the stored events into chat messages: customer and
// agent messages, and tool calls with their results as call/result pairs.
// An injected tool result, which has no call, gets a synthesized call so
// the model reads it as a result like any other. Status and other events
// are left out, and no metadata reaches the model.
func conversation(history []store.Event) []llms.MessageContent {
	var msgs []llms.MessageContent
	calls := make(map[string]Payload)
	for _, ev := range history {
		p, err := DecodePayload(ev)
		if err != nil {
			slog.Warn("skipping undecodable event in history", "session_id", ev.SessionID, "offset", ev.Offset, "error", err)
			continue
		}
		switch ev.Kind {
		case KindAgentMessage:
			msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeAI, p.Text))
		case KindUserMessage:
			if p.Source == SourceHumanAgent {
				msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeAI, "[human agent] "+p.Text))
			} else {
				msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeHuman, p.Text))
			}
		case KindToolCall:
			calls[p.CallID] = p
		case KindToolResult:
			call, ok := calls[p.CallID]
			if !ok {
				call = Payload{CallID: p.CallID, Tool: p.Tool, Arguments: p.Arguments}
			}
			delete(calls, p.CallID)
			args := "{}"
			if len(call.Arguments) > 0 {
				args = string(call.Arguments)
			}
			tc := llms.ToolCall{ID: p.CallID, Type: "function", FunctionCall: &llms.FunctionCall{Name: call.Tool, Arguments: args}}
			msgs = append(msgs, llm.ToolCallMessages(tc, resultText(p))...)
		}
	}
	return msgs
}

// isText reports whether every part of m is text.
func isText(m llms.MessageContent) bool {
	for _, p := range m.Parts {
		if _, ok := p.(llms.TextContent); !ok {
			return false
		}
	}
	return true
}

func textOf(m llms.MessageContent) string {
	var b strings.Builder
	for _, p := range m.Parts {
		if t, ok := p.(llms.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// estimateTokens approximates a message's tokens at four bytes each plus a
// small overhead. It runs offline, unlike tokenizers that download their
// vocabulary.
func estimateTokens(m llms.MessageContent) int {
	n := 0
	for _, p := range m.Parts {
		switch p := p.(type) {
		case llms.TextContent:
			n += len(p.Text)
		case llms.ToolCall:
			if p.FunctionCall != nil {
				n += len(p.FunctionCall.Name) + len(p.FunctionCall.Arguments)
			}
		case llms.ToolCallResponse:
			n += len(p.Name) + len(p.Content)
		}
	}
	return n/bytesPerToken + 4
}
