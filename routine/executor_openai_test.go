package routine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

// providerToolName is the tool name pattern that OpenAI enforces.
var providerToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

const openAIToken = "sk-test-routine"

// openAIServer imitates the chat-completions endpoint of OpenAI on
// loopback. It checks requests as the provider does: the bearer token,
// the tool names, a tool message with the result of every tool call before
// the next other message, and no result without a call. It responds from
// a queue of replies.
type openAIServer struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []map[string]any
	replies  []map[string]any
}

func newOpenAIServer(t *testing.T, replies ...map[string]any) *openAIServer {
	t.Helper()
	s := &openAIServer{t: t, replies: replies}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.serve)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *openAIServer) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.reject(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+openAIToken {
		s.reject(w, http.StatusUnauthorized, "incorrect API key provided")
		return
	}
	if msg := checkOpenAIBody(body); msg != "" {
		s.t.Errorf("fake OpenAI rejected a request: %s", msg)
		s.reject(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, body)
	var reply map[string]any
	if len(s.replies) > 0 {
		reply, s.replies = s.replies[0], s.replies[1:]
	}
	s.mu.Unlock()
	if reply == nil {
		s.reject(w, http.StatusBadRequest, "no reply queued for this request")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply)
}

func (s *openAIServer) reject(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
}

// checkOpenAIBody returns why OpenAI would reject body, or "".
func checkOpenAIBody(body map[string]any) string {
	tools, _ := body["tools"].([]any)
	for _, t := range tools {
		fn, _ := t.(map[string]any)["function"].(map[string]any)
		if name, _ := fn["name"].(string); !providerToolName.MatchString(name) {
			return fmt.Sprintf("tools: invalid function name %q: must match %s", name, providerToolName)
		}
		if _, ok := fn["parameters"].(map[string]any); !ok {
			return "tools: parameters must be an object"
		}
	}
	pending := map[string]bool{}
	msgs, _ := body["messages"].([]any)
	for i, raw := range msgs {
		m, _ := raw.(map[string]any)
		role, _ := m["role"].(string)
		if role != "tool" && len(pending) > 0 {
			return fmt.Sprintf("messages[%d]: an assistant message with tool_calls must be followed by tool messages answering each tool_call_id", i)
		}
		switch role {
		case "assistant":
			calls, _ := m["tool_calls"].([]any)
			for _, c := range calls {
				call, _ := c.(map[string]any)
				fn, _ := call["function"].(map[string]any)
				if name, _ := fn["name"].(string); !providerToolName.MatchString(name) {
					return fmt.Sprintf("messages[%d].tool_calls: invalid function name %q", i, name)
				}
				if args, _ := fn["arguments"].(string); !json.Valid([]byte(args)) {
					return fmt.Sprintf("messages[%d].tool_calls: arguments %q are not JSON", i, args)
				}
				id, _ := call["id"].(string)
				pending[id] = true
			}
		case "tool":
			id, _ := m["tool_call_id"].(string)
			if !pending[id] {
				return fmt.Sprintf("messages[%d]: tool message %q answers no preceding tool call", i, id)
			}
			delete(pending, id)
		}
	}
	if len(pending) > 0 {
		return "the last assistant message has tool calls without tool messages"
	}
	return ""
}

// request returns the body of request i.
func (s *openAIServer) request(i int) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.requests) {
		s.t.Fatalf("request %d was not made; %d requests in all", i, len(s.requests))
	}
	return s.requests[i]
}

func (s *openAIServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// messages returns the messages of request i.
func (s *openAIServer) messages(i int) []map[string]any {
	var out []map[string]any
	msgs, _ := s.request(i)["messages"].([]any)
	for _, m := range msgs {
		out = append(out, m.(map[string]any))
	}
	return out
}

// lastContent returns the content of the last message of request i.
func (s *openAIServer) lastContent(i int) string {
	msgs := s.messages(i)
	c, _ := msgs[len(msgs)-1]["content"].(string)
	return c
}

// textReply is a chat completion whose message is text.
func textReply(text string) map[string]any {
	return map[string]any{
		"id": "chatcmpl-text", "object": "chat.completion", "model": "gpt-test",
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": text},
		}},
	}
}

// callsReply is a chat completion that calls tools; each call is id,
// provider name and arguments.
func callsReply(calls ...[3]string) map[string]any {
	var tcs []any
	for _, c := range calls {
		tcs = append(tcs, map[string]any{
			"id": c[0], "type": "function",
			"function": map[string]any{"name": c[1], "arguments": c[2]},
		})
	}
	return map[string]any{
		"id": "chatcmpl-calls", "object": "chat.completion", "model": "gpt-test",
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "tool_calls",
			"message": map[string]any{"role": "assistant", "content": nil, "tool_calls": tcs},
		}},
	}
}

// emitCall calls built-in:emit_output with output as output_json.
func emitCall(id, output string) [3]string {
	args, _ := json.Marshal(map[string]string{"output_json": output})
	return [3]string{id, "built-in__emit_output", string(args)}
}

// openAIExecutor returns an executor whose lanes are langchaingo's
// OpenAI client talking to s, built as a manifest would build them.
func openAIExecutor(t *testing.T, s *openAIServer, reg *tool.Registry) *Executor {
	t.Helper()
	noRetries := 0
	lanes, err := llm.New(manifest.LLMs{
		Default: "openai/gpt-test",
		Providers: map[string]manifest.Provider{"openai": {
			APIKey: openAIToken, BaseURL: s.srv.URL + "/v1", MaxRetries: &noRetries,
		}},
	}, llm.Options{Logger: quietLogger(), HTTPClient: s.srv.Client()})
	if err != nil {
		t.Fatalf("llm.New: %v", err)
	}
	return &Executor{Chat: lanes.Chat, Evaluation: lanes.Evaluation, Tools: reg, Logger: quietLogger()}
}

// workRoutine has one tool node that offers tools and
// built-in:emit_output.
func workRoutine(t *testing.T, tools ...tool.Tool) (*Routine, *tool.Registry) {
	t.Helper()
	reg := compileRegistry(t, tools...)
	names := []string{manifest.EmitOutputTool}
	for _, tl := range tools {
		names = append(names, tl.Name())
	}
	r, err := Compile(manifest.Routine{
		ID: "work", Entry: "work",
		Nodes: []manifest.Node{{ID: "work", Tools: names, ToolInstruction: "Do the work, then emit."}},
		Autonomous: &manifest.Autonomous{
			InputSchema:  json.RawMessage(`{"type":"object"}`),
			OutputSchema: json.RawMessage(`{"type":"object","properties":{"done":{"type":"boolean"}},"required":["done"]}`),
		},
	}, reg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return r, reg
}

func TestOpenAIKYC(t *testing.T) {
	output := `{"applicant_id": 9007199254740993, "decision": "review", "checked_at": "2024-05-01T10:00:00Z"}`
	s := newOpenAIServer(t,
		textReply("Not sure yet."),
		textReply("```json\n{\"risk\": \"high\"}\n```"),
		textReply(`{"next": "review"}`),
		callsReply([3]string{"call_1", "kyc__lookup", `{"id": 9007199254740993}`}),
		callsReply(emitCall("call_2", output)),
	)
	lookup := &lookupTool{name: "kyc:lookup"}
	r, reg := compileKYC(t, lookup)
	x := openAIExecutor(t, s, reg)

	out, err := x.Run(context.Background(), r, json.RawMessage(kycInput))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if string(out) != output {
		t.Errorf("output = %s, want %s", out, output)
	}
	if got := s.count(); got != 5 {
		t.Errorf("requests = %d, want 5", got)
	}
	if got := s.lastContent(1); !strings.Contains(got, "Your answer is not valid: (root): the reply contains no JSON value") {
		t.Errorf("repair request = %q", got)
	}
	if got, want := lookup.calls(), []string{`{"id": 9007199254740993}`}; !slices.Equal(got, want) {
		t.Errorf("lookup calls = %v, want %v", got, want)
	}

	// The emit request replays the lookup call and its result, and offers
	// the tools under provider names.
	msgs := s.messages(4)
	if len(msgs) != 4 {
		t.Fatalf("emit request has %d messages, want 4 (system, user, call, result)", len(msgs))
	}
	if got := msgs[3]["content"]; got != `{"id":9007199254740993,"sanctioned":false}` {
		t.Errorf("tool result = %v", got)
	}
	var offered []string
	for _, tl := range s.request(4)["tools"].([]any) {
		offered = append(offered, tl.(map[string]any)["function"].(map[string]any)["name"].(string))
	}
	if want := []string{"kyc__lookup", "built-in__emit_output"}; !slices.Equal(offered, want) {
		t.Errorf("offered tools = %v, want %v", offered, want)
	}
}

func TestOpenAIEmitRetries(t *testing.T) {
	s := newOpenAIServer(t,
		callsReply(emitCall("call_1", `{"done": "yes"}`)),
		callsReply(emitCall("call_2", `{"done": true`)),
		callsReply(emitCall("call_3", `{"done": true}`)),
	)
	r, reg := workRoutine(t)
	x := openAIExecutor(t, s, reg)

	out, err := x.Run(context.Background(), r, json.RawMessage(`{}`))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if string(out) != `{"done": true}` {
		t.Errorf("output = %s, want {\"done\": true}", out)
	}
	cases := []struct {
		request int
		want    Violation
	}{
		{1, Violation{Path: "/done", Message: "must be a boolean, not a string"}},
		{2, Violation{Path: "", Message: "is not valid JSON: unexpected EOF"}},
	}
	for _, tc := range cases {
		var res callResult
		if err := json.Unmarshal([]byte(s.lastContent(tc.request)), &res); err != nil {
			t.Fatalf("request %d: tool result is not JSON: %v", tc.request, err)
		}
		if res.OK || res.Error != CodeOutputValidationFailed {
			t.Errorf("request %d: result = %+v, want ok false, error %s", tc.request, res, CodeOutputValidationFailed)
		}
		if !slices.Equal(res.Details, []Violation{tc.want}) {
			t.Errorf("request %d: details = %v, want %v", tc.request, res.Details, tc.want)
		}
	}
}

func TestOpenAIToolInvalidArgs(t *testing.T) {
	s := newOpenAIServer(t,
		callsReply([3]string{"call_1", "kyc__lookup", `{"id": "seven", "extra": 1}`}),
		callsReply([3]string{"call_2", "kyc__lookup", `{"id": 7}`}),
		callsReply(emitCall("call_3", `{"done": true}`)),
	)
	lookup := &lookupTool{name: "kyc:lookup"}
	r, reg := workRoutine(t, lookup)
	x := openAIExecutor(t, s, reg)

	if _, err := x.Run(context.Background(), r, json.RawMessage(`{}`)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got, want := lookup.calls(), []string{`{"id": 7}`}; !slices.Equal(got, want) {
		t.Errorf("lookup calls = %v, want %v", got, want)
	}
	var res callResult
	if err := json.Unmarshal([]byte(s.lastContent(1)), &res); err != nil {
		t.Fatalf("tool result is not JSON: %v", err)
	}
	if res.Error != callErrorInvalidArguments {
		t.Errorf("error = %q, want %q", res.Error, callErrorInvalidArguments)
	}
	want := []Violation{
		{Path: "/extra", Message: "is not allowed: the schema defines no such property"},
		{Path: "/id", Message: "must be an integer, not a string"},
	}
	if !slices.Equal(res.Details, want) {
		t.Errorf("details = %v, want %v", res.Details, want)
	}
}

func TestOpenAIUnknownTool(t *testing.T) {
	s := newOpenAIServer(t,
		callsReply([3]string{"call_1", "crm__nope", `{}`}),
		callsReply(emitCall("call_2", `{"done": true}`)),
	)
	r, reg := workRoutine(t)
	obs := &observed{}
	x := openAIExecutor(t, s, reg)
	x.Observer = obs

	if _, err := x.Run(context.Background(), r, json.RawMessage(`{}`)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := s.lastContent(1)
	for _, want := range []string{`"error":"unknown_tool"`, `crm:nope`, manifest.EmitOutputTool} {
		if !strings.Contains(got, want) {
			t.Errorf("tool result %s lacks %s", got, want)
		}
	}
	if want := []string{"crm:nope", manifest.EmitOutputTool}; !slices.Equal(obs.tools, want) {
		t.Errorf("observed tools = %v, want %v", obs.tools, want)
	}
	if obs.errs[0] == nil || obs.errs[1] != nil {
		t.Errorf("observed errors = %v, want an error for the unknown tool only", obs.errs)
	}
}

func TestOpenAIParallelCalls(t *testing.T) {
	s := newOpenAIServer(t,
		callsReply(
			[3]string{"call_1", "kyc__lookup", `{"id": 1}`},
			[3]string{"call_2", "kyc__audit", `{"id": 2}`},
		),
		callsReply(emitCall("call_3", `{"done": true}`)),
	)
	started := make(chan string, 2)
	release := make(chan struct{})
	lookup := &lookupTool{name: "kyc:lookup", started: started, release: release}
	audit := &lookupTool{name: "kyc:audit", started: started, release: release}
	r, reg := workRoutine(t, lookup, audit)
	x := openAIExecutor(t, s, reg)

	// Each tool waits until both have started, which only happens when
	// they run at the same time.
	concurrent := make(chan bool, 1)
	go func() {
		timeout := time.After(5 * time.Second)
		for range 2 {
			select {
			case <-started:
			case <-timeout:
				concurrent <- false
				close(release)
				return
			}
		}
		concurrent <- true
		close(release)
	}()

	if _, err := x.Run(context.Background(), r, json.RawMessage(`{}`)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !<-concurrent {
		t.Error("the two tool calls did not run concurrently")
	}
	if len(lookup.calls()) != 1 || len(audit.calls()) != 1 {
		t.Errorf("calls: lookup %v, audit %v, want one each", lookup.calls(), audit.calls())
	}

	// Each call is replayed alone in an assistant message without text,
	// followed by its own result.
	msgs := s.messages(1)[2:]
	if len(msgs) != 4 {
		t.Fatalf("replayed messages = %d, want 4", len(msgs))
	}
	wantCalls := []string{"kyc__lookup", "kyc__audit"}
	for i, name := range wantCalls {
		call, result := msgs[2*i], msgs[2*i+1]
		calls, _ := call["tool_calls"].([]any)
		if call["role"] != "assistant" || len(calls) != 1 {
			t.Errorf("message %d = %v, want an assistant message with one tool call", 2*i, call)
			continue
		}
		if c, _ := call["content"].(string); c != "" {
			t.Errorf("message %d has text %q beside the tool call", 2*i, c)
		}
		fn := calls[0].(map[string]any)["function"].(map[string]any)
		if fn["name"] != name {
			t.Errorf("message %d calls %v, want %s", 2*i, fn["name"], name)
		}
		if result["role"] != "tool" || result["tool_call_id"] != calls[0].(map[string]any)["id"] {
			t.Errorf("message %d = %v, want the result of that call", 2*i+1, result)
		}
	}
}

func TestOpenAIEmptyArguments(t *testing.T) {
	s := newOpenAIServer(t,
		callsReply([3]string{"call_1", "kyc__ping", ``}),
		callsReply(emitCall("call_2", `{"done": true}`)),
	)
	ping := &pingTool{}
	r, reg := workRoutine(t, ping)
	x := openAIExecutor(t, s, reg)

	if _, err := x.Run(context.Background(), r, json.RawMessage(`{}`)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !slices.Equal(ping.args, []string{"{}"}) {
		t.Errorf("ping arguments = %q, want {}", ping.args)
	}
	call := s.messages(1)[2]["tool_calls"].([]any)[0].(map[string]any)
	if args := call["function"].(map[string]any)["arguments"]; args != "{}" {
		t.Errorf("replayed arguments = %q, want {}", args)
	}
}

func TestOpenAIToolFailure(t *testing.T) {
	cases := []struct {
		name string
		tool *lookupTool
		want string
	}{
		{"error", &lookupTool{name: "kyc:lookup", fail: true}, "directory unavailable"},
		{"panic", &lookupTool{name: "kyc:lookup", panic: true}, "the tool panicked: lookup exploded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newOpenAIServer(t,
				callsReply([3]string{"call_1", "kyc__lookup", `{"id": 1}`}),
				callsReply(emitCall("call_2", `{"done": true}`)),
			)
			r, reg := workRoutine(t, tc.tool)
			x := openAIExecutor(t, s, reg)
			if _, err := x.Run(context.Background(), r, json.RawMessage(`{}`)); err != nil {
				t.Fatalf("Run: %v", err)
			}
			var res callResult
			if err := json.Unmarshal([]byte(s.lastContent(1)), &res); err != nil {
				t.Fatalf("tool result is not JSON: %v", err)
			}
			if res.OK || res.Error != callErrorToolFailed {
				t.Errorf("result = %+v, want ok false, error %s", res, callErrorToolFailed)
			}
			if !strings.Contains(res.Message, tc.want) {
				t.Errorf("message = %q, want it to contain %q", res.Message, tc.want)
			}
		})
	}
}

func TestOpenAIToolNodeThenEmit(t *testing.T) {
	s := newOpenAIServer(t,
		textReply("I would rather not look anything up."),
		callsReply([3]string{"call_1", "kyc__lookup", `{"id": 1}`}),
		textReply("Looked the applicant up."),
		callsReply(emitCall("call_2", `{"done": true}`)),
	)
	lookup := &lookupTool{name: "kyc:lookup"}
	reg := compileRegistry(t, lookup)
	r, err := Compile(manifest.Routine{
		ID: "two", Entry: "lookup",
		Nodes: []manifest.Node{
			{ID: "lookup", Tools: []string{"kyc:lookup"}, ToolInstruction: "Look up applicant 1.", Transitions: []manifest.Transition{{To: "done"}}},
			{ID: "done", Tools: []string{manifest.EmitOutputTool}},
		},
		Autonomous: &manifest.Autonomous{
			InputSchema:  json.RawMessage(`{"type":"object"}`),
			OutputSchema: json.RawMessage(`{"type":"object","properties":{"done":{"type":"boolean"}}}`),
		},
	}, reg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	obs := &observed{}
	x := openAIExecutor(t, s, reg)
	x.Observer = obs

	if _, err := x.Run(context.Background(), r, json.RawMessage(`{}`)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := s.count(); got != 4 {
		t.Errorf("requests = %d, want 4", got)
	}
	if got := s.lastContent(1); !strings.Contains(got, "You have not called the tools of this node yet") {
		t.Errorf("reminder = %q", got)
	}
	if want := []string{"lookup", "done"}; !slices.Equal(obs.nodes, want) {
		t.Errorf("nodes entered = %v, want %v", obs.nodes, want)
	}
	// The emitting node starts a new transcript that shows the lookup
	// node's calls as its output.
	msgs := s.messages(3)
	if len(msgs) != 2 {
		t.Fatalf("emit request has %d messages, want 2", len(msgs))
	}
	prompt, _ := msgs[1]["content"].(string)
	want := `{"lookup":[{"tool":"kyc:lookup","arguments":{"id":1},"result":{"id":1,"sanctioned":false}}]}`
	if !strings.Contains(prompt, want) {
		t.Errorf("emit prompt lacks the lookup output %s:\n%s", want, prompt)
	}
}

func TestFakeOpenAIRejects(t *testing.T) {
	call := func(id, name string) map[string]any {
		return map[string]any{"id": id, "type": "function", "function": map[string]any{"name": name, "arguments": "{}"}}
	}
	cases := []struct {
		name string
		body string
		want string
	}{
		{"call without result", `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[CALL1]},{"role":"user","content":"next"}]}`, "must be followed by tool messages"},
		{"call at the end", `{"messages":[{"role":"assistant","tool_calls":[CALL1]}]}`, "without tool messages"},
		{"result without call", `{"messages":[{"role":"tool","tool_call_id":"call_9","content":"x"}]}`, "answers no preceding tool call"},
		{"colon in call name", `{"messages":[{"role":"assistant","tool_calls":[BADCALL]},{"role":"tool","tool_call_id":"call_2","content":"x"}]}`, "invalid function name"},
		{"colon in tool name", `{"messages":[],"tools":[{"type":"function","function":{"name":"kyc:lookup","parameters":{}}}]}`, "invalid function name"},
		{"valid", `{"messages":[{"role":"assistant","tool_calls":[CALL1]},{"role":"tool","tool_call_id":"call_1","content":"x"}]}`, ""},
	}
	call1, _ := json.Marshal(call("call_1", "kyc__lookup"))
	bad, _ := json.Marshal(call("call_2", "kyc:lookup"))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.NewReplacer("CALL1", string(call1), "BADCALL", string(bad)).Replace(tc.body)
			var body map[string]any
			if err := json.Unmarshal([]byte(text), &body); err != nil {
				t.Fatalf("test body: %v", err)
			}
			got := checkOpenAIBody(body)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("checkOpenAIBody = %q, want %q", got, tc.want)
			}
		})
	}
}
