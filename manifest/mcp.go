package manifest

import (
	"net"
	"strconv"
	"time"
)

// MCP transports.
const (
	MCPStreamableHTTP = "streamable-http"
	MCPSSE            = "sse"
	MCPStdio          = "stdio"
)

// Bounds of [MCP.Timeout].
const (
	// DefaultMCPTimeout bounds each tool call when timeout is unset.
	DefaultMCPTimeout = 30 * time.Second
	// MaxMCPTimeout is the largest timeout a manifest may set.
	MaxMCPTimeout = 10 * time.Minute
)

// MCP is one entry of mcps[]: a Model Context Protocol server whose tools
// the agent may call, under the namespace ID ("crm:lookup").
type MCP struct {
	// ID is the tool namespace: 1 to 64 letters, digits, '-' and '_',
	// unique among the servers; "built-in" is reserved.
	ID string `json:"id" jsonschema:"pattern=^[A-Za-z0-9_-]+$,maxLength=64"`
	// URL is the server's endpoint for the HTTP transports: an absolute
	// http or https URL. Set either URL or Hostname.
	URL string `json:"url,omitempty"`
	// Hostname and Port give the endpoint of an HTTP transport instead of
	// URL; see [MCP.Endpoint]. Port is required with Hostname.
	Hostname string `json:"hostname,omitempty"`
	Port     int    `json:"port,omitempty" jsonschema:"minimum=1,maximum=65535"`
	// Transport is streamable-http (default), sse or stdio.
	Transport string `json:"transport,omitempty" jsonschema:"enum=streamable-http,enum=sse,enum=stdio"`
	// Command, Args and Env start the server of the stdio transport, and
	// only of that transport. Command is required for it.
	Command string            `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// APIKey is sent as a bearer token to the HTTP transports.
	APIKey string `json:"api_key,omitempty"`
	// Headers are sent with every HTTP request to the server. They may not
	// set Authorization when APIKey is set.
	Headers map[string]string `json:"headers,omitempty"`
	// Tools, when set, lists the server's tools the agent may use; the
	// others are hidden. Each is a name without the namespace, such as
	// "lookup": 1 to 64 letters, digits, '_', '.' and '-'.
	Tools []string `json:"tools,omitempty"`
	// Timeout bounds each tool call: more than 0, at most 10m. Default
	// 30s.
	Timeout Duration `json:"timeout,omitempty"`
}

// MCP returns the entry of mcps[] with the given id, or nil.
func (m *Manifest) MCP(id string) *MCP {
	for i := range m.AgentConfig.MCPs {
		if m.AgentConfig.MCPs[i].ID == id {
			return &m.AgentConfig.MCPs[i]
		}
	}
	return nil
}

// Endpoint returns the URL that an HTTP transport connects to: URL when it
// is set, otherwise one built from Hostname and Port, such as
// http://crm.internal:8080/mcp for streamable-http and
// http://crm.internal:8080/sse for sse, the paths that MCP servers
// conventionally serve. It returns "" for the stdio transport and for an
// entry without URL or Hostname.
func (m *MCP) Endpoint() string {
	if m.Transport == MCPStdio {
		return ""
	}
	if m.URL != "" {
		return m.URL
	}
	if m.Hostname == "" {
		return ""
	}
	host := m.Hostname
	if m.Port != 0 {
		host = net.JoinHostPort(host, strconv.Itoa(m.Port))
	} else if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		host = "[" + host + "]"
	}
	path := "/mcp"
	if m.Transport == MCPSSE {
		path = "/sse"
	}
	return "http://" + host + path
}

// Allows reports whether the agent may use the server's tool name (without
// the namespace): always when Tools is empty, else when Tools lists it.
func (m *MCP) Allows(name string) bool {
	if len(m.Tools) == 0 {
		return true
	}
	for _, t := range m.Tools {
		if t == name {
			return true
		}
	}
	return false
}

// applyDefaults fills Transport and Timeout when they are unset. It leaves
// URL empty when Hostname is set, so that the entry still has exactly one
// of the two; [MCP.Endpoint] builds the URL.
func (m *MCP) applyDefaults() {
	if m.Transport == "" {
		m.Transport = MCPStreamableHTTP
	}
	if m.Timeout == 0 {
		m.Timeout = Duration(DefaultMCPTimeout)
	}
}
