package manifest

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// namespacePattern is the form of the part of a tool reference before the
// ':': an MCP server's id, a native tool set or "built-in".
var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// routines checks context.routines: unique ids, then each routine's graph,
// tools and autonomous block.
func (c *checker) routines() {
	v, ptr, _ := c.t.lookup("agent_config", "context", "routines")
	list, _ := v.([]any)
	firstID := map[string]string{} // routine id → pointer of its first use
	for i, item := range list {
		itemPtr := ptr + "/" + strconv.Itoa(i)
		switch r := item.(type) {
		case string:
			// A routine file that failed to load; already reported.
		case map[string]any:
			if id, ok := r["id"].(string); ok {
				if prev, dup := firstID[id]; dup {
					c.report(itemPtr+"/id", "duplicate routine id %q (first declared at %s)", id, c.where(prev))
				} else {
					firstID[id] = itemPtr + "/id"
				}
			}
			c.routine(itemPtr, r)
		default:
			if file, ok := c.t.routineFiles[i]; ok {
				c.report(itemPtr, "the routine file %s must hold one routine: a mapping with id, entry and nodes", file)
				continue
			}
			c.report(itemPtr, "must be a routine (a mapping) or the path of a YAML file that holds one")
		}
	}
}

// where formats the source position of the value at ptr for messages,
// such as "agent_config.context.routines[0].id, line 4". The position
// names the routine file when the value came from one.
func (c *checker) where(ptr string) string {
	path := c.t.path(ptr)
	s := path + ", "
	if file := c.p.fileOf(path); file != "" {
		s += file + " "
	}
	return s + "line " + strconv.Itoa(c.t.line(ptr))
}

// routine checks one routine object at ptr.
func (c *checker) routine(ptr string, r map[string]any) {
	auto, isAuto := r["autonomous"].(map[string]any)
	nodes, _ := r["nodes"].([]any)

	ids := map[string]string{} // node id → pointer of its first use
	for j, item := range nodes {
		n, _ := item.(map[string]any)
		id, ok := n["id"].(string)
		if !ok {
			continue
		}
		idPtr := ptr + "/nodes/" + strconv.Itoa(j) + "/id"
		if prev, dup := ids[id]; dup {
			c.report(idPtr, "duplicate node id %q in this routine (first declared at %s)", id, c.where(prev))
			continue
		}
		ids[id] = idPtr
	}

	if entry, ok := r["entry"].(string); ok {
		if _, found := ids[entry]; !found && len(nodes) > 0 {
			c.report(ptr+"/entry", "no node with id %q in this routine; entry must name one of: %s", entry, strings.Join(sortedKeys(ids), ", "))
		}
	}
	if conds, ok := r["conditions"].([]any); ok {
		for k := range conds {
			c.nonBlankAt(ptr + "/conditions/" + strconv.Itoa(k))
		}
	}
	if list, ok := r["nodes"].([]any); ok && len(list) == 0 {
		c.report(ptr+"/nodes", "must list at least one node")
	}
	for j, item := range nodes {
		if n, ok := item.(map[string]any); ok {
			c.node(ptr+"/nodes/"+strconv.Itoa(j), n, ids, isAuto)
		}
	}
	if isAuto {
		c.autonomous(ptr+"/autonomous", auto)
	}
}

// node checks one node object: its kind, its tools, its output schema and
// its transitions.
func (c *checker) node(ptr string, n map[string]any, ids map[string]string, autonomous bool) {
	has := func(key string) bool { _, ok := n[key]; return ok }
	var kinds []string
	if has("chat_state") {
		kinds = append(kinds, "chat (chat_state)")
	}
	if has("tools") || has("tool_instruction") {
		kinds = append(kinds, "tool (tools, tool_instruction)")
	}
	if has("think") || has("output_schema") {
		kinds = append(kinds, "think (think, output_schema)")
	}
	transitions, listed := n["transitions"].([]any)
	terminal := len(transitions) == 0 && (listed || !has("transitions"))

	switch {
	case len(kinds) > 1:
		c.report(ptr, "mixes the node kinds %s; a node has exactly one kind", strings.Join(kinds, " and "))
	case len(kinds) == 0 && len(transitions) == 0:
		c.report(ptr, "has no kind: set chat_state (chat), tools (tool), think and output_schema (think, autonomous routines only), or only transitions (route)")
	case has("chat_state"):
		c.nonBlankAt(ptr + "/chat_state")
	case has("tools") || has("tool_instruction"):
		c.toolNode(ptr, n, autonomous)
	case has("think") || has("output_schema"):
		c.thinkNode(ptr, n, autonomous)
	}
	c.transitions(ptr, transitions, ids)

	if autonomous && terminal && !listsTool(n["tools"], EmitOutputTool) {
		c.report(ptr, "ends the autonomous routine (it has no transitions), so it must be a tool node whose tools include %s", EmitOutputTool)
	}
}

// listsTool reports whether tools is a list that contains name.
func listsTool(tools any, name string) bool {
	list, _ := tools.([]any)
	for _, t := range list {
		if t == name {
			return true
		}
	}
	return false
}

// nonBlankAt rejects an empty or whitespace-only string at ptr.
func (c *checker) nonBlankAt(ptr string) {
	if v, ok := c.t.valueAt(ptr); ok {
		if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
			c.report(ptr, "must not be empty or only whitespace")
		}
	}
}

// toolNode checks the tools of a tool node.
func (c *checker) toolNode(ptr string, n map[string]any, autonomous bool) {
	tools, hasTools := n["tools"]
	if !hasTools {
		c.report(ptr+"/tool_instruction", "tool_instruction needs tools: list the tools the node calls")
		return
	}
	c.nonBlankAt(ptr + "/tool_instruction")
	list, ok := tools.([]any)
	if !ok {
		return
	}
	if len(list) == 0 {
		c.report(ptr+"/tools", "must list at least one tool")
	}
	for k, item := range list {
		if name, ok := item.(string); ok {
			c.toolRef(ptr+"/tools/"+strconv.Itoa(k), name, autonomous)
		}
	}
}

// toolRef checks one "namespace:name" reference. Only the built-in
// namespace is resolved here; see [Manifest.ToolReferences].
func (c *checker) toolRef(ptr, ref string, autonomous bool) {
	ns, name, ok := strings.Cut(ref, ":")
	if !ok || !namespacePattern.MatchString(ns) || name == "" || strings.ContainsFunc(name, isSpaceOrControl) {
		c.report(ptr, "must be namespace:name, such as %s or an MCP server's id and a tool name (crm:find_customer)", EmitOutputTool)
		return
	}
	if ns != BuiltinNamespace {
		return
	}
	switch {
	case ref != EmitOutputTool && !autonomous:
		c.report(ptr, "%s cannot run on a routine tool node: the only built-in tool of a routine is %s, for autonomous routines; offer %s through context.handoff or a policy's tools", ref, EmitOutputTool, HandoffTool)
	case ref != EmitOutputTool:
		c.report(ptr, "unknown built-in tool %q on a routine tool node: the only built-in tool of a routine is %s", ref, EmitOutputTool)
	case !autonomous:
		c.report(ptr, "%s ends autonomous runs; a conversational routine (without an autonomous block) cannot use it", EmitOutputTool)
	}
}

func isSpaceOrControl(r rune) bool {
	return r <= ' ' || r == 0x7f
}

// thinkNode checks a think node: autonomous routines only, with a
// non-blank instruction and a valid output schema.
func (c *checker) thinkNode(ptr string, n map[string]any, autonomous bool) {
	if !autonomous {
		key := "think"
		if _, ok := n[key]; !ok {
			key = "output_schema"
		}
		c.report(ptr+"/"+key, "think nodes run only in autonomous routines; add an autonomous block to the routine, or use a chat or tool node")
		return
	}
	if _, ok := n["think"]; !ok {
		c.report(ptr, "missing required key %q: a think node needs its instruction as well as output_schema", "think")
	}
	if _, ok := n["output_schema"]; !ok {
		c.report(ptr, "missing required key %q: a think node needs the JSON Schema of its answer", "output_schema")
	}
	c.nonBlankAt(ptr + "/think")
	c.jsonSchema(ptr+"/output_schema", n["output_schema"])
}

// transitions checks that every target exists and that at most one
// transition has no condition.
func (c *checker) transitions(ptr string, list []any, ids map[string]string) {
	firstAlways := ""
	for i, item := range list {
		tr, _ := item.(map[string]any)
		trPtr := ptr + "/transitions/" + strconv.Itoa(i)
		if to, ok := tr["to"].(string); ok {
			if _, found := ids[to]; !found {
				c.report(trPtr+"/to", "no node with id %q in this routine", to)
			}
		}
		cond, hasCond := tr["condition"]
		if s, ok := cond.(string); ok && strings.TrimSpace(s) == "" {
			c.report(trPtr+"/condition", "must not be empty or only whitespace; remove it for a transition that always applies")
			continue
		}
		if hasCond || tr == nil {
			continue
		}
		if firstAlways != "" {
			c.report(trPtr, "a second transition without a condition (the first is at %s); give all but one a condition", c.where(firstAlways))
			continue
		}
		firstAlways = trPtr
	}
}

// autonomous checks an autonomous block: its schemas and callback URL.
func (c *checker) autonomous(ptr string, a map[string]any) {
	c.jsonSchema(ptr+"/input_schema", a["input_schema"])
	c.jsonSchema(ptr+"/output_schema", a["output_schema"])

	list, _ := a["callback_url_allowlist"].([]any)
	for i, item := range list {
		if s, ok := item.(string); ok {
			if err := checkHostPattern(s, true); err != nil {
				c.report(ptr+"/callback_url_allowlist/"+strconv.Itoa(i), "%v", err)
			}
		}
	}
	if raw, ok := a["callback_url"].(string); ok {
		c.callbackURL(ptr+"/callback_url", raw, a, "callback_url_allowlist")
	}
}

// callbackURL checks a callback URL at ptr against the allowlist of the
// autonomous block a, which messages call listName. An allowlist with an
// invalid entry is reported on its own and not matched against.
func (c *checker) callbackURL(ptr, raw string, a map[string]any, listName string) {
	u, err := checkHTTPURL(raw)
	if err != nil {
		c.report(ptr, "%v", err)
		return
	}
	allow, valid := callbackAllowlist(a)
	if valid && len(allow) > 0 && !MatchHost(allow, u.Hostname()) {
		c.report(ptr, "host %q is not in %s", u.Hostname(), listName)
	}
}

// callbackAllowlist returns the callback_url_allowlist of the autonomous
// block a, and false when an entry is not a valid host pattern.
func callbackAllowlist(a map[string]any) ([]string, bool) {
	list, _ := a["callback_url_allowlist"].([]any)
	allow := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok || checkHostPattern(s, true) != nil {
			return nil, false
		}
		allow = append(allow, s)
	}
	return allow, true
}

// jsonSchema reports a mapping at ptr that does not compile as JSON
// Schema draft 2020-12. Other types are left to the schema check.
func (c *checker) jsonSchema(ptr string, v any) {
	if _, ok := v.(map[string]any); !ok {
		return
	}
	raw, err := json.Marshal(v)
	if err != nil {
		c.report(ptr, "cannot encode the schema as JSON: %v", err)
		return
	}
	if _, err := CompileJSONSchema(raw); err != nil {
		c.report(ptr, "%v", err)
	}
}
