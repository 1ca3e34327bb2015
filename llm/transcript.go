package llm

import (
	"encoding/json"

	"github.com/tmc/langchaingo/llms"
)

// ToolCallMessages returns the transcript entries of one tool call and its
// result: an AI message whose only part is the call, then a tool message
// whose only part is the result. Replay each call of a reply this way,
// one pair per call, also when the model made several calls at once.
// The langchaingo v0.1.14 Anthropic client sends only the first part of a
// message, so a second call or a text part beside a call would be lost.
// State a tool failure in result, because there is no error flag.
//
// The call gets Type "function", and arguments that are not a JSON
// object become "{}" so that every provider accepts the replayed call.
// Names stay as the caller uses them ("ns:name"); a [Lane] maps them.
func ToolCallMessages(call llms.ToolCall, result string) []llms.MessageContent {
	fc := llms.FunctionCall{Arguments: "{}"}
	if call.FunctionCall != nil {
		fc.Name = call.FunctionCall.Name
		if isJSONObject(call.FunctionCall.Arguments) {
			fc.Arguments = call.FunctionCall.Arguments
		}
	}
	return []llms.MessageContent{
		{
			Role: llms.ChatMessageTypeAI,
			Parts: []llms.ContentPart{llms.ToolCall{
				ID:           call.ID,
				Type:         "function",
				FunctionCall: &fc,
			}},
		},
		{
			Role: llms.ChatMessageTypeTool,
			Parts: []llms.ContentPart{llms.ToolCallResponse{
				ToolCallID: call.ID,
				Name:       fc.Name,
				Content:    result,
			}},
		},
	}
}

func isJSONObject(s string) bool {
	var obj map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &obj) == nil && obj != nil
}
