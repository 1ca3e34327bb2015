package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentry/agentry/transport/wire"
)

// clearEnv hides the developer's OpenAI and CRM settings from run.
func clearEnv(t *testing.T) {
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "CRM_MCP_URL", "CRM_MCP_TOKEN"} {
		t.Setenv(k, "")
	}
}

// runTools runs the program and returns the session's events and the
// output.
func runTools(t *testing.T) ([]wire.Event, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var buf bytes.Buffer
	events, err := run(ctx, &buf)
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, buf.String())
	}
	return events, buf.String()
}

// turn holds the events of one turn, from the customer's message to
// status ready.
type turn struct {
	message string
	calls   []wire.Event
	results []wire.Event
	replies []wire.Event
	failed  []wire.Event // status error
	ready   bool
}

// splitTurns groups events by the customer message that starts each turn.
// Events before the first message are left out.
func splitTurns(events []wire.Event) []*turn {
	var turns []*turn
	var cur *turn
	for _, ev := range events {
		if ev.Kind == wire.KindUserMessage {
			cur = &turn{message: ev.Text}
			turns = append(turns, cur)
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case ev.Kind == wire.KindToolCall:
			cur.calls = append(cur.calls, ev)
		case ev.Kind == wire.KindToolResult:
			cur.results = append(cur.results, ev)
		case ev.Kind == wire.KindAgentMessage:
			cur.replies = append(cur.replies, ev)
		case ev.Kind == wire.KindStatus && ev.Status == wire.StatusError:
			cur.failed = append(cur.failed, ev)
		case ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady:
			cur.ready = true
		}
	}
	return turns
}

// checkTurnShape checks that the turns are the customer messages in
// order, each with one reply, ended by ready and not failed.
func checkTurnShape(t *testing.T, turns []*turn) {
	t.Helper()
	if len(turns) != len(messages) {
		t.Fatalf("%d turns, want %d", len(turns), len(messages))
	}
	for i, tr := range turns {
		if tr.message != messages[i] {
			t.Errorf("turn %d starts with %q, want %q", i, tr.message, messages[i])
		}
		if len(tr.replies) != 1 {
			t.Errorf("turn %q has %d replies, want 1", tr.message, len(tr.replies))
		}
		if len(tr.failed) != 0 {
			t.Errorf("turn %q failed: %+v", tr.message, tr.failed[0].Error)
		}
		if !tr.ready {
			t.Errorf("turn %q did not end with status ready", tr.message)
		}
	}
}

// mustJSON returns v encoded as JSON.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameJSON reports whether a and b encode the same JSON value.
func sameJSON(t *testing.T, a json.RawMessage, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Errorf("invalid JSON %s: %v", a, err)
		return false
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return mustJSON(t, x) == mustJSON(t, y)
}

// checkInjected checks the injected CRM export: stored right after the
// greeting, marked injected, and followed by the first customer message
// without a turn in between.
func checkInjected(t *testing.T, events []wire.Event) {
	t.Helper()
	i := slices.IndexFunc(events, func(ev wire.Event) bool { return ev.Injected })
	if i < 0 {
		t.Fatal("no injected tool_result event")
	}
	ev := events[i]
	if ev.Kind != wire.KindToolResult || ev.Tool != "crm:export" || ev.Error != nil {
		t.Errorf("injected event = %+v, want a tool_result of crm:export", ev)
	}
	if !sameJSON(t, ev.Result, mustJSON(t, crmExport)) {
		t.Errorf("injected result = %s, want the CRM export", ev.Result)
	}
	if !sameJSON(t, ev.Arguments, `{"customer_id":"c-1042"}`) {
		t.Errorf("injected arguments = %s", ev.Arguments)
	}
	if ev.TurnID != "" {
		t.Errorf("injected event has turn_id %q, want none", ev.TurnID)
	}
	if i != 1 || events[0].Kind != wire.KindAgentMessage {
		t.Errorf("injected event at index %d, want 1, after the greeting", i)
	}
	if i+1 >= len(events) || events[i+1].Kind != wire.KindUserMessage {
		t.Errorf("the injected event is not followed by the customer's message, so it started something")
	}
}

// toolCase is the tool call that a turn must make and its outcome.
type toolCase struct {
	tool, args string
	result     string // JSON, or "" when the call fails
	errCode    string
	errText    string // part of the error message
}

// checkToolTurn checks that tr made exactly the call of tc, that its
// result matches, and that the reply contains the result or the error.
func checkToolTurn(t *testing.T, tr *turn, tc toolCase) {
	t.Helper()
	if len(tr.calls) != 1 || len(tr.results) != 1 {
		t.Fatalf("turn %q: %d tool calls and %d results, want 1 each", tr.message, len(tr.calls), len(tr.results))
	}

	call, res := tr.calls[0], tr.results[0]
	if call.Tool != tc.tool || !sameJSON(t, call.Arguments, tc.args) {
		t.Errorf("turn %q: tool_call %s %s, want %s %s", tr.message, call.Tool, call.Arguments, tc.tool, tc.args)
	}
	if call.CallID == "" || res.CallID != call.CallID {
		t.Errorf("turn %q: tool_result call_id %q, tool_call call_id %q", tr.message, res.CallID, call.CallID)
	}
	if res.Tool != tc.tool || res.Injected {
		t.Errorf("turn %q: tool_result of %q, injected %v", tr.message, res.Tool, res.Injected)
	}
	if call.TurnID == "" || res.TurnID != call.TurnID {
		t.Errorf("turn %q: tool events have turn ids %q and %q", tr.message, call.TurnID, res.TurnID)
	}
	if len(tr.replies) == 0 {
		return
	}

	reply := tr.replies[0].Text
	if tc.errCode == "" {
		if res.Error != nil {
			t.Fatalf("turn %q: the call failed: %+v", tr.message, res.Error)
		}
		if !sameJSON(t, res.Result, tc.result) {
			t.Errorf("turn %q: result %s, want %s", tr.message, res.Result, tc.result)
		}
		if !strings.Contains(reply, compactJSON(res.Result)) {
			t.Errorf("turn %q: reply %q does not contain the result", tr.message, reply)
		}
		return
	}

	if res.Error == nil || res.Error.Code != tc.errCode {
		t.Fatalf("turn %q: tool_result error %+v, want code %s", tr.message, res.Error, tc.errCode)
	}
	if !strings.Contains(res.Error.Message, tc.errText) {
		t.Errorf("turn %q: error message %q lacks %q", tr.message, res.Error.Message, tc.errText)
	}
	if !strings.Contains(reply, tc.errText) {
		t.Errorf("turn %q: reply %q does not mention the failure", tr.message, reply)
	}
}

func TestRunOffline(t *testing.T) {
	clearEnv(t)
	events, out := runTools(t)
	checkInjected(t, events)
	turns := splitTurns(events)
	checkTurnShape(t, turns)

	cases := []toolCase{
		{tool: "orders:status", args: `{"order_id":"A-1001"}`, result: mustJSON(t, orders["A-1001"])},
		{tool: "crm:lookup", args: `{"customer_id":"c-1042"}`, result: mustJSON(t, crmRecords["c-1042"])},
		{tool: "orders:status", args: `{"order_id":"A-9999"}`, errCode: "tool_error", errText: `no order has the number "A-9999"`},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("turn %d", i+1), func(t *testing.T) {
			checkToolTurn(t, turns[i], tc)
		})
	}

	for _, want := range []string{
		"with model scripted/tools",
		"mcp:crm: ok",
		"context:  crm:export ",
		"customer: " + messages[0],
		`  call    orders:status {"order_id":"A-1001"}`,
		"  result  orders:status " + mustJSON(t, orders["A-1001"]),
		`  call    crm:lookup {"customer_id":"c-1042"}`,
		"  result  crm:lookup " + mustJSON(t, crmRecords["c-1042"]),
		"  result  orders:status failed (tool_error): ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// testCRM is an MCP server of the test's own, with a lookup tool that
// returns a record the program's CRM does not have. It counts the
// requests that carried its bearer token.
type testCRM struct {
	*httptest.Server
	mu         sync.Mutex
	authorized int
}

// testRecord is the record that testCRM's lookup returns.
var testRecord = customer{ID: "c-1042", Name: "Test Customer", Plan: "plan-of-the-test-server", Since: "2020-01-01"}

func newTestCRM(t *testing.T, token string) *testCRM {
	s := server.NewMCPServer("test-crm", "1.0.0", server.WithToolCapabilities(true))
	s.AddTool(mcp.NewTool("lookup", mcp.WithDescription("Looks up a customer."), mcp.WithString("customer_id", mcp.Required())),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultStructured(testRecord, "test record"), nil
		})
	c := &testCRM{}
	mcpHandler := server.NewStreamableHTTPServer(s)
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		c.mu.Lock()
		c.authorized++
		c.mu.Unlock()
		mcpHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *testCRM) authorizedRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.authorized
}

func TestRunExternalMCPServer(t *testing.T) {
	tests := []struct {
		name, token string
		connected   bool
	}{
		{"right token", "test-token", true},
		{"wrong token", "another-token", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			crm := newTestCRM(t, "test-token")
			t.Setenv("CRM_MCP_URL", crm.URL+"/mcp")
			t.Setenv("CRM_MCP_TOKEN", tt.token)

			events, out := runTools(t)
			turns := splitTurns(events)
			checkTurnShape(t, turns)
			plan := turns[1]
			if !tt.connected {
				if !strings.Contains(out, "mcp:crm: degraded") {
					t.Errorf("output does not report mcp:crm as degraded:\n%s", out)
				}
				if len(plan.calls) != 0 {
					t.Errorf("turn %q called %s, want no call while the CRM is not connected", plan.message, plan.calls[0].Tool)
				}
				if crm.authorizedRequests() != 0 {
					t.Errorf("%d requests with the right token, want 0", crm.authorizedRequests())
				}
				return
			}
			if !strings.Contains(out, "mcp:crm: ok") {
				t.Errorf("output does not report mcp:crm as ok:\n%s", out)
			}
			checkToolTurn(t, plan, toolCase{tool: "crm:lookup", args: `{"customer_id":"c-1042"}`, result: mustJSON(t, testRecord)})
			if crm.authorizedRequests() == 0 {
				t.Error("the test's MCP server received no request with its token")
			}
		})
	}
}

// providerNamePattern is the form that model providers require of a
// function name.
var providerNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// chatServer imitates an OpenAI-compatible model under /v1. For a
// customer message that names an order or a plan it calls the matching
// tool, and after a tool result it replies with that result. It records
// each request.
type chatServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []chatRequest
}

// chatRequest is the part of a chat-completions request the test reads.
type chatRequest struct {
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
}

// messageText returns the text of message i: its content when that is a
// JSON string, else the content's JSON.
func (r chatRequest) messageText(i int) string {
	var s string
	if json.Unmarshal(r.Messages[i].Content, &s) == nil {
		return s
	}
	return string(r.Messages[i].Content)
}

// toolNames returns the names of the offered functions.
func (r chatRequest) toolNames() []string {
	var names []string
	for _, tl := range r.Tools {
		names = append(names, tl.Function.Name)
	}
	slices.Sort(names)
	return names
}

func newChatServer(t *testing.T) *chatServer {
	cs := &chatServer{}
	calls := 0
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		var req chatRequest
		if err := json.Unmarshal(data, &req); err != nil || len(req.Messages) == 0 {
			http.Error(w, `{"error":{"message":"invalid request"}}`, http.StatusBadRequest)
			return
		}
		for _, name := range req.toolNames() {
			if !providerNamePattern.MatchString(name) {
				http.Error(w, `{"error":{"message":"invalid function name"}}`, http.StatusBadRequest)
				return
			}
		}
		cs.mu.Lock()
		cs.bodies = append(cs.bodies, req)
		calls++
		id := fmt.Sprintf("call_%d", calls)
		cs.mu.Unlock()

		last, text := req.Messages[len(req.Messages)-1], req.messageText(len(req.Messages)-1)
		msg := map[string]any{"role": "assistant", "content": "Here is what I found: " + text}
		if last.Role == "user" {
			name, args := "", ""
			switch {
			case strings.Contains(text, "A-1001"):
				name, args = "orders__status", `{"order_id":"A-1001"}`
			case strings.Contains(text, "A-9999"):
				name, args = "orders__status", `{"order_id":"A-9999"}`
			case strings.Contains(text, "plan"):
				name, args = "crm__lookup", `{"customer_id":"c-1042"}`
			}
			msg = map[string]any{"role": "assistant", "content": "I have nothing to look up."}
			if name != "" {
				msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
					"id": id, "type": "function", "function": map[string]any{"name": name, "arguments": args},
				}}}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-" + id, "object": "chat.completion", "created": 1, "model": "gpt-tools",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": msg}},
		})
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *chatServer) requests() []chatRequest {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return slices.Clone(cs.bodies)
}

func TestModelSeesToolsAndContext(t *testing.T) {
	clearEnv(t)
	cs := newChatServer(t)
	t.Setenv("OPENAI_API_KEY", "sk-tools")
	t.Setenv("OPENAI_BASE_URL", cs.URL+"/v1")
	t.Setenv("OPENAI_MODEL", "gpt-tools")

	events, out := runTools(t)
	if !strings.Contains(out, "with model openai/gpt-tools") {
		t.Errorf("output does not name the OpenAI model:\n%s", out)
	}
	turns := splitTurns(events)
	checkTurnShape(t, turns)
	checkToolTurn(t, turns[0], toolCase{tool: "orders:status", args: `{"order_id":"A-1001"}`, result: mustJSON(t, orders["A-1001"])})
	checkToolTurn(t, turns[1], toolCase{tool: "crm:lookup", args: `{"customer_id":"c-1042"}`, result: mustJSON(t, crmRecords["c-1042"])})
	checkToolTurn(t, turns[2], toolCase{tool: "orders:status", args: `{"order_id":"A-9999"}`, errCode: "tool_error", errText: `no order has the number "A-9999"`})

	reqs := cs.requests()
	// Each turn makes a request with the customer's message and one with
	// the tool's result.
	if len(reqs) != 2*len(messages) {
		t.Fatalf("the model received %d requests, want %d", len(reqs), 2*len(messages))
	}
	// Only the allow-listed MCP tool and the native tool are offered, under
	// their provider names.
	want := []string{"crm__lookup", "orders__status"}
	for i, req := range reqs {
		if got := req.toolNames(); !slices.Equal(got, want) {
			t.Errorf("request %d offered %v, want %v", i, got, want)
		}
	}

	// The first request shows the injected export as the result of a call
	// of crm__export, before the customer's first message.
	first := reqs[0]
	callAt, resultAt, userAt := -1, -1, -1
	for i, m := range first.Messages {
		switch {
		case m.Role == "assistant" && len(m.ToolCalls) == 1 && m.ToolCalls[0].Function.Name == "crm__export":
			callAt = i
		case m.Role == "tool" && strings.Contains(first.messageText(i), "T-88"):
			resultAt = i
		case m.Role == "user" && strings.Contains(first.messageText(i), "A-1001"):
			userAt = i
		}
	}
	if callAt < 0 || resultAt != callAt+1 || userAt < resultAt {
		t.Errorf("first request: export call at %d, its result at %d, customer message at %d; want them in that order", callAt, resultAt, userAt)
	}
}
