package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tmc/langchaingo/llms"
)

// completionServer imitates OpenAI's chat-completions endpoint on
// loopback for both lanes of an engine, tool calls included. A request
// whose system message contains the JSON Schema of a condition match is
// an evaluation-lane request: the server parses the condition ids from
// the schema's enum and decides each with judge. Every other request is
// a chat-lane request, and reply builds its completion. Like OpenAI, the
// server rejects a wrong key, an invalid tool name, a tool message that
// follows no matching call, and a call left without a result before the
// next other message.
type completionServer struct {
	t   *testing.T
	srv *httptest.Server
	// judge reports whether the condition id holds, given the newest
	// customer line of the judged conversation.
	judge func(id, lastCustomer string) bool
	// reply returns the completion of a chat-lane request, built with
	// textCompletion or callCompletion.
	reply func(req wireRequest) map[string]any

	mu          sync.Mutex
	evaluations []judgeRequest
	chats       []wireRequest
}

// wireRequest is one decoded chat-lane request.
type wireRequest struct {
	messages []map[string]any
	// tools contains the provider names of the offered tools, in order.
	tools []string
}

// judgeRequest is one decoded evaluation-lane request.
type judgeRequest struct {
	// ids are the condition ids of the schema's enum.
	ids []string
	// conditions maps each listed id to its condition text.
	conditions   map[string]string
	lastCustomer string
	transcript   string
}

// matchSystemPrefix starts the system message of a condition match.
const matchSystemPrefix = "You decide which conditions hold"

var conditionLine = regexp.MustCompile(`(?m)^- id: (\S+)\n  condition: (.*)$`)

func newCompletionServer(t *testing.T, judge func(id, lastCustomer string) bool, reply func(wireRequest) map[string]any) *completionServer {
	t.Helper()
	s := &completionServer{t: t, judge: judge, reply: reply}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.serve)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// lanes returns the chat and evaluation lanes of langchaingo's OpenAI
// client talking to s.
func (s *completionServer) lanes(t *testing.T) (llms.Model, llms.Model) {
	t.Helper()
	return openAILanes(t, &openAIServer{srv: s.srv})
}

func (s *completionServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+openAIToken {
		rejectRequest(w, http.StatusUnauthorized, "incorrect API key provided")
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		rejectRequest(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	req, problem := decodeWireRequest(body)
	if problem != "" {
		s.t.Errorf("the OpenAI imitation rejected a request: %s", problem)
		rejectRequest(w, http.StatusBadRequest, problem)
		return
	}

	var completion map[string]any
	if system := contentText(req.messages[0]); req.messages[0]["role"] == "system" && strings.HasPrefix(system, matchSystemPrefix) {
		jr, err := decodeJudgeRequest(system, contentText(req.messages[len(req.messages)-1]))
		if err != nil {
			s.t.Errorf("decoding an evaluation request: %v", err)
			rejectRequest(w, http.StatusBadRequest, err.Error())
			return
		}
		s.mu.Lock()
		s.evaluations = append(s.evaluations, jr)
		s.mu.Unlock()
		completion = textCompletion(s.matchAnswer(jr))
	} else {
		s.mu.Lock()
		s.chats = append(s.chats, req)
		s.mu.Unlock()
		completion = s.reply(req)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(completion)
}

// matchAnswer returns the JSON reply to an evaluation request.
func (s *completionServer) matchAnswer(jr judgeRequest) string {
	matches := make([]map[string]any, 0, len(jr.ids))
	for _, id := range jr.ids {
		matches = append(matches, map[string]any{"id": id, "applies": s.judge(id, jr.lastCustomer), "reason": "decided by the test"})
	}
	b, _ := json.Marshal(map[string]any{"matches": matches})
	return string(b)
}

func rejectRequest(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
}

// decodeWireRequest decodes body and returns why OpenAI would reject it,
// or "".
func decodeWireRequest(body map[string]any) (wireRequest, string) {
	var req wireRequest
	tools, _ := body["tools"].([]any)
	for _, raw := range tools {
		tl, _ := raw.(map[string]any)
		fn, _ := tl["function"].(map[string]any)
		name, _ := fn["name"].(string)
		if !providerToolName.MatchString(name) {
			return req, fmt.Sprintf("tools: invalid function name %q: must match %s", name, providerToolName)
		}
		if _, ok := fn["parameters"].(map[string]any); !ok {
			return req, fmt.Sprintf("tools: function %q: parameters must be an object", name)
		}
		req.tools = append(req.tools, name)
	}
	msgs, _ := body["messages"].([]any)
	if len(msgs) == 0 {
		return req, "messages: at least one message is required"
	}
	pending := map[string]bool{}
	for i, raw := range msgs {
		m, _ := raw.(map[string]any)
		role, _ := m["role"].(string)
		if role != "tool" && len(pending) > 0 {
			return req, fmt.Sprintf("messages[%d]: an assistant message with tool_calls must be followed by tool messages answering each tool_call_id", i)
		}
		switch role {
		case "assistant":
			for _, c := range toolCallsOf(m) {
				fn, _ := c["function"].(map[string]any)
				name, _ := fn["name"].(string)
				if !providerToolName.MatchString(name) {
					return req, fmt.Sprintf("messages[%d].tool_calls: invalid function name %q", i, name)
				}
				if c["type"] != "function" {
					return req, fmt.Sprintf("messages[%d].tool_calls: type %v, want function", i, c["type"])
				}
				if args, _ := fn["arguments"].(string); !json.Valid([]byte(args)) {
					return req, fmt.Sprintf("messages[%d].tool_calls: arguments %q are not JSON", i, args)
				}
				id, _ := c["id"].(string)
				pending[id] = true
			}
		case "tool":
			id, _ := m["tool_call_id"].(string)
			if !pending[id] {
				return req, fmt.Sprintf("messages[%d]: tool message %q answers no preceding tool call", i, id)
			}
			delete(pending, id)
		}
		req.messages = append(req.messages, m)
	}
	if len(pending) > 0 {
		return req, "the last assistant message has tool calls without tool messages"
	}
	return req, ""
}

// decodeJudgeRequest reads the condition ids from the JSON Schema in the
// system message and the conditions and conversation from the request.
func decodeJudgeRequest(system, request string) (judgeRequest, error) {
	_, schemaText, ok := strings.Cut(system, "JSON Schema:\n")
	if !ok {
		return judgeRequest{}, fmt.Errorf("the system message has no JSON Schema: %q", system)
	}
	var schema struct {
		Properties struct {
			Matches struct {
				Items struct {
					Properties struct {
						ID struct {
							Enum []string `json:"enum"`
						} `json:"id"`
					} `json:"properties"`
				} `json:"items"`
			} `json:"matches"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(schemaText)), &schema); err != nil {
		return judgeRequest{}, fmt.Errorf("the JSON Schema of the system message is invalid: %w", err)
	}
	jr := judgeRequest{ids: schema.Properties.Matches.Items.Properties.ID.Enum, conditions: map[string]string{}}
	if len(jr.ids) == 0 {
		return judgeRequest{}, fmt.Errorf("the JSON Schema lists no condition ids: %s", schemaText)
	}
	for _, m := range conditionLine.FindAllStringSubmatch(request, -1) {
		jr.conditions[m[1]] = m[2]
	}
	_, jr.transcript, _ = strings.Cut(request, "\nConversation:\n")
	for _, line := range strings.Split(jr.transcript, "\n") {
		if text, ok := strings.CutPrefix(line, "Customer: "); ok {
			jr.lastCustomer = text
		}
	}
	return jr, nil
}

// chatRequests returns the chat-lane requests made so far.
func (s *completionServer) chatRequests() []wireRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wireRequest(nil), s.chats...)
}

// judgeRequests returns the evaluation-lane requests made so far.
func (s *completionServer) judgeRequests() []judgeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]judgeRequest(nil), s.evaluations...)
}

// system returns the text of the request's system message, or "".
func (r wireRequest) system() string {
	if len(r.messages) == 0 || r.messages[0]["role"] != "system" {
		return ""
	}
	return contentText(r.messages[0])
}

// last returns the request's last message.
func (r wireRequest) last() map[string]any { return r.messages[len(r.messages)-1] }

// offers reports whether the request offers the tool of provider name.
func (r wireRequest) offers(name string) bool {
	for _, n := range r.tools {
		if n == name {
			return true
		}
	}
	return false
}

// contentText returns the text of a message whose content is a string or
// a list of text parts.
func contentText(m map[string]any) string {
	switch c := m["content"].(type) {
	case string:
		return c
	case []any:
		var b strings.Builder
		for _, raw := range c {
			part, _ := raw.(map[string]any)
			if text, ok := part["text"].(string); ok {
				b.WriteString(text)
			}
		}
		return b.String()
	}
	return ""
}

// toolCallsOf returns the tool_calls of an assistant message.
func toolCallsOf(m map[string]any) []map[string]any {
	var out []map[string]any
	calls, _ := m["tool_calls"].([]any)
	for _, raw := range calls {
		if c, ok := raw.(map[string]any); ok {
			out = append(out, c)
		}
	}
	return out
}

// textCompletion is a completion whose message is text.
func textCompletion(text string) map[string]any {
	return map[string]any{
		"id": "chatcmpl-text", "object": "chat.completion", "model": "gpt-test",
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": text},
		}},
	}
}

// callCompletion is a completion that calls the tool of provider name
// once, with arguments encoded as JSON.
func callCompletion(id, name string, arguments any) map[string]any {
	args, _ := json.Marshal(arguments)
	return map[string]any{
		"id": "chatcmpl-call", "object": "chat.completion", "model": "gpt-test",
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "tool_calls",
			"message": map[string]any{
				"role": "assistant", "content": nil,
				"tool_calls": []any{map[string]any{
					"id": id, "type": "function",
					"function": map[string]any{"name": name, "arguments": string(args)},
				}},
			},
		}},
	}
}

// toolPair is a tool call and its result as consecutive messages of a
// request.
type toolPair struct {
	// index is the position of the assistant message in the request.
	index     int
	id        string
	name      string
	arguments string
	result    string
}

// toolPairs returns the tool calls of r, each checked to be the only
// call of its assistant message and to be followed at once by the tool
// message with its result. That is the transcript shape that
// [llm.ToolCallMessages] produces for langchaingo v0.1.14.
func toolPairs(t *testing.T, r wireRequest) []toolPair {
	t.Helper()
	var out []toolPair
	for i, m := range r.messages {
		calls := toolCallsOf(m)
		if m["role"] != "assistant" || len(calls) == 0 {
			continue
		}
		if len(calls) != 1 {
			t.Errorf("messages[%d] contains %d tool calls, want 1 per assistant message", i, len(calls))
			continue
		}
		if text := contentText(m); text != "" {
			t.Errorf("messages[%d] contains text %q beside its tool call", i, text)
		}
		fn, _ := calls[0]["function"].(map[string]any)
		p := toolPair{index: i}
		p.id, _ = calls[0]["id"].(string)
		p.name, _ = fn["name"].(string)
		p.arguments, _ = fn["arguments"].(string)
		if i+1 >= len(r.messages) || r.messages[i+1]["role"] != "tool" || r.messages[i+1]["tool_call_id"] != p.id {
			t.Errorf("messages[%d] calls %s (id %q), but the next message is not its tool result", i, p.name, p.id)
			continue
		}
		p.result = contentText(r.messages[i+1])
		out = append(out, p)
	}
	return out
}
