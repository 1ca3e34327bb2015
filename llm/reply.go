package llm

import (
	"strconv"
	"strings"

	"github.com/tmc/langchaingo/llms"
)

// ModelInfoKey is the GenerationInfo key under which [Lane.GenerateContent]
// stores the id ("provider/model") of the model that produced the
// response.
const ModelInfoKey = "agentry_model"

// Reply is one model response in the shape the engine uses: the text
// and tool calls of every choice combined.
type Reply struct {
	// Text is the text of all choices, joined by newlines.
	Text string
	// ToolCalls lists the tool calls of all choices in order. Arguments
	// are JSON text, never "" or "null".
	ToolCalls []llms.ToolCall
	// StopReason is the first non-empty stop reason of the choices.
	StopReason string
	// Usage is the token usage the provider reported, when it did.
	Usage Usage
	// Model is the id of the model that produced the response, when the
	// response came from a [Lane].
	Model string
}

// Usage is the token count a provider reports for one call. Zero means
// the provider reported none.
type Usage struct {
	InputTokens  int
	OutputTokens int
}

// Flatten combines the choices of resp into one Reply. The Anthropic
// client returns one choice per content block, so text and tool calls
// are spread over several choices; Flatten treats all choices as parts
// of one message. Do not request several candidates (llms.WithN,
// llms.WithCandidateCount), because Flatten would merge them too.
// Tool call arguments "" and "null" become "{}", an empty Type becomes
// "function", and an empty ID becomes "call_<index>".
func Flatten(resp *llms.ContentResponse) Reply {
	var r Reply
	if resp == nil {
		return r
	}
	var texts []string
	for _, c := range resp.Choices {
		if c == nil {
			continue
		}
		if c.Content != "" {
			texts = append(texts, c.Content)
		}
		if r.StopReason == "" {
			r.StopReason = c.StopReason
		}
		for _, tc := range c.ToolCalls {
			r.ToolCalls = append(r.ToolCalls, normalizeToolCall(tc, len(r.ToolCalls)))
		}
		if r.Model == "" {
			r.Model, _ = c.GenerationInfo[ModelInfoKey].(string)
		}
		if r.Usage == (Usage{}) {
			r.Usage = usageOf(c.GenerationInfo)
		}
	}
	switch len(texts) {
	case 0:
	case 1:
		r.Text = texts[0]
	default:
		r.Text = strings.Join(texts, "\n")
	}
	return r
}

// usageOf reads token counts from the GenerationInfo keys of the
// langchaingo v0.1.14 OpenAI client (PromptTokens, CompletionTokens) and
// Anthropic client (InputTokens, OutputTokens).
func usageOf(info map[string]any) Usage {
	if info == nil {
		return Usage{}
	}
	u := Usage{
		InputTokens:  intOf(info["PromptTokens"]),
		OutputTokens: intOf(info["CompletionTokens"]),
	}
	if u == (Usage{}) {
		u.InputTokens = intOf(info["InputTokens"])
		u.OutputTokens = intOf(info["OutputTokens"])
	}
	return u
}

func intOf(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

// NormalizeArguments returns "{}" for tool call arguments that are empty,
// blank or the JSON literal null, and args otherwise. Models send those
// forms for tools without parameters; replaying them breaks some
// providers (the langchaingo Anthropic client cannot decode "").
func NormalizeArguments(args string) string {
	trimmed := strings.TrimSpace(args)
	if trimmed == "" || trimmed == "null" {
		return "{}"
	}
	return args
}

// normalizeToolCall returns a copy of tc with normalized arguments, Type
// "function" when unset and an ID derived from index when unset.
func normalizeToolCall(tc llms.ToolCall, index int) llms.ToolCall {
	if tc.Type == "" {
		tc.Type = "function"
	}
	if tc.ID == "" {
		tc.ID = "call_" + strconv.Itoa(index)
	}
	if tc.FunctionCall == nil {
		tc.FunctionCall = &llms.FunctionCall{Arguments: "{}"}
		return tc
	}
	if args := NormalizeArguments(tc.FunctionCall.Arguments); args != tc.FunctionCall.Arguments {
		fc := *tc.FunctionCall
		fc.Arguments = args
		tc.FunctionCall = &fc
	}
	return tc
}
