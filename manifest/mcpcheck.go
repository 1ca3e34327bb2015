package manifest

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// mcpToolPattern is the alphabet of the part of a tool name after the
// namespace, which the tool registry also requires.
var mcpToolPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Keys of an mcps[] entry that only some transports read.
var (
	httpOnlyKeys  = []string{"api_key", "headers"}
	stdioOnlyKeys = []string{"command", "args", "env"}
)

// mcps checks agent_config.mcps: unique ids, each entry, and the routine
// tool references into servers that have a tools allow-list.
func (c *checker) mcps() {
	v, ptr, _ := c.t.lookup("agent_config", "mcps")
	list, _ := v.([]any)
	firstID := map[string]string{} // MCP id → pointer of its first use
	allowLists := map[string]mcpAllowList{}
	for i, item := range list {
		entry, ok := item.(map[string]any)
		if !ok {
			continue
		}
		itemPtr := ptr + "/" + strconv.Itoa(i)
		tools, hasTools := c.mcpTools(itemPtr+"/tools", entry["tools"])
		id, hasID := entry["id"].(string)
		switch {
		case !hasID:
		case id == BuiltinNamespace:
			c.report(itemPtr+"/id", "%q is reserved for agentry's own tools; choose another id", id)
		default:
			if prev, dup := firstID[id]; dup {
				c.report(itemPtr+"/id", "duplicate MCP server id %q (first declared at %s)", id, c.where(prev))
				break
			}
			firstID[id] = itemPtr + "/id"
			if hasTools && len(tools) > 0 {
				allowLists[id] = mcpAllowList{ptr: itemPtr + "/tools", names: tools}
			}
		}
		c.mcp(itemPtr, entry)
		c.mcpTimeout(itemPtr+"/timeout", entry["timeout"])
	}
	if len(allowLists) > 0 {
		c.mcpToolRefs(allowLists)
	}
}

// mcpAllowList is the tools list of one MCP server.
type mcpAllowList struct {
	ptr   string
	names map[string]bool
}

// mcp checks the keys of one mcps[] entry that depend on its transport.
func (c *checker) mcp(ptr string, entry map[string]any) {
	transport := MCPStreamableHTTP
	if t, ok := entry["transport"]; ok {
		transport, _ = t.(string)
	}
	has := func(key string) bool { _, ok := entry[key]; return ok }

	switch transport {
	case MCPStdio:
		for _, key := range []string{"url", "hostname", "port"} {
			if has(key) {
				c.report(ptr+"/"+key, "transport stdio starts the server with command, so it takes no %s; remove it, or set transport to streamable-http or sse", key)
			}
		}
		for _, key := range httpOnlyKeys {
			if has(key) {
				c.report(ptr+"/"+key, "applies only to the HTTP transports (streamable-http, sse); pass credentials to a stdio server in env")
			}
		}
		if !has("command") {
			c.report(ptr, "transport stdio needs command: the program that runs the server")
		}
		c.nonBlankAt(ptr + "/command")
		c.mcpEnv(ptr+"/env", entry["env"])
	case MCPStreamableHTTP, MCPSSE:
		for _, key := range stdioOnlyKeys {
			if has(key) {
				c.report(ptr+"/"+key, "applies only to transport stdio; remove it, or set transport: stdio")
			}
		}
		c.mcpEndpoint(ptr, entry, has)
		c.mcpCredentials(ptr, entry)
	}
	// The schema reports an unknown transport.
}

// mcpEndpoint checks that an HTTP entry sets exactly one of url and
// hostname, with port only beside hostname.
func (c *checker) mcpEndpoint(ptr string, entry map[string]any, has func(string) bool) {
	switch {
	case has("url") && has("hostname"):
		c.report(ptr+"/hostname", "set either url or hostname (with port), not both")
	case !has("url") && !has("hostname"):
		c.report(ptr, "set url, such as https://crm.example.com/mcp, or hostname and port")
	}
	switch {
	case has("port") && !has("hostname"):
		c.report(ptr+"/port", "applies only with hostname; put the port in url instead")
	case has("hostname") && !has("url") && !has("port"):
		c.report(ptr, "hostname needs port: set the port the server listens on, or use url")
	}
	if s, ok := entry["url"].(string); ok {
		if _, err := checkHTTPURL(s); err != nil {
			c.report(ptr+"/url", "%v", err)
		}
	}
	if s, ok := entry["hostname"].(string); ok {
		if err := checkHostPattern(s, false); err != nil {
			c.report(ptr+"/hostname", "%v", err)
		}
	}
}

// mcpCredentials checks api_key and headers of an HTTP entry. Messages
// never show a value, because values often hold secrets.
func (c *checker) mcpCredentials(ptr string, entry map[string]any) {
	key, hasKey := entry["api_key"].(string)
	switch {
	case hasKey && strings.TrimSpace(key) == "":
		c.report(ptr+"/api_key", "must not be empty or only whitespace")
	case hasKey && strings.ContainsFunc(key, isControl):
		c.report(ptr+"/api_key", "must not contain control characters such as line breaks")
	}
	headers, _ := entry["headers"].(map[string]any)
	for _, name := range sortedKeys(headers) {
		hPtr := ptr + "/headers/" + escapePointer(name)
		if !validHeaderName(name) {
			c.report(hPtr, "%q is not a valid HTTP header name: use letters, digits and any of !#$%%&'*+-.^_`|~, without spaces or ':'", name)
			continue
		}
		if hasKey && http.CanonicalHeaderKey(name) == "Authorization" {
			c.report(hPtr, "api_key already sets the Authorization header; remove one of the two")
		}
		if s, ok := headers[name].(string); ok && strings.ContainsFunc(s, isHeaderControl) {
			c.report(hPtr, "must not contain control characters such as line breaks")
		}
	}
}

// isHeaderControl reports a control character that a header value may
// not contain: any but the tab (RFC 9110, section 5.5).
func isHeaderControl(r rune) bool { return isControl(r) && r != '\t' }

// mcpEnv checks the variable names of a stdio entry's env.
func (c *checker) mcpEnv(ptr string, v any) {
	env, _ := v.(map[string]any)
	for _, name := range sortedKeys(env) {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			c.report(ptr+"/"+escapePointer(name), "%q is not a valid environment variable name: it must be non-empty and contain neither '=' nor NUL", name)
		}
	}
}

// mcpTools checks a tools allow-list and returns its names, and false
// when it is absent or not a list.
func (c *checker) mcpTools(ptr string, v any) (map[string]bool, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	if len(list) == 0 {
		c.report(ptr, "must list at least one tool; remove tools to allow every tool of the server")
	}
	first := map[string]string{} // tool name → pointer of its first use
	names := map[string]bool{}
	for i, item := range list {
		name, ok := item.(string)
		if !ok {
			continue
		}
		itemPtr := ptr + "/" + strconv.Itoa(i)
		names[name] = true
		switch {
		case strings.Contains(name, ":"):
			c.report(itemPtr, "must be a tool name without the namespace, such as %q", name[strings.LastIndex(name, ":")+1:])
		case !mcpToolPattern.MatchString(name):
			c.report(itemPtr, "must be a tool name of 1 to 64 letters, digits, '_', '.' and '-'")
		default:
			if prev, dup := first[name]; dup {
				c.report(itemPtr, "duplicate tool %q (first listed at %s)", name, c.where(prev))
				continue
			}
			first[name] = itemPtr
		}
	}
	return names, true
}

// mcpTimeout checks the bounds of an entry's timeout. The schema checks
// the duration syntax.
func (c *checker) mcpTimeout(ptr string, v any) {
	s, ok := v.(string)
	if !ok {
		return
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
	case d <= 0:
		c.report(ptr, "must be more than 0; remove it for the default %s", shortDuration(DefaultMCPTimeout))
	case d > MaxMCPTimeout:
		c.report(ptr, "must be at most %s", shortDuration(MaxMCPTimeout))
	}
}

// mcpToolRefs reports routine and policy tool references into an MCP
// server whose tools allow-list does not name the tool. References into
// other namespaces are left to the server, which knows the native tools
// and what each MCP server offers.
func (c *checker) mcpToolRefs(allowLists map[string]mcpAllowList) {
	check := func(refPtr string, item any) {
		ref, _ := item.(string)
		ns, name, found := strings.Cut(ref, ":")
		allow, isMCP := allowLists[ns]
		if !found || !isMCP || allow.names[name] {
			return
		}
		listed := make([]string, 0, len(allow.names))
		for t := range allow.names {
			listed = append(listed, t)
		}
		sort.Strings(listed)
		c.report(refPtr, "MCP server %q allows only the tools %s (%s); add %q there or use an allowed tool",
			ns, strings.Join(listed, ", "), c.where(allow.ptr), name)
	}
	v, ptr, _ := c.t.lookup("agent_config", "context", "routines")
	routines, _ := v.([]any)
	for i, r := range routines {
		routine, _ := r.(map[string]any)
		nodes, _ := routine["nodes"].([]any)
		for j, n := range nodes {
			node, _ := n.(map[string]any)
			tools, _ := node["tools"].([]any)
			for k, item := range tools {
				check(ptr+"/"+strconv.Itoa(i)+"/nodes/"+strconv.Itoa(j)+"/tools/"+strconv.Itoa(k), item)
			}
		}
	}
	v, ptr, _ = c.t.lookup("agent_config", "context", "policies")
	policies, _ := v.([]any)
	for i, p := range policies {
		policy, _ := p.(map[string]any)
		tools, _ := policy["tools"].([]any)
		for k, item := range tools {
			check(ptr+"/"+strconv.Itoa(i)+"/tools/"+strconv.Itoa(k), item)
		}
	}
}
