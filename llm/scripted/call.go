package scripted

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm/internal/toolname"
)

// call is one GenerateContent call: the transcript, the options and the
// lane. Its methods read the transcript without copying it.
type call struct {
	msgs []llms.MessageContent
	opts llms.CallOptions
	lane string
}

// lastUser returns the text of the last customer (human) message.
func (c *call) lastUser() (string, bool) {
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if c.msgs[i].Role == llms.ChatMessageTypeHuman {
			return textOf(c.msgs[i]), true
		}
	}
	return "", false
}

// toolResult returns the tool result that ends the transcript and the
// name of its tool, taken from the result or else from the call with the
// same ID.
func (c *call) toolResult() (llms.ToolCallResponse, string, bool) {
	if len(c.msgs) == 0 {
		return llms.ToolCallResponse{}, "", false
	}
	last := c.msgs[len(c.msgs)-1]
	if last.Role != llms.ChatMessageTypeTool {
		return llms.ToolCallResponse{}, "", false
	}
	for _, p := range last.Parts {
		res, ok := p.(llms.ToolCallResponse)
		if !ok {
			continue
		}
		if res.Name != "" {
			return res, res.Name, true
		}
		return res, c.callName(res.ToolCallID), true
	}
	return llms.ToolCallResponse{}, "", false
}

// callName returns the tool name of the tool call with the given ID.
func (c *call) callName(id string) string {
	for i := len(c.msgs) - 1; i >= 0; i-- {
		for _, p := range c.msgs[i].Parts {
			if tc, ok := p.(llms.ToolCall); ok && tc.ID == id && tc.FunctionCall != nil {
				return tc.FunctionCall.Name
			}
		}
	}
	return ""
}

// offered returns the offered tool whose provider name equals provider.
func (c *call) offered(provider string) (*llms.FunctionDefinition, bool) {
	for _, t := range c.opts.Tools {
		if t.Function != nil && toolname.ToProvider(t.Function.Name) == provider {
			return t.Function, true
		}
	}
	return nil, false
}

func (c *call) countToolCalls() int {
	n := 0
	for _, m := range c.msgs {
		for _, p := range m.Parts {
			if _, ok := p.(llms.ToolCall); ok {
				n++
			}
		}
	}
	return n
}

// hasAIMessage reports whether the transcript has a reply of the model.
func (c *call) hasAIMessage() bool {
	for _, m := range c.msgs {
		if m.Role == llms.ChatMessageTypeAI {
			return true
		}
	}
	return false
}

// system returns the text of every system message.
func (c *call) system() string {
	var texts []string
	for _, m := range c.msgs {
		if m.Role == llms.ChatMessageTypeSystem {
			texts = append(texts, textOf(m))
		}
	}
	return strings.Join(texts, "\n")
}

// describeLast names the last message for error messages.
func (c *call) describeLast() string {
	if len(c.msgs) == 0 {
		return "for an empty transcript"
	}
	if res, name, ok := c.toolResult(); ok {
		return fmt.Sprintf("for the last message, the result of tool %q: %q", toolname.FromProvider(name), clip(res.Content, 100))
	}
	last := c.msgs[len(c.msgs)-1]
	return fmt.Sprintf("for the last message (%s): %q", last.Role, clip(textOf(last), 100))
}

// textOf joins the text parts of m with newlines.
func textOf(m llms.MessageContent) string {
	if len(m.Parts) == 1 {
		if t, ok := m.Parts[0].(llms.TextContent); ok {
			return t.Text
		}
	}
	var b strings.Builder
	for _, p := range m.Parts {
		if t, ok := p.(llms.TextContent); ok {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// clip cuts s to at most n runes, marking a cut with "...".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n]) + "..."
}

// VariablesHeader is the line that starts the variables section of a
// system prompt. The lines after it that start with "- " hold one
// variable each as "- name: value"; the first other line ends the
// section. The demo model reads the customer's variables from there.
const VariablesHeader = "Variables:"

// Variable is one variable read from a system prompt.
type Variable struct {
	Name, Value string
}

// ParseVariables reads the variables section of a system prompt, in the
// format [VariablesHeader] describes. It returns nil when there is none.
func ParseVariables(system string) []Variable {
	var vars []Variable
	in := false
	for line := range strings.Lines(system) {
		line = strings.TrimSpace(line)
		if line == VariablesHeader {
			in = true
			continue
		}
		if !in {
			continue
		}
		item, ok := strings.CutPrefix(line, "- ")
		if !ok {
			in = false
			continue
		}
		name, value, ok := strings.Cut(item, ":")
		if !ok {
			continue
		}
		vars = append(vars, Variable{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	return vars
}
