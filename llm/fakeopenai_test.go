package llm

import (
	"fmt"
	"net/http"
	"testing"
)

// fakeOpenAI speaks the OpenAI chat-completions wire format at
// /v1/chat/completions. It requires the bearer token, rejects an
// OpenAI-Organization header and a model other than the expected one,
// enforces the tool name pattern, and rejects a tool call that has no
// result before the next non-tool message.
type fakeOpenAI struct {
	*fakeProvider
}

func newFakeOpenAI(t *testing.T, token, model string) *fakeOpenAI {
	t.Helper()
	validate := func(r *http.Request, body map[string]any) (int, string) {
		if got := r.Header.Get("Authorization"); token != "" && got != "Bearer "+token {
			return http.StatusUnauthorized, "incorrect API key provided"
		}
		if org := r.Header.Get("OpenAI-Organization"); org != "" {
			return http.StatusBadRequest, "unexpected OpenAI-Organization header " + org
		}
		if got := str(body, "model"); got != model {
			return http.StatusNotFound, fmt.Sprintf("model %q not found, want %q", got, model)
		}
		return validateOpenAIBody(body)
	}
	errorFmt := func(msg string) any {
		return map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}}
	}
	return &fakeOpenAI{newFakeProvider(t, "/v1/chat/completions", validate, errorFmt)}
}

func (f *fakeOpenAI) baseURL() string { return f.srv.URL + "/v1" }

func validateOpenAIBody(body map[string]any) (int, string) {
	for _, tool := range asMaps(body["tools"]) {
		fn, _ := tool["function"].(map[string]any)
		if msg := checkToolName("tools", str(fn, "name")); msg != "" {
			return http.StatusBadRequest, msg
		}
		if fn["parameters"] == nil {
			return http.StatusBadRequest, "tools: parameters must be an object"
		}
	}
	pending := map[string]bool{}
	for i, m := range asMaps(body["messages"]) {
		role := str(m, "role")
		if role != "tool" && len(pending) > 0 {
			return http.StatusBadRequest, fmt.Sprintf("messages[%d]: tool calls %v have no result", i, keys(pending))
		}
		switch role {
		case "assistant":
			for _, tc := range asMaps(m["tool_calls"]) {
				fn, _ := tc["function"].(map[string]any)
				if msg := checkToolName(fmt.Sprintf("messages[%d].tool_calls", i), str(fn, "name")); msg != "" {
					return http.StatusBadRequest, msg
				}
				if str(tc, "type") != "function" {
					return http.StatusBadRequest, fmt.Sprintf("messages[%d].tool_calls: type must be function", i)
				}
				pending[str(tc, "id")] = true
			}
		case "tool":
			id := str(m, "tool_call_id")
			if !pending[id] {
				return http.StatusBadRequest, fmt.Sprintf("messages[%d]: tool result %q follows no tool call", i, id)
			}
			delete(pending, id)
		}
	}
	if len(pending) > 0 {
		return http.StatusBadRequest, fmt.Sprintf("tool calls %v have no result", keys(pending))
	}
	return 0, ""
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// openAIText responds with one text choice.
func openAIText(text string) responseFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": "m",
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": text},
			}},
			"usage": map[string]any{"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
		})
	}
}

// openAIToolCalls responds with one choice that calls tools. Each call is
// id, name and arguments.
func openAIToolCalls(calls ...[3]string) responseFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		var tcs []any
		for _, c := range calls {
			tcs = append(tcs, map[string]any{
				"id": c[0], "type": "function",
				"function": map[string]any{"name": c[1], "arguments": c[2]},
			})
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id": "chatcmpl-2", "object": "chat.completion", "model": "m",
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "tool_calls",
				"message": map[string]any{"role": "assistant", "content": nil, "tool_calls": tcs},
			}},
		})
	}
}
