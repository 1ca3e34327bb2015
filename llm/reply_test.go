package llm

import (
	"testing"

	"github.com/tmc/langchaingo/llms"
)

func TestFlatten(t *testing.T) {
	resp := &llms.ContentResponse{Choices: []*llms.ContentChoice{
		{Content: "Let me check.", StopReason: "tool_use", GenerationInfo: map[string]any{"InputTokens": 13, "OutputTokens": 5}},
		{ToolCalls: []llms.ToolCall{{ID: "toolu_a", FunctionCall: &llms.FunctionCall{Name: "a", Arguments: "null"}}}},
		nil,
		{ToolCalls: []llms.ToolCall{{FunctionCall: &llms.FunctionCall{Name: "b", Arguments: `{"x":1}`}}}},
		{Content: "Second block."},
	}}
	r := Flatten(resp)
	if r.Text != "Let me check.\nSecond block." {
		t.Errorf("Text = %q", r.Text)
	}
	if r.StopReason != "tool_use" {
		t.Errorf("StopReason = %q", r.StopReason)
	}
	if r.Usage != (Usage{InputTokens: 13, OutputTokens: 5}) {
		t.Errorf("Usage = %+v", r.Usage)
	}
	if len(r.ToolCalls) != 2 {
		t.Fatalf("ToolCalls = %d, want 2", len(r.ToolCalls))
	}
	first, second := r.ToolCalls[0], r.ToolCalls[1]
	if first.ID != "toolu_a" || first.Type != "function" || first.FunctionCall.Arguments != "{}" {
		t.Errorf("first call = %+v %+v", first, first.FunctionCall)
	}
	if second.ID != "call_1" || second.FunctionCall.Arguments != `{"x":1}` {
		t.Errorf("second call = %+v %+v", second, second.FunctionCall)
	}
	if resp.Choices[1].ToolCalls[0].FunctionCall.Arguments != "null" {
		t.Error("Flatten changed the response it read")
	}
}

func TestFlattenUsageOpenAI(t *testing.T) {
	r := Flatten(&llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:        "hi",
		GenerationInfo: map[string]any{"PromptTokens": 11, "CompletionTokens": 7, ModelInfoKey: "openai/m"},
	}}})
	if r.Usage != (Usage{InputTokens: 11, OutputTokens: 7}) {
		t.Errorf("Usage = %+v", r.Usage)
	}
	if r.Model != "openai/m" {
		t.Errorf("Model = %q", r.Model)
	}
}

func TestFlattenNil(t *testing.T) {
	r := Flatten(nil)
	if r.Text != "" || r.ToolCalls != nil || r.Model != "" {
		t.Errorf("Flatten(nil) = %+v, want zero", r)
	}
}

func TestNormalizeArguments(t *testing.T) {
	cases := map[string]string{
		"":           "{}",
		"   ":        "{}",
		"null":       "{}",
		" null\n":    "{}",
		"{}":         "{}",
		`{"a":null}`: `{"a":null}`,
		"[1]":        "[1]",
		`{"q":"x"} `: `{"q":"x"} `,
	}
	for in, want := range cases {
		if got := NormalizeArguments(in); got != want {
			t.Errorf("NormalizeArguments(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestToolCallMessages(t *testing.T) {
	cases := []struct {
		name     string
		call     llms.ToolCall
		wantArgs string
	}{
		{"object", llms.ToolCall{ID: "c1", FunctionCall: &llms.FunctionCall{Name: "ns:t", Arguments: `{"a":1}`}}, `{"a":1}`},
		{"empty", llms.ToolCall{ID: "c2", FunctionCall: &llms.FunctionCall{Name: "ns:t", Arguments: ""}}, "{}"},
		{"null", llms.ToolCall{ID: "c3", FunctionCall: &llms.FunctionCall{Name: "ns:t", Arguments: "null"}}, "{}"},
		{"array", llms.ToolCall{ID: "c4", FunctionCall: &llms.FunctionCall{Name: "ns:t", Arguments: "[1,2]"}}, "{}"},
		{"invalid", llms.ToolCall{ID: "c5", FunctionCall: &llms.FunctionCall{Name: "ns:t", Arguments: "{oops"}}, "{}"},
		{"no function", llms.ToolCall{ID: "c6"}, "{}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs := ToolCallMessages(tc.call, "result text")
			if len(msgs) != 2 {
				t.Fatalf("messages = %d, want 2", len(msgs))
			}
			ai, tool := msgs[0], msgs[1]
			if ai.Role != llms.ChatMessageTypeAI || len(ai.Parts) != 1 {
				t.Fatalf("first message = %s with %d parts, want ai with 1", ai.Role, len(ai.Parts))
			}
			call, ok := ai.Parts[0].(llms.ToolCall)
			if !ok {
				t.Fatalf("first part = %T, want llms.ToolCall", ai.Parts[0])
			}
			if call.ID != tc.call.ID || call.Type != "function" || call.FunctionCall.Arguments != tc.wantArgs {
				t.Errorf("call = %+v %+v, want ID %s, type function, arguments %s", call, call.FunctionCall, tc.call.ID, tc.wantArgs)
			}
			if tool.Role != llms.ChatMessageTypeTool || len(tool.Parts) != 1 {
				t.Fatalf("second message = %s with %d parts, want tool with 1", tool.Role, len(tool.Parts))
			}
			res, ok := tool.Parts[0].(llms.ToolCallResponse)
			if !ok {
				t.Fatalf("second part = %T, want llms.ToolCallResponse", tool.Parts[0])
			}
			if res.ToolCallID != tc.call.ID || res.Content != "result text" || res.Name != call.FunctionCall.Name {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

func TestEstimateTokens(t *testing.T) {
	cases := []struct {
		name string
		msgs []llms.MessageContent
		want int
	}{
		{"empty", nil, 3},
		{"four ascii bytes", []llms.MessageContent{human("abcd")}, 3 + 4 + 1},
		{"five ascii bytes", []llms.MessageContent{human("abcde")}, 3 + 4 + 2},
		{"non-ascii", []llms.MessageContent{human("日本語")}, 3 + 4 + 3},
		{"two messages", []llms.MessageContent{system("12345678"), human("1234")}, 3 + 4 + 2 + 4 + 1},
		{"tool call and result", ToolCallMessages(llms.ToolCall{
			ID: "id12", FunctionCall: &llms.FunctionCall{Name: "ns:tool", Arguments: `{"a":1}`},
		}, "done"), 3 + (4 + 1 + 2 + 2) + (4 + 1 + 2 + 1)},
		{"image", []llms.MessageContent{{Role: llms.ChatMessageTypeHuman, Parts: []llms.ContentPart{
			llms.ImageURLPart("https://example.com/a.png"),
		}}}, 3 + 4 + 1000},
	}
	for _, tc := range cases {
		if got := EstimateTokens(tc.msgs); got != tc.want {
			t.Errorf("%s: EstimateTokens = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestEstimateToolTokens(t *testing.T) {
	tools := shopTools()
	got := EstimateToolTokens(tools)
	withoutSchema := EstimateToolTokens(tools[1:])
	if withoutSchema <= 0 {
		t.Errorf("EstimateToolTokens(refund) = %d, want > 0", withoutSchema)
	}
	if got <= withoutSchema {
		t.Errorf("EstimateToolTokens(both) = %d, want more than one tool's %d", got, withoutSchema)
	}
}
