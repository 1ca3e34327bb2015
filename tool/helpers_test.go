package tool

import (
	"context"
	"encoding/json"
	"testing"
)

// schemaTool is a tool with a fixed schema whose Call echoes its
// arguments, as a tool of an MCP server would be after listing.
type schemaTool struct {
	name   string
	schema string
}

func (s schemaTool) Name() string            { return s.name }
func (s schemaTool) Description() string     { return "echoes its arguments" }
func (s schemaTool) Schema() json.RawMessage { return json.RawMessage(s.schema) }

func (s schemaTool) Call(_ context.Context, args json.RawMessage) (Result, error) {
	return Result{Content: args}, nil
}

// decodeJSON decodes data into a generic value, failing the test on error.
func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}
