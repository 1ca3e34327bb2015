package llm

import (
	"fmt"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm/internal/toolname"
)

// ToProviderName maps a tool name such as "ns:name" to a name that model
// providers accept (^[a-zA-Z0-9_-]{1,64}$): the first ':' becomes "__" and
// other bytes outside that set become '_'. When the mapping loses
// information or the name is too long, the result is cut and ends in a
// short hash, so distinct names stay distinct. A [Lane] applies this
// mapping itself; call it only when talking to a model directly.
func ToProviderName(name string) string { return toolname.ToProvider(name) }

// FromProviderName turns the first "__" of a provider tool name back into
// ':'. It inverts [ToProviderName] only for names whose namespace has no
// "__" and whose parts use letters, digits, '_' and '-' within 64 bytes. A
// [Lane] restores every name from the tools it offered, so callers of a
// Lane need neither function.
func FromProviderName(name string) string { return toolname.FromProvider(name) }

// emptyObjectSchema is sent for tools without parameters: Anthropic
// requires input_schema, and OpenAI rejects "parameters": null.
var emptyObjectSchema = map[string]any{"type": "object", "properties": map[string]any{}}

// callNames maps provider tool names back to the caller's names for one
// call. A nil callNames maps with FromProviderName.
type callNames map[string]string

func (m callNames) original(provider string) string {
	if name, ok := m[provider]; ok {
		return name
	}
	return toolname.FromProvider(provider)
}

// prepareCall rewrites the tools offered through options and the tool
// calls and results in msgs to provider names. It copies what it changes
// and leaves the caller's values untouched. The returned callNames maps
// the provider names back.
func prepareCall(msgs []llms.MessageContent, options []llms.CallOption) ([]llms.MessageContent, []llms.CallOption, callNames, error) {
	var co llms.CallOptions
	for _, opt := range options {
		opt(&co)
	}
	var names callNames
	if len(co.Tools) > 0 {
		tools, m, err := providerTools(co.Tools)
		if err != nil {
			return nil, nil, nil, err
		}
		names = m
		if tools != nil {
			options = append(options[:len(options):len(options)], llms.WithTools(tools))
		}
		if choice, ok := providerToolChoice(co.ToolChoice); ok {
			options = append(options[:len(options):len(options)], llms.WithToolChoice(choice))
		}
	}
	return providerMessages(msgs), options, names, nil
}

// providerTools returns tools with provider names and a parameter schema
// on every function, or nil when tools need no change, and the map from
// provider names to the given names.
func providerTools(tools []llms.Tool) ([]llms.Tool, callNames, error) {
	names := make(callNames, len(tools))
	var out []llms.Tool
	for i, t := range tools {
		if t.Function == nil {
			continue
		}
		pn := toolname.ToProvider(t.Function.Name)
		if prev, dup := names[pn]; dup && prev != t.Function.Name {
			return nil, nil, fmt.Errorf("%w: %q and %q both map to provider name %q: rename one of them",
				ErrToolNameCollision, prev, t.Function.Name, pn)
		}
		names[pn] = t.Function.Name
		if pn == t.Function.Name && t.Function.Parameters != nil {
			continue
		}
		if out == nil {
			out = make([]llms.Tool, len(tools))
			copy(out, tools)
		}
		fn := *t.Function
		fn.Name = pn
		if fn.Parameters == nil {
			fn.Parameters = emptyObjectSchema
		}
		out[i].Function = &fn
	}
	return out, names, nil
}

// providerToolChoice maps the function name of a tool choice that names
// one tool.
func providerToolChoice(choice any) (llms.ToolChoice, bool) {
	var tc llms.ToolChoice
	switch c := choice.(type) {
	case llms.ToolChoice:
		tc = c
	case *llms.ToolChoice:
		if c == nil {
			return tc, false
		}
		tc = *c
	default:
		return tc, false
	}
	if tc.Function == nil || toolname.Valid(tc.Function.Name) {
		return tc, false
	}
	fn := *tc.Function
	fn.Name = toolname.ToProvider(fn.Name)
	tc.Function = &fn
	return tc, true
}

// providerMessages returns msgs with tool names mapped to provider names
// and tool call arguments normalized, copying only the messages that
// change.
func providerMessages(msgs []llms.MessageContent) []llms.MessageContent {
	var out []llms.MessageContent
	for i, m := range msgs {
		var parts []llms.ContentPart
		for j, p := range m.Parts {
			np, changed := providerPart(p)
			if !changed {
				continue
			}
			if parts == nil {
				parts = make([]llms.ContentPart, len(m.Parts))
				copy(parts, m.Parts)
			}
			parts[j] = np
		}
		if parts == nil {
			continue
		}
		if out == nil {
			out = make([]llms.MessageContent, len(msgs))
			copy(out, msgs)
		}
		out[i].Parts = parts
	}
	if out == nil {
		return msgs
	}
	return out
}

func providerPart(p llms.ContentPart) (llms.ContentPart, bool) {
	switch v := p.(type) {
	case llms.ToolCall:
		if v.FunctionCall == nil {
			return p, false
		}
		name := toolname.ToProvider(v.FunctionCall.Name)
		args := NormalizeArguments(v.FunctionCall.Arguments)
		if name == v.FunctionCall.Name && args == v.FunctionCall.Arguments && v.Type != "" {
			return p, false
		}
		if v.Type == "" {
			v.Type = "function"
		}
		v.FunctionCall = &llms.FunctionCall{Name: name, Arguments: args}
		return v, true
	case llms.ToolCallResponse:
		name := toolname.ToProvider(v.Name)
		if v.Name == "" || name == v.Name {
			return p, false
		}
		v.Name = name
		return v, true
	}
	return p, false
}

// restoreResponse maps the tool calls of resp back to the caller's names
// and normalizes them, in place.
func restoreResponse(resp *llms.ContentResponse, names callNames) {
	index := 0
	for _, c := range resp.Choices {
		if c == nil {
			continue
		}
		for i := range c.ToolCalls {
			tc := normalizeToolCall(c.ToolCalls[i], index)
			index++
			if tc.FunctionCall.Name != "" {
				fc := *tc.FunctionCall
				fc.Name = names.original(fc.Name)
				tc.FunctionCall = &fc
			}
			c.ToolCalls[i] = tc
		}
		if len(c.ToolCalls) > 0 {
			c.FuncCall = c.ToolCalls[0].FunctionCall
		}
	}
}
