package scripted

import (
	"context"
	"testing"

	"github.com/tmc/langchaingo/llms"
)

func human(text string) llms.MessageContent {
	return llms.TextParts(llms.ChatMessageTypeHuman, text)
}

func ai(text string) llms.MessageContent {
	return llms.TextParts(llms.ChatMessageTypeAI, text)
}

func system(text string) llms.MessageContent {
	return llms.TextParts(llms.ChatMessageTypeSystem, text)
}

// toolPair is a tool call of name and its result.
func toolPair(id, name, result string) []llms.MessageContent {
	return []llms.MessageContent{
		{Role: llms.ChatMessageTypeAI, Parts: []llms.ContentPart{llms.ToolCall{
			ID: id, Type: "function", FunctionCall: &llms.FunctionCall{Name: name, Arguments: "{}"},
		}}},
		{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{llms.ToolCallResponse{
			ToolCallID: id, Content: result,
		}}},
	}
}

func tool(name, description string, params any) llms.Tool {
	return llms.Tool{Type: "function", Function: &llms.FunctionDefinition{
		Name: name, Description: description, Parameters: params,
	}}
}

func mustParse(t testing.TB, yaml string) *Script {
	t.Helper()
	s, err := ParseScript([]byte(yaml))
	if err != nil {
		t.Fatalf("ParseScript: %v", err)
	}
	return s
}

func mustNew(t testing.TB, name string, opts ...Option) *Model {
	t.Helper()
	m, err := New(name, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// generate calls m and returns the single choice.
func generate(t testing.TB, m *Model, msgs []llms.MessageContent, opts ...llms.CallOption) *llms.ContentChoice {
	t.Helper()
	resp, err := m.GenerateContent(context.Background(), msgs, opts...)
	if err != nil {
		t.Fatalf("GenerateContent: %v", err)
	}
	if len(resp.Choices) != 1 {
		t.Fatalf("choices = %d, want 1", len(resp.Choices))
	}
	return resp.Choices[0]
}
