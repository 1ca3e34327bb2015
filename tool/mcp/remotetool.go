package mcp

import (
	"context"
	"encoding/json"

	"github.com/agentry/agentry/tool"
)

// remoteTool is a tool of an MCP server as offered to the agent. It keeps
// no connection. Calls go through its Server, which reconnects as needed,
// so a remoteTool stays usable after the server reconnects.
type remoteTool struct {
	server      *Server
	name        string // "<server id>:<remote name>"
	remote      string // the name on the server
	description string
	schema      json.RawMessage
}

var _ tool.Tool = (*remoteTool)(nil)

func (t *remoteTool) Name() string            { return t.name }
func (t *remoteTool) Description() string     { return t.description }
func (t *remoteTool) Schema() json.RawMessage { return t.schema }

// Call calls the tool on its server; see Server for timeouts and retries.
func (t *remoteTool) Call(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	return t.server.call(ctx, t.remote, args)
}
