package llm

import (
	"fmt"
	"net/http"
	"testing"
)

// fakeAnthropic speaks the Anthropic messages wire format at
// /v1/messages. It requires the x-api-key token and anthropic-version,
// enforces the tool name pattern and an object input_schema, requires
// tool_use input to be an object, and rejects a tool_use that is not
// followed by a tool_result in the next message.
type fakeAnthropic struct {
	*fakeProvider
}

func newFakeAnthropic(t *testing.T, token, model string) *fakeAnthropic {
	t.Helper()
	validate := func(r *http.Request, body map[string]any) (int, string) {
		if r.Header.Get("x-api-key") != token {
			return http.StatusUnauthorized, "invalid x-api-key"
		}
		if r.Header.Get("anthropic-version") == "" {
			return http.StatusBadRequest, "anthropic-version header is missing"
		}
		if got := str(body, "model"); got != model {
			return http.StatusNotFound, fmt.Sprintf("model: %q not found, want %q", got, model)
		}
		return validateAnthropicBody(body)
	}
	errorFmt := func(msg string) any {
		return map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error", "message": msg}}
	}
	return &fakeAnthropic{newFakeProvider(t, "/v1/messages", validate, errorFmt)}
}

func (f *fakeAnthropic) baseURL() string { return f.srv.URL + "/v1" }

func validateAnthropicBody(body map[string]any) (int, string) {
	if _, ok := body["max_tokens"].(float64); !ok {
		return http.StatusBadRequest, "max_tokens: field required"
	}
	for _, tool := range asMaps(body["tools"]) {
		if msg := checkToolName("tools", str(tool, "name")); msg != "" {
			return http.StatusBadRequest, msg
		}
		if schema, ok := tool["input_schema"].(map[string]any); !ok || schema["type"] != "object" {
			return http.StatusBadRequest, "tools: input_schema must be an object schema"
		}
	}
	msgs := asMaps(body["messages"])
	for i, m := range msgs {
		var uses []string
		for _, block := range contentBlocks(m) {
			switch str(block, "type") {
			case "tool_use":
				if msg := checkToolName(fmt.Sprintf("messages[%d].content", i), str(block, "name")); msg != "" {
					return http.StatusBadRequest, msg
				}
				if _, ok := block["input"].(map[string]any); !ok {
					return http.StatusBadRequest, fmt.Sprintf("messages[%d].content: tool_use input must be an object", i)
				}
				uses = append(uses, str(block, "id"))
			case "tool_result":
				if i == 0 || !hasToolUse(msgs[i-1], str(block, "tool_use_id")) {
					return http.StatusBadRequest, fmt.Sprintf("messages[%d]: tool_result %q follows no tool_use", i, str(block, "tool_use_id"))
				}
			}
		}
		for _, id := range uses {
			if i+1 >= len(msgs) || !hasToolResult(msgs[i+1], id) {
				return http.StatusBadRequest, fmt.Sprintf("messages[%d]: tool_use ids were found without tool_result blocks immediately after: %s", i, id)
			}
		}
	}
	return 0, ""
}

func contentBlocks(m map[string]any) []map[string]any {
	if _, isText := m["content"].(string); isText {
		return nil
	}
	return asMaps(m["content"])
}

func hasToolUse(m map[string]any, id string) bool {
	for _, b := range contentBlocks(m) {
		if str(b, "type") == "tool_use" && str(b, "id") == id {
			return true
		}
	}
	return false
}

func hasToolResult(m map[string]any, id string) bool {
	for _, b := range contentBlocks(m) {
		if str(b, "type") == "tool_result" && str(b, "tool_use_id") == id {
			return true
		}
	}
	return false
}

// anthropicResponse responds with the given content blocks.
func anthropicResponse(stop string, blocks ...map[string]any) responseFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
			"content": blocks, "stop_reason": stop,
			"usage": map[string]any{"input_tokens": 13, "output_tokens": 5},
		})
	}
}

func anthropicText(text string) map[string]any {
	return map[string]any{"type": "text", "text": text}
}

func anthropicToolUse(id, name string, input any) map[string]any {
	return map[string]any{"type": "tool_use", "id": id, "name": name, "input": input}
}
