package manifest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// mcpsYAML is validYAML with the given mcps list. The first entry starts
// on line 9.
func mcpsYAML(entries string) string {
	return validYAML + "  mcps:\n" + entries
}

func TestParseMCPs(t *testing.T) {
	src := mcpsYAML(`    - id: crm
      url: https://crm.example.com/mcp
      api_key: ${CRM_KEY}
      headers: {X-Tenant: acme}
      tools: [find_customer, create_ticket]
      timeout: 10s
    - id: files
      transport: stdio
      command: mcp-files
      args: [--root, /srv/files]
      env: {LOG_LEVEL: debug}
    - id: local_search
      hostname: 127.0.0.1
      port: 8931
    - id: events
      transport: sse
      hostname: events.internal
      port: 80
`)
	m := parseOK(t, src, env(map[string]string{"CRM_KEY": "k-123"}))
	want := []MCP{
		{ID: "crm", URL: "https://crm.example.com/mcp", Transport: MCPStreamableHTTP, APIKey: "k-123",
			Headers: map[string]string{"X-Tenant": "acme"}, Tools: []string{"find_customer", "create_ticket"},
			Timeout: Duration(10 * time.Second)},
		{ID: "files", Transport: MCPStdio, Command: "mcp-files", Args: []string{"--root", "/srv/files"},
			Env: map[string]string{"LOG_LEVEL": "debug"}, Timeout: Duration(DefaultMCPTimeout)},
		{ID: "local_search", Hostname: "127.0.0.1", Port: 8931, Transport: MCPStreamableHTTP,
			Timeout: Duration(DefaultMCPTimeout)},
		{ID: "events", Hostname: "events.internal", Port: 80, Transport: MCPSSE, Timeout: Duration(DefaultMCPTimeout)},
	}
	got := m.AgentConfig.MCPs
	if len(got) != len(want) {
		t.Fatalf("got %d MCP servers, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("mcps[%d]:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	endpoints := []string{"https://crm.example.com/mcp", "", "http://127.0.0.1:8931/mcp", "http://events.internal:80/sse"}
	for i, e := range endpoints {
		if got := m.AgentConfig.MCPs[i].Endpoint(); got != e {
			t.Errorf("mcps[%d].Endpoint() = %q, want %q", i, got, e)
		}
	}
}

func TestMCPEndpoint(t *testing.T) {
	cases := []struct {
		name string
		mcp  MCP
		want string
	}{
		{"url wins", MCP{URL: "https://a.example/x", Hostname: "b"}, "https://a.example/x"},
		{"unset transport", MCP{Hostname: "crm.internal", Port: 8080}, "http://crm.internal:8080/mcp"},
		{"sse", MCP{Transport: MCPSSE, Hostname: "crm.internal", Port: 8080}, "http://crm.internal:8080/sse"},
		{"ipv6 with port", MCP{Hostname: "::1", Port: 9000}, "http://[::1]:9000/mcp"},
		{"ipv6 without port", MCP{Hostname: "::1"}, "http://[::1]/mcp"},
		{"stdio", MCP{Transport: MCPStdio, Command: "srv", Hostname: "x"}, ""},
		{"nothing", MCP{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.mcp.Endpoint(); got != c.want {
				t.Errorf("Endpoint() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestMCPAllows(t *testing.T) {
	open := MCP{ID: "crm"}
	if !open.Allows("anything") {
		t.Error("a server without tools list rejects a tool")
	}
	listed := MCP{ID: "crm", Tools: []string{"lookup"}}
	if !listed.Allows("lookup") {
		t.Error("Allows(lookup) = false for a listed tool")
	}
	if listed.Allows("delete") {
		t.Error("Allows(delete) = true for an unlisted tool")
	}
}

func TestManifestMCP(t *testing.T) {
	m := &Manifest{AgentConfig: AgentConfig{MCPs: []MCP{{ID: "a"}, {ID: "b"}}}}
	if got := m.MCP("b"); got == nil || got != &m.AgentConfig.MCPs[1] {
		t.Errorf("MCP(b) = %v, want the second entry", got)
	}
	if got := m.MCP("c"); got != nil {
		t.Errorf("MCP(c) = %v, want nil", got)
	}
}

func TestParseMCPsInvalid(t *testing.T) {
	const at = "agent_config.mcps[0]"
	cases := []struct {
		name, entry, path, msg string
	}{
		{"reserved id", "{id: built-in, url: \"http://127.0.0.1:1/mcp\"}", at + ".id", `"built-in" is reserved`},
		{"id pattern", "{id: \"crm:x\", url: \"http://127.0.0.1:1/mcp\"}", at + ".id", "must contain only letters, digits, '-' and '_'"},
		{"id too long", "{id: " + strings.Repeat("a", 65) + ", url: \"http://127.0.0.1:1/mcp\"}", at + ".id", "64"},
		{"missing id", "{url: \"http://127.0.0.1:1/mcp\"}", at, `missing required key "id"`},
		{"no endpoint", "{id: crm}", at, "set url, such as https://crm.example.com/mcp, or hostname and port"},
		{"url and hostname", "{id: crm, url: \"http://127.0.0.1:1/mcp\", hostname: crm.internal}", at + ".hostname", "not both"},
		{"port without hostname", "{id: crm, url: \"http://127.0.0.1:1/mcp\", port: 80}", at + ".port", "applies only with hostname"},
		{"relative url", "{id: crm, url: /mcp}", at + ".url", "absolute http or https URL"},
		{"ftp url", "{id: crm, url: \"ftp://crm.example.com/mcp\"}", at + ".url", "absolute http or https URL"},
		{"url with password", "{id: crm, url: \"https://u:p@crm.example.com/mcp\"}", at + ".url", "must not contain a user name or password"},
		{"hostname with scheme", "{id: crm, hostname: \"http://crm.internal\", port: 80}", at + ".hostname", "without a scheme"},
		{"hostname with port", "{id: crm, hostname: \"crm.internal:8080\", port: 80}", at + ".hostname", "without a port"},
		{"hostname without port", "{id: crm, hostname: crm.internal}", at, "hostname needs port"},
		{"port range", "{id: crm, hostname: crm.internal, port: 70000}", at + ".port", "65535"},
		{"command on http", "{id: crm, url: \"http://127.0.0.1:1/mcp\", command: srv}", at + ".command", "applies only to transport stdio"},
		{"args on http", "{id: crm, url: \"http://127.0.0.1:1/mcp\", args: [a]}", at + ".args", "applies only to transport stdio"},
		{"env on http", "{id: crm, url: \"http://127.0.0.1:1/mcp\", env: {A: b}}", at + ".env", "applies only to transport stdio"},
		{"stdio without command", "{id: fs, transport: stdio}", at, "transport stdio needs command"},
		{"stdio blank command", "{id: fs, transport: stdio, command: \" \"}", at + ".command", "must not be empty"},
		{"stdio url", "{id: fs, transport: stdio, command: srv, url: \"http://127.0.0.1:1/mcp\"}", at + ".url", "takes no url"},
		{"stdio hostname", "{id: fs, transport: stdio, command: srv, hostname: h}", at + ".hostname", "takes no hostname"},
		{"stdio port", "{id: fs, transport: stdio, command: srv, port: 1}", at + ".port", "takes no port"},
		{"stdio api_key", "{id: fs, transport: stdio, command: srv, api_key: k}", at + ".api_key", "applies only to the HTTP transports"},
		{"stdio headers", "{id: fs, transport: stdio, command: srv, headers: {X-A: b}}", at + ".headers", "applies only to the HTTP transports"},
		{"stdio env name", "{id: fs, transport: stdio, command: srv, env: {\"A=B\": c}}", at + ".env.A=B", "not a valid environment variable name"},
		{"unknown transport", "{id: crm, transport: websocket, url: \"http://127.0.0.1:1/mcp\"}", at + ".transport", "must be one of"},
		{"blank api_key", "{id: crm, url: \"http://127.0.0.1:1/mcp\", api_key: \" \"}", at + ".api_key", "must not be empty"},
		{"header name", "{id: crm, url: \"http://127.0.0.1:1/mcp\", headers: {\"X Tenant\": a}}", at + ".headers.X Tenant", "not a valid HTTP header name"},
		{"header value", "{id: crm, url: \"http://127.0.0.1:1/mcp\", headers: {X-Tenant: \"a\\r\\nX-Admin: 1\"}}", at + ".headers.X-Tenant", "control characters"},
		{"authorization twice", "{id: crm, url: \"http://127.0.0.1:1/mcp\", api_key: k, headers: {authorization: Bearer x}}", at + ".headers.authorization", "api_key already sets the Authorization header"},
		{"empty tools", "{id: crm, url: \"http://127.0.0.1:1/mcp\", tools: []}", at + ".tools", "must list at least one tool"},
		{"namespaced tool", "{id: crm, url: \"http://127.0.0.1:1/mcp\", tools: [\"crm:lookup\"]}", at + ".tools[0]", `without the namespace, such as "lookup"`},
		{"blank tool", "{id: crm, url: \"http://127.0.0.1:1/mcp\", tools: [\" \"]}", at + ".tools[0]", "must be a tool name of 1 to 64 letters"},
		{"tool with space", "{id: crm, url: \"http://127.0.0.1:1/mcp\", tools: [\"look up\"]}", at + ".tools[0]", "must be a tool name of 1 to 64 letters"},
		{"long tool", "{id: crm, url: \"http://127.0.0.1:1/mcp\", tools: [" + strings.Repeat("t", 65) + "]}", at + ".tools[0]", "must be a tool name of 1 to 64 letters"},
		{"api_key line break", "{id: crm, url: \"http://127.0.0.1:1/mcp\", api_key: \"k\\nX: y\"}", at + ".api_key", "control characters"},
		{"duplicate tool", "{id: crm, url: \"http://127.0.0.1:1/mcp\", tools: [a, b, a]}", at + ".tools[2]", `duplicate tool "a" (first listed at agent_config.mcps[0].tools[0], line 9)`},
		{"zero timeout", "{id: crm, url: \"http://127.0.0.1:1/mcp\", timeout: 0s}", at + ".timeout", "must be more than 0; remove it for the default 30s"},
		{"long timeout", "{id: crm, url: \"http://127.0.0.1:1/mcp\", timeout: 10m1s}", at + ".timeout", "must be at most 10m"},
		{"bad timeout", "{id: crm, url: \"http://127.0.0.1:1/mcp\", timeout: soon}", at + ".timeout", "Go duration"},
		{"unknown key", "{id: crm, url: \"http://127.0.0.1:1/mcp\", tool: [a]}", at + ".tool", "unknown key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantViolation(t, violations(t, mcpsYAML("    - "+c.entry+"\n")), c.path, 9, c.msg)
		})
	}
}

func TestParseMCPsDuplicateID(t *testing.T) {
	vs := violations(t, mcpsYAML(`    - {id: crm, url: "http://127.0.0.1:1/mcp"}
    - {id: files, transport: stdio, command: srv}
    - {id: crm, hostname: crm.internal, port: 80}
`))
	wantViolation(t, vs, "agent_config.mcps[2].id", 11, `duplicate MCP server id "crm" (first declared at agent_config.mcps[0].id, line 9)`)
	if len(vs) != 1 {
		t.Errorf("got %d violations, want 1:\n%s", len(vs), formatViolations(vs))
	}
}

func TestParseMCPsValidEdges(t *testing.T) {
	cases := []struct{ name, entry string }{
		{"max timeout", "{id: crm, url: \"http://127.0.0.1:1/mcp\", timeout: 10m}"},
		{"ipv6 hostname", "{id: crm, hostname: \"::1\", port: 9000}"},
		{"tab in header", "{id: crm, url: \"http://127.0.0.1:1/mcp\", headers: {X-A: \"a\\tb\"}}"},
		{"authorization without api_key", "{id: crm, url: \"http://127.0.0.1:1/mcp\", headers: {Authorization: Basic eDp5}}"},
		{"dotted tool", "{id: crm, url: \"http://127.0.0.1:1/mcp\", tools: [orders.get, find-customer]}"},
		{"stdio with everything", "{id: fs, transport: stdio, command: srv, args: [], env: {}, tools: [read], timeout: 1m}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parseOK(t, mcpsYAML("    - "+c.entry+"\n"))
		})
	}
}

func TestParseMCPToolReferences(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "routines/kyc.yaml", kycRoutine)
	// refund (inline) uses orders:get and orders:refund on line 20; kyc
	// (from the file) uses crm:find_customer on its line 18.
	src := routinesYAML(refundRoutine+"      - routines/kyc.yaml\n") + `  mcps:
    - {id: orders, url: "http://127.0.0.1:1/mcp", tools: [get]}
    - {id: crm, url: "http://127.0.0.1:2/mcp", tools: [lookup, create]}
`
	vs := violations(t, src, WithDir(dir))
	wantViolation(t, vs, "agent_config.context.routines[0].nodes[1].tools[1]", 20,
		`MCP server "orders" allows only the tools get (agent_config.mcps[0].tools, line 23); add "refund" there or use an allowed tool`)
	v := findViolation(t, vs, "agent_config.context.routines[1].nodes[0].tools[0]")
	if v.File != "routines/kyc.yaml" || v.Line != 18 {
		t.Errorf("crm:find_customer reported in %q line %d, want routines/kyc.yaml line 18", v.File, v.Line)
	}
	if !strings.Contains(v.Message, `MCP server "crm" allows only the tools create, lookup`) {
		t.Errorf("message %q", v.Message)
	}
	if len(vs) != 2 {
		t.Errorf("got %d violations, want 2:\n%s", len(vs), formatViolations(vs))
	}
}

func TestParseMCPToolReferencesOpen(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "routines/kyc.yaml", kycRoutine)
	// orders has no allow-list and crm allows find_customer; the server
	// resolves every other namespace.
	src := routinesYAML(refundRoutine+"      - routines/kyc.yaml\n") + `  mcps:
    - {id: orders, url: "http://127.0.0.1:1/mcp"}
    - {id: crm, url: "http://127.0.0.1:2/mcp", tools: [find_customer]}
`
	m := parseOK(t, src, WithDir(dir))
	if got := len(m.ToolReferences()); got != 3 {
		t.Errorf("ToolReferences has %d entries, want 3", got)
	}
}

func TestParseToolResultMaxBytes(t *testing.T) {
	m := parseOK(t, validYAML)
	if got := m.AgentConfig.Runtime.ToolResultMaxBytes; got != 64<<10 {
		t.Errorf("default = %d, want 64 KiB", got)
	}
	m = parseOK(t, runtimeYAML("    tool_result_max_bytes: 1024\n"))
	if got := m.AgentConfig.Runtime.ToolResultMaxBytes; got != 1024 {
		t.Errorf("tool_result_max_bytes = %d, want 1024", got)
	}
	cases := []struct{ name, value, msg string }{
		{"too small", "1023", "1024"},
		{"too large", "10485761", "10485760"},
		{"string", "big", "must be a whole number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vs := violations(t, runtimeYAML("    tool_result_max_bytes: "+c.value+"\n"))
			wantViolation(t, vs, "agent_config.runtime.tool_result_max_bytes", 6, c.msg)
		})
	}
}
