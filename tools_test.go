package agentry_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
	"github.com/agentry/agentry/transport/wire"
)

// toolsManifest serves a scripted model whose rules are in SCRIPT.
const toolsManifest = `
id: tools
name: Tools test
agent_config:
  runtime:
    api_key: agent-key
    tool_result_max_bytes: 1024
  llms:
    default: scripted/test
    providers:
      scripted:
        script: SCRIPT
`

// toolScript calls shop:refund when asked for a refund, and tools that do
// not exist or with bad arguments on other keywords.
const toolScript = `
- when: {after_tool: "shop:refund"}
  reply: {text: "Refund result: {{.ToolResult}}"}
- when: {after_tool: "shop:missing"}
  reply: {text: "That tool is not there."}
- when: {after_tool: "shop:big"}
  reply: {text: "Got a big result."}
- when: {user_matches: "refund"}
  reply: {tool_call: {name: "shop:refund", arguments: {order: "o-1"}}}
- when: {user_matches: "broken"}
  reply: {tool_call: {name: "shop:refund", arguments: {order: "fail"}}}
- when: {user_matches: "invent"}
  reply: {tool_call: {name: "shop:missing", arguments: {}}}
- when: {user_matches: "typo"}
  reply: {tool_call: {name: "shop:refund", arguments: {ordr: "o-1"}}}
- when: {user_matches: "big"}
  reply: {tool_call: {name: "shop:big", arguments: {}}}
- reply: {text: "ok"}
`

type refundArgs struct {
	Order string `json:"order" jsonschema:"description=the order id"`
}

type refundResult struct {
	Order    string `json:"order"`
	Refunded bool   `json:"refunded"`
}

func shopTools(t *testing.T) []tool.Tool {
	refund, err := tool.Func("shop:refund", "Refunds an order.", func(ctx context.Context, a refundArgs) (refundResult, error) {
		if a.Order == "fail" {
			return refundResult{}, errors.New("the payment provider is down")
		}
		return refundResult{Order: a.Order, Refunded: true}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	big, err := tool.Func("shop:big", "Returns a large export.", func(ctx context.Context, _ struct{}) (string, error) {
		return strings.Repeat("x", 5000), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return []tool.Tool{refund, big}
}

// serveTools starts the tools manifest with the shop tools and returns a
// client.
func serveTools(t *testing.T, yaml, script string, tools []tool.Tool) *client.Client {
	t.Helper()
	dir := t.TempDir()
	if script != "" {
		path := filepath.Join(dir, "script.yaml")
		if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
		yaml = strings.ReplaceAll(yaml, "SCRIPT", path)
	}
	m, err := manifest.Parse([]byte(yaml), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agentry.New(m, agentry.Options{Tools: tools, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Shutdown(context.Background())
	})
	c := client.New(hs.URL, "agent-key")
	baseURLs.Store(c, hs.URL)
	return c
}

// turnEvents posts text and returns the events of the turn up to ready.
func turnEvents(t *testing.T, c *client.Client, sessionID, text string) []wire.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	msg, err := c.PostMessage(ctx, sessionID, text)
	if err != nil {
		t.Fatal(err)
	}
	var out []wire.Event
	for ev, err := range c.Events(ctx, sessionID, msg.Offset+1, client.PollOptions{Wait: 5 * time.Second}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
		if ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady {
			return out
		}
	}
	t.Fatal("no status ready within 15s")
	return nil
}

func find(evs []wire.Event, kind string) *wire.Event {
	for i := range evs {
		if evs[i].Kind == kind {
			return &evs[i]
		}
	}
	return nil
}

func TestToolCallRoundTrip(t *testing.T) {
	c := serveTools(t, toolsManifest, toolScript, shopTools(t))
	s, err := c.OpenSession(context.Background(), wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	evs := turnEvents(t, c, s.ID, "please refund my order")

	call, result, reply := find(evs, wire.KindToolCall), find(evs, wire.KindToolResult), find(evs, wire.KindAgentMessage)
	if call == nil || result == nil || reply == nil {
		t.Fatalf("events = %v, want tool_call, tool_result and agent_message", kindsOf(evs))
	}
	if call.Tool != "shop:refund" || compact(t, call.Arguments) != `{"order":"o-1"}` || call.CallID == "" {
		t.Errorf("tool_call = %+v", call)
	}
	if result.CallID != call.CallID || result.Error != nil || result.Injected {
		t.Errorf("tool_result = %+v", result)
	}
	if compact(t, result.Result) != `{"order":"o-1","refunded":true}` {
		t.Errorf("result = %s", result.Result)
	}
	if !strings.Contains(reply.Text, `"refunded":true`) {
		t.Errorf("reply %q does not use the tool result", reply.Text)
	}
}

func TestToolFailuresDoNotFailTheTurn(t *testing.T) {
	c := serveTools(t, toolsManifest, toolScript, shopTools(t))
	s, err := c.OpenSession(context.Background(), wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text, code string
	}{
		{"this one is broken", "tool_error"},
		{"invent a tool", "unknown_tool"},
		{"a typo in the arguments", "invalid_arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			evs := turnEvents(t, c, s.ID, tt.text)
			result := find(evs, wire.KindToolResult)
			if result == nil || result.Error == nil || result.Error.Code != tt.code {
				t.Fatalf("tool_result = %+v, want error %s", result, tt.code)
			}
			if find(evs, wire.KindAgentMessage) == nil {
				t.Errorf("no reply after the failed tool: %v", kindsOf(evs))
			}
			for _, ev := range evs {
				if ev.Kind == wire.KindStatus && ev.Status == wire.StatusError {
					t.Errorf("the turn failed: %+v", ev.Error)
				}
			}
		})
	}
}

func TestToolResultTruncated(t *testing.T) {
	c := serveTools(t, toolsManifest, toolScript, shopTools(t))
	s, err := c.OpenSession(context.Background(), wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	evs := turnEvents(t, c, s.ID, "a big export please")
	result := find(evs, wire.KindToolResult)
	if result == nil {
		t.Fatalf("no tool_result: %v", kindsOf(evs))
	}
	if len(result.Result) > 1200 || !strings.Contains(string(result.Result), "truncated") {
		t.Errorf("result of %d bytes, want it cut to the 1024-byte limit with a marker: %.120s", len(result.Result), result.Result)
	}
}

func kindsOf(evs []wire.Event) []string {
	var out []string
	for _, ev := range evs {
		k := ev.Kind
		if ev.Status != "" {
			k += ":" + ev.Status
		}
		out = append(out, k)
	}
	return out
}

// sequenceServer speaks the OpenAI chat-completions format and answers
// the requests with replies in order, recording the request bodies.
type sequenceServer struct {
	*httptest.Server
	mu      sync.Mutex
	replies []map[string]any
	bodies  []string
}

func newSequenceServer(t *testing.T, replies ...map[string]any) *sequenceServer {
	ss := &sequenceServer{replies: replies}
	ss.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ss.mu.Lock()
		ss.bodies = append(ss.bodies, string(body))
		msg := map[string]any{"role": "assistant", "content": "no more replies"}
		if len(ss.replies) > 0 {
			msg, ss.replies = ss.replies[0], ss.replies[1:]
		}
		ss.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-test",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": msg}},
		})
	}))
	t.Cleanup(ss.Close)
	return ss
}

func (ss *sequenceServer) requests() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]string(nil), ss.bodies...)
}

const sequenceManifest = `
id: seq
name: Sequence test
agent_config:
  runtime:
    api_key: agent-key
  llms:
    default: openai/gpt-test
    providers:
      openai: {api_key: sk-test, base_url: BASE/v1}
`

func TestParallelToolCallsRunConcurrently(t *testing.T) {
	ss := newSequenceServer(t,
		map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{
			map[string]any{"id": "call_a", "type": "function", "function": map[string]any{"name": "shop__slow", "arguments": `{"n": 1}`}},
			map[string]any{"id": "call_b", "type": "function", "function": map[string]any{"name": "shop__slow", "arguments": `{"n": 2}`}},
		}},
		map[string]any{"role": "assistant", "content": "Both done."},
	)
	// Each call waits until both have started, so the turn only finishes
	// when they run at the same time.
	var started atomic.Int32
	both := make(chan struct{})
	slow, err := tool.Func("shop:slow", "Waits for a partner call.", func(ctx context.Context, a struct {
		N int `json:"n"`
	}) (int, error) {
		if started.Add(1) == 2 {
			close(both)
		}
		select {
		case <-both:
			return a.N, nil
		case <-time.After(5 * time.Second):
			return 0, errors.New("the other call never started")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	c := serveTools(t, strings.Replace(sequenceManifest, "BASE", ss.URL, 1), "", []tool.Tool{slow})
	s, err := c.OpenSession(context.Background(), wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	evs := turnEvents(t, c, s.ID, "do two things")
	var results []wire.Event
	for _, ev := range evs {
		if ev.Kind == wire.KindToolResult {
			results = append(results, ev)
		}
	}
	if len(results) != 2 {
		t.Fatalf("events %v, want two tool results", kindsOf(evs))
	}
	for _, r := range results {
		if r.Error != nil {
			t.Errorf("call %s failed: %+v", r.CallID, r.Error)
		}
	}
	reqs := ss.requests()
	if len(reqs) != 2 {
		t.Fatalf("model got %d requests, want 2", len(reqs))
	}
	// The second request replays both calls, each followed by its result.
	second := reqs[1]
	for _, id := range []string{`"tool_call_id":"call_a"`, `"tool_call_id":"call_b"`} {
		if !strings.Contains(second, id) {
			t.Errorf("second request lacks %s", id)
		}
	}
}

func TestInjectedToolEvent(t *testing.T) {
	ss := newSequenceServer(t, map[string]any{"role": "assistant", "content": "I see your statement."})
	c := serveTools(t, strings.Replace(sequenceManifest, "BASE", ss.URL, 1), "", nil)
	ctx := context.Background()
	s, err := c.OpenSession(ctx, wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	base := clientURL(t, c)
	post := func(sessionID, body string) (int, []byte) {
		req, _ := http.NewRequest("POST", base+"/sessions/"+sessionID+"/tool_events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer agent-key")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}

	status, body := post(s.ID, `{"tool": "bank:statement", "arguments": {"month": "2026-11"}, "result": {"balance": "1234.56 EUR-marker"}}`)
	if status != http.StatusCreated {
		t.Fatalf("inject: %d %s", status, body)
	}
	var ev wire.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Kind != wire.KindToolResult || !ev.Injected || ev.Tool != "bank:statement" {
		t.Errorf("injected event = %s", body)
	}

	// No turn starts for it.
	page, err := c.Poll(ctx, s.ID, ev.Offset+1, client.PollOptions{Wait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 0 {
		t.Errorf("the injected event started a turn: %v", kindsOf(page.Events))
	}

	// The next turn shows it to the model.
	turnEvents(t, c, s.ID, "what is my balance?")
	reqs := ss.requests()
	if len(reqs) != 1 || !strings.Contains(reqs[0], "EUR-marker") {
		t.Errorf("the model did not see the injected result: %v", reqs)
	}

	for _, tt := range []struct {
		name, session, body string
		status              int
	}{
		{"unknown session", "nobody", `{"tool": "a:b", "result": 1}`, http.StatusNotFound},
		{"no result", s.ID, `{"tool": "a:b"}`, http.StatusUnprocessableEntity},
		{"bad tool name", s.ID, `{"tool": "a b", "result": 1}`, http.StatusUnprocessableEntity},
		{"arguments not an object", s.ID, `{"tool": "a:b", "arguments": [1], "result": 1}`, http.StatusUnprocessableEntity},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := post(tt.session, tt.body); status != tt.status {
				t.Errorf("status %d %s, want %d", status, body, tt.status)
			}
		})
	}
}

func TestToolAccessGuidedOffersNoUnnamedTools(t *testing.T) {
	for _, tt := range []struct {
		access string
		offer  bool
	}{{"open", true}, {"guided", false}} {
		t.Run(tt.access, func(t *testing.T) {
			ss := newSequenceServer(t, map[string]any{"role": "assistant", "content": "hello"})
			yaml := strings.Replace(sequenceManifest, "BASE", ss.URL, 1)
			yaml = strings.Replace(yaml, "    api_key: agent-key", "    api_key: agent-key\n    tool_access: "+tt.access, 1)
			c := serveTools(t, yaml, "", shopTools(t))
			s, err := c.OpenSession(context.Background(), wire.CreateSessionRequest{})
			if err != nil {
				t.Fatal(err)
			}
			turnEvents(t, c, s.ID, "hi")
			reqs := ss.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d model requests, want 1", len(reqs))
			}
			if got := strings.Contains(reqs[0], "shop__refund"); got != tt.offer {
				t.Errorf("tool offered = %v, want %v with tool_access %s", got, tt.offer, tt.access)
			}
		})
	}
}
