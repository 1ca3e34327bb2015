package agentry

import (
	"context"
	"log/slog"

	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
	"github.com/agentry/agentry/tool/mcp"
)

// mcpServers are the manifest's MCP servers; the zero value has none.
type mcpServers struct {
	manager *mcp.Manager
}

// connectMCP connects to every MCP server of the manifest in parallel and
// registers each as the source of its namespace's tools. It returns once
// every server's first connection attempt has finished. A server that is
// down is retried in the background, and its tools appear when it connects.
func connectMCP(m *manifest.Manifest, tools *tool.Registry, log *slog.Logger) (mcpServers, error) {
	if len(m.AgentConfig.MCPs) == 0 {
		return mcpServers{}, nil
	}
	mgr, err := mcp.NewManager(context.Background(), m.AgentConfig.MCPs, mcp.Options{Logger: log})
	if err != nil {
		return mcpServers{}, err
	}
	if err := mgr.Register(tools); err != nil {
		_ = mgr.Close()
		return mcpServers{}, err
	}
	return mcpServers{manager: mgr}, nil
}

// status returns each server's state for /health/ready, keyed "mcp:<id>".
func (s mcpServers) status() map[string]string {
	if s.manager == nil {
		return nil
	}
	out := make(map[string]string)
	for id, state := range s.manager.Status() {
		out["mcp:"+id] = state
	}
	return out
}

// close disconnects from every server and stops stdio servers.
func (s mcpServers) close() error {
	if s.manager == nil {
		return nil
	}
	return s.manager.Close()
}
