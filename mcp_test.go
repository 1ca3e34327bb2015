package agentry_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentry/agentry/transport/wire"
)

// newCRMServer serves an MCP server with one tool, lookup, over
// streamable HTTP on loopback.
func newCRMServer(t *testing.T) *httptest.Server {
	s := server.NewMCPServer("crm", "1.0.0", server.WithToolCapabilities(true))
	s.AddTool(mcp.NewTool("lookup", mcp.WithDescription("Looks up a customer."), mcp.WithString("customer", mcp.Required())),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultStructured(map[string]any{"customer": req.GetString("customer", ""), "tier": "gold"}, "gold customer"), nil
		})
	hs := httptest.NewServer(server.NewStreamableHTTPServer(s))
	t.Cleanup(hs.Close)
	return hs
}

const mcpManifest = `
id: mcp-test
name: MCP test
agent_config:
  runtime:
    api_key: agent-key
  llms:
    default: scripted/test
    providers:
      scripted:
        script: SCRIPT
  mcps:
    - id: crm
      url: CRM_URL/mcp
    - id: billing
      url: DOWN_URL/mcp
      timeout: 2s
`

const mcpScript = `
- when: {after_tool: "crm:lookup"}
  reply: {text: "CRM says: {{.ToolResult}}"}
- when: {user_matches: "lookup", tool_offered: "crm:lookup"}
  reply: {tool_call: {name: "crm:lookup", arguments: {customer: "c-9"}}}
- reply: {text: "no tool for that"}
`

// closedURL returns the URL of a loopback port with nothing listening.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestMCPToolInTurn(t *testing.T) {
	crm := newCRMServer(t)
	yaml := strings.NewReplacer("CRM_URL", crm.URL, "DOWN_URL", closedURL(t)).Replace(mcpManifest)
	c := serveTools(t, yaml, mcpScript, nil)

	s, err := c.OpenSession(context.Background(), wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	evs := turnEvents(t, c, s.ID, "please lookup my account")
	result := find(evs, wire.KindToolResult)
	if result == nil || result.Tool != "crm:lookup" || result.Error != nil {
		t.Fatalf("tool_result = %+v in %v", result, kindsOf(evs))
	}
	if compact(t, result.Result) != `{"customer":"c-9","tier":"gold"}` {
		t.Errorf("result = %s, want the structured content", result.Result)
	}
	if reply := find(evs, wire.KindAgentMessage); reply == nil || !strings.Contains(reply.Text, "gold") {
		t.Errorf("reply = %+v", reply)
	}

	// The server that is down is reported as degraded, and the agent is
	// ready with the tools it has.
	resp, err := http.Get(clientURL(t, c) + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var h wire.Health
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || h.Checks["mcp:crm"] != "ok" || !strings.HasPrefix(h.Checks["mcp:billing"], "degraded") {
		t.Errorf("/health/ready = %d %s, want 200 with crm ok and billing degraded", resp.StatusCode, body)
	}
}

func TestMCPToolTimeout(t *testing.T) {
	s := server.NewMCPServer("slow", "1.0.0", server.WithToolCapabilities(true))
	s.AddTool(mcp.NewTool("wait", mcp.WithDescription("Never answers in time.")),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
			return mcp.NewToolResultText("late"), nil
		})
	hs := httptest.NewServer(server.NewStreamableHTTPServer(s))
	t.Cleanup(hs.Close)
	yaml := `
id: mcp-timeout
name: MCP timeout
agent_config:
  runtime:
    api_key: agent-key
  llms:
    default: scripted/test
    providers:
      scripted:
        script: SCRIPT
  mcps:
    - id: slow
      url: ` + hs.URL + `/mcp
      timeout: 300ms
`
	script := `
- when: {after_tool: "slow:wait"}
  reply: {text: "the tool was too slow"}
- when: {tool_offered: "slow:wait"}
  reply: {tool_call: {name: "slow:wait", arguments: {}}}
`
	c := serveTools(t, yaml, script, nil)
	sess, err := c.OpenSession(context.Background(), wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	evs := turnEvents(t, c, sess.ID, "wait for it")
	result := find(evs, wire.KindToolResult)
	if result == nil || result.Error == nil || result.Error.Code != "timeout" {
		t.Fatalf("tool_result = %+v, want error timeout", result)
	}
	if reply := find(evs, wire.KindAgentMessage); reply == nil {
		t.Errorf("no reply after the timed-out tool: %v", kindsOf(evs))
	}
}
