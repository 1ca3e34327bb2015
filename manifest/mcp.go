package manifest

// MCP transports.
const (
	MCPStreamableHTTP = "streamable-http"
	MCPSSE            = "sse"
	MCPStdio          = "stdio"
)

// MCP is one entry of mcps[]: a Model Context Protocol server whose tools
// the agent may call, under the namespace ID ("crm:lookup").
type MCP struct {
	// ID is the tool namespace: letters, digits, '-' and '_'; "built-in"
	// is reserved.
	ID string `json:"id" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=64"`
	// URL is the server's endpoint for the HTTP transports. Alternatively
	// Hostname and Port build http://Hostname:Port/mcp.
	URL      string `json:"url,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	Port     int    `json:"port,omitempty" jsonschema:"minimum=1,maximum=65535"`
	// Transport is streamable-http (default), sse or stdio.
	Transport string `json:"transport,omitempty" jsonschema:"enum=streamable-http,enum=sse,enum=stdio"`
	// Command, Args and Env start the server of the stdio transport.
	Command string            `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// APIKey is sent as a bearer token to the HTTP transports.
	APIKey string `json:"api_key,omitempty"`
	// Headers are sent with every HTTP request to the server.
	Headers map[string]string `json:"headers,omitempty"`
	// Tools, when set, lists the server's tools the agent may use; the
	// others are hidden. Names without the namespace.
	Tools []string `json:"tools,omitempty"`
	// Timeout bounds each tool call. Default 30s.
	Timeout Duration `json:"timeout,omitempty"`
}
