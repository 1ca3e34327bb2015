package llm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm/scripted"
	"github.com/agentry/agentry/manifest"
)

func scriptedLLMs() manifest.LLMs {
	return manifest.LLMs{Default: "scripted/demo"}
}

func mustScript(t testing.TB, yaml string) *scripted.Script {
	t.Helper()
	s, err := scripted.ParseScript([]byte(yaml))
	if err != nil {
		t.Fatalf("ParseScript: %v", err)
	}
	return s
}

func mustScripted(t testing.TB, name string, opts ...scripted.Option) *scripted.Model {
	t.Helper()
	m, err := scripted.New(name, opts...)
	if err != nil {
		t.Fatalf("scripted.New: %v", err)
	}
	return m
}

func TestLaneScriptedToolNames(t *testing.T) {
	script := mustScript(t, `
- when: {after_tool: "shop:refund"}
  reply: {text: "refund result: {{.ToolResult}} from {{.ToolName}}"}
- when: {tool_offered: "shop:refund"}
  reply: {tool_call: {name: "shop:refund", arguments: {reason: late}}}
`)
	lane, err := NewLane(LaneConfig{Name: LaneChat, Models: []Candidate{
		{ID: "scripted/rules", Model: mustScripted(t, "rules", scripted.WithScript(script))},
	}})
	if err != nil {
		t.Fatalf("NewLane: %v", err)
	}
	msgs := []llms.MessageContent{human("refund")}

	reply, err := lane.Generate(context.Background(), msgs, llms.WithTools(shopTools()))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(reply.ToolCalls) != 1 {
		t.Fatalf("ToolCalls = %d, want 1", len(reply.ToolCalls))
	}
	call := reply.ToolCalls[0]
	if call.FunctionCall.Name != "shop:refund" {
		t.Errorf("call name = %q, want shop:refund", call.FunctionCall.Name)
	}
	if call.FunctionCall.Arguments != `{"reason":"late"}` {
		t.Errorf("call arguments = %q", call.FunctionCall.Arguments)
	}

	msgs = append(msgs, ToolCallMessages(call, "ok")...)
	reply, err = lane.Generate(context.Background(), msgs, llms.WithTools(shopTools()))
	if err != nil {
		t.Fatalf("second Generate: %v", err)
	}
	if reply.Text != "refund result: ok from shop:refund" {
		t.Errorf("Text = %q", reply.Text)
	}
}

func TestLaneDemoToolCall(t *testing.T) {
	lanes := newLanes(t, scriptedLLMs())
	reply, err := lanes.Chat.Generate(context.Background(),
		[]llms.MessageContent{human("What is the status of my order 42?")},
		llms.WithTools(shopTools()))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(reply.ToolCalls) != 1 || reply.ToolCalls[0].FunctionCall.Name != "shop:order_status" {
		t.Fatalf("ToolCalls = %+v, want one call of shop:order_status", reply.ToolCalls)
	}
	if reply.Model != "scripted/demo" {
		t.Errorf("Model = %q", reply.Model)
	}
}

func TestLaneTimeoutFallsBack(t *testing.T) {
	slow := mustScripted(t, "slow", scripted.WithScript(mustScript(t, "- reply: {text: slow}\n  delay: 10s\n")))
	fast := mustScripted(t, "fast", scripted.WithScript(mustScript(t, "- reply: {text: fast}\n")))
	lane, err := NewLane(LaneConfig{Name: LaneChat, Logger: quietLogger(), Models: []Candidate{
		{ID: "scripted/slow", Model: slow, Timeout: 50 * time.Millisecond},
		{ID: "scripted/fast", Model: fast},
	}})
	if err != nil {
		t.Fatalf("NewLane: %v", err)
	}

	reply, err := lane.Generate(context.Background(), []llms.MessageContent{human("hi")})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if reply.Text != "fast" || reply.Model != "scripted/fast" {
		t.Errorf("reply = %q from %q, want fast from scripted/fast", reply.Text, reply.Model)
	}
}

func TestLaneAllModelsFail(t *testing.T) {
	none := mustScript(t, "- when: {user_matches: never}\n  reply: {text: x}\n")
	lane, err := NewLane(LaneConfig{Name: LaneEvaluation, Logger: quietLogger(), Models: []Candidate{
		{ID: "scripted/a", Model: mustScripted(t, "a", scripted.WithScript(none))},
		{ID: "scripted/b", Model: mustScripted(t, "b", scripted.WithScript(none))},
	}})
	if err != nil {
		t.Fatalf("NewLane: %v", err)
	}

	_, err = lane.Generate(context.Background(), []llms.MessageContent{human("hi")})
	if !errors.Is(err, ErrAllModelsFailed) {
		t.Errorf("err = %v, want ErrAllModelsFailed", err)
	}
	if !errors.Is(err, scripted.ErrNoRule) {
		t.Errorf("err = %v, want it to wrap scripted.ErrNoRule", err)
	}
	for _, want := range []string{"evaluation lane", "scripted/a", "scripted/b"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to mention %q", err, want)
		}
	}
}

func TestNewLaneErrors(t *testing.T) {
	if _, err := NewLane(LaneConfig{Name: "empty"}); err == nil {
		t.Error("NewLane without models succeeded")
	}
	if _, err := NewLane(LaneConfig{Name: "nil", Models: []Candidate{{ID: "x/y"}}}); err == nil {
		t.Error("NewLane with a nil model succeeded")
	}
}

func TestLaneCall(t *testing.T) {
	lanes := newLanes(t, scriptedLLMs())
	text, err := lanes.Chat.Call(context.Background(), "hello")
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if !strings.HasPrefix(text, "Hello!") {
		t.Errorf("Call = %q, want a greeting", text)
	}
}

func BenchmarkLaneScripted(b *testing.B) {
	script := mustScript(b, "- when: {user_matches: '(?i)hello'}\n  reply: {text: hi there}\n")
	lane, err := NewLane(LaneConfig{Name: LaneChat, Models: []Candidate{
		{ID: "scripted/bench", Model: mustScripted(b, "bench", scripted.WithScript(script))},
	}})
	if err != nil {
		b.Fatal(err)
	}
	msgs := []llms.MessageContent{system("You are a bench."), human("hello")}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lane.Generate(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
}
