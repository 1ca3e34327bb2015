package llm

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tmc/langchaingo/llms"
)

func TestToProviderName(t *testing.T) {
	long := strings.Repeat("x", 70)
	cases := []struct {
		name string
		want string // "" means: check validity and distinctness only
		back string // expected FromProviderName result; "" means no check
	}{
		{"shop:order_status", "shop__order_status", "shop:order_status"},
		{"built-in:emit_output", "built-in__emit_output", "built-in:emit_output"},
		{"weather", "weather", "weather"},
		{"ns:get.weather", "", ""},
		{"ns:a:b", "", ""},
		{"my__ns:tool", "", ""},
		{"ns:" + long, "", ""},
		{"ns:ünïcode", "", ""},
		{":leading", "", ""},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		got := ToProviderName(tc.name)
		if !toolNamePattern.MatchString(got) {
			t.Errorf("ToProviderName(%q) = %q, which providers reject", tc.name, got)
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("ToProviderName(%q) = %q, want %q", tc.name, got, tc.want)
		}
		if tc.back != "" && FromProviderName(got) != tc.back {
			t.Errorf("FromProviderName(%q) = %q, want %q", got, FromProviderName(got), tc.back)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("%q and %q both map to %q", prev, tc.name, got)
		}
		seen[got] = tc.name
	}
}

func TestLaneToolNameCollision(t *testing.T) {
	lanes := newLanes(t, scriptedLLMs())
	tools := []llms.Tool{
		{Type: "function", Function: &llms.FunctionDefinition{Name: "a:b"}},
		{Type: "function", Function: &llms.FunctionDefinition{Name: "a__b"}},
	}
	_, err := lanes.Chat.Generate(context.Background(), []llms.MessageContent{human("hi")}, llms.WithTools(tools))
	if !errors.Is(err, ErrToolNameCollision) {
		t.Errorf("err = %v, want ErrToolNameCollision", err)
	}
}

func TestLaneLeavesInputUntouched(t *testing.T) {
	lanes := newLanes(t, scriptedLLMs())
	tools := shopTools()
	msgs := []llms.MessageContent{human("refund please")}
	msgs = append(msgs, ToolCallMessages(llms.ToolCall{
		ID: "call_1", FunctionCall: &llms.FunctionCall{Name: "shop:refund", Arguments: "null"},
	}, "refunded")...)
	// ToolCallMessages already normalized; put the raw form back to check
	// that the lane copies before normalizing.
	raw := msgs[1].Parts[0].(llms.ToolCall)
	raw.FunctionCall = &llms.FunctionCall{Name: "shop:refund", Arguments: ""}
	msgs[1].Parts[0] = raw
	wantTools := cloneTools(tools)
	wantArgs, wantName := raw.FunctionCall.Arguments, raw.FunctionCall.Name

	if _, err := lanes.Chat.Generate(context.Background(), msgs, llms.WithTools(tools)); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if !reflect.DeepEqual(tools, wantTools) {
		t.Errorf("tools changed: %+v", tools[0].Function)
	}
	got := msgs[1].Parts[0].(llms.ToolCall).FunctionCall
	if got.Arguments != wantArgs || got.Name != wantName {
		t.Errorf("transcript changed: %+v", got)
	}
	if msgs[2].Parts[0].(llms.ToolCallResponse).Name != "shop:refund" {
		t.Errorf("result name changed to %q", msgs[2].Parts[0].(llms.ToolCallResponse).Name)
	}
}

func cloneTools(tools []llms.Tool) []llms.Tool {
	out := make([]llms.Tool, len(tools))
	for i, t := range tools {
		fn := *t.Function
		out[i] = llms.Tool{Type: t.Type, Function: &fn}
	}
	return out
}
