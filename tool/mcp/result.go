package mcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentry/agentry/tool"
)

// toResult converts an MCP tool result to the result passed to the model.
// Content is the structured content when the server sent one. Otherwise
// it is a JSON string with the text items joined by newlines. When any
// item is not text (an image, audio, a resource or a link), it is the
// JSON array of all items in their MCP encoding instead. A result without
// content is the empty string. IsError carries the result's isError.
func toResult(r *mcp.CallToolResult) (tool.Result, error) {
	content, err := resultContent(r)
	if err != nil {
		return tool.Result{}, err
	}
	return tool.Result{Content: content, IsError: r.IsError}, nil
}

func resultContent(r *mcp.CallToolResult) (json.RawMessage, error) {
	if raw := bytes.TrimSpace(r.RawStructuredContent); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if !json.Valid(raw) {
			return nil, fmt.Errorf("structured content is not valid JSON")
		}
		return json.RawMessage(raw), nil
	}
	if r.StructuredContent != nil {
		b, err := json.Marshal(r.StructuredContent)
		if err != nil {
			return nil, fmt.Errorf("encode structured content: %w", err)
		}
		return b, nil
	}

	texts := make([]string, 0, len(r.Content))
	for _, item := range r.Content {
		text, ok := item.(mcp.TextContent)
		if !ok {
			b, err := json.Marshal(r.Content)
			if err != nil {
				return nil, fmt.Errorf("encode content items: %w", err)
			}
			return b, nil
		}
		texts = append(texts, text.Text)
	}
	b, err := json.Marshal(strings.Join(texts, "\n"))
	if err != nil {
		return nil, fmt.Errorf("encode text content: %w", err)
	}
	return b, nil
}

// emptyObjectSchema is the schema of a tool without arguments.
var emptyObjectSchema = json.RawMessage(`{"type":"object"}`)

// inputSchema returns the argument schema of t. A schema without type,
// properties, required list, definitions or additionalProperties becomes
// {"type":"object"}; a schema without type gets "type": "object".
//
// NOTE: mcp-go v1.2.1 decodes a tool's inputSchema into a struct that
// keeps only type, properties (each property's schema in full), required,
// additionalProperties and $defs (draft-07 "definitions" move there).
// Other top-level keywords, such as "description", "$schema" or "anyOf",
// do not reach the model.
func inputSchema(t mcp.Tool) (json.RawMessage, error) {
	if len(t.RawInputSchema) > 0 {
		return t.RawInputSchema, nil
	}
	s := mcp.ToolArgumentsSchema(t.InputSchema)
	if s.Type == "" {
		s.Type = "object"
	}
	if s.Type == "object" && len(s.Properties) == 0 && len(s.Required) == 0 &&
		len(s.Defs) == 0 && s.AdditionalProperties == nil {
		return emptyObjectSchema, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode input schema: %w", err)
	}
	// mcp-go writes "required": [] for a schema without required
	// properties, which draft-04 validators reject.
	if len(s.Required) == 0 {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			return nil, fmt.Errorf("decode input schema: %w", err)
		}
		delete(fields, "required")
		if b, err = json.Marshal(fields); err != nil {
			return nil, fmt.Errorf("encode input schema: %w", err)
		}
	}
	return b, nil
}

// normalizeArgs returns args, or {} for empty, whitespace and null
// arguments, which models send for tools without parameters.
func normalizeArgs(args json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) || bytes.Equal(trimmed, []byte(`""`)) {
		return json.RawMessage("{}")
	}
	return trimmed
}
