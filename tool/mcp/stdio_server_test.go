package mcp

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// serveStdioTestServer runs an MCP server on standard input and output
// and returns the exit code.
func serveStdioTestServer() int {
	s := server.NewMCPServer("agentry-stdio-test", "1.0.0")
	s.AddTool(mcp.NewTool("echo", mcp.WithDescription("Echoes a message."), mcp.WithString("message")),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("echo: " + req.GetString("message", "")), nil
		})
	s.AddTool(mcp.NewTool("env", mcp.WithDescription("Lists the environment variable names.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			var names []string
			for _, kv := range os.Environ() {
				name, _, _ := strings.Cut(kv, "=")
				names = append(names, name)
			}
			sort.Strings(names)
			return mcp.NewToolResultStructuredOnly(map[string]any{"names": names, "probe": os.Getenv("AGENTRY_PROBE")}), nil
		})
	s.AddTool(mcp.NewTool("hang", mcp.WithDescription("Never answers in time.")),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			<-ctx.Done()
			return mcp.NewToolResultText("late"), nil
		})
	s.AddTool(mcp.NewTool("drop_once", mcp.WithDescription("Exits the process at its first call.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			marker := os.Getenv(stdioMarkerEnv)
			if _, err := os.Stat(marker); err != nil {
				_ = os.WriteFile(marker, []byte("dropped"), 0o600)
				os.Exit(3)
			}
			return mcp.NewToolResultText(fmt.Sprintf("second attempt in process %d", os.Getpid())), nil
		})
	if err := server.ServeStdio(s); err != nil {
		fmt.Fprintln(os.Stderr, "stdio test server:", err)
		return 1
	}
	return 0
}
