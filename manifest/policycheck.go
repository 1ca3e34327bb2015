package manifest

import (
	"regexp"
	"strconv"
	"strings"
)

// policies checks context.policies: unique ids, non-blank texts and tool
// references. It returns the pointer of each policy id, by id.
func (c *checker) policies() map[string]string {
	v, ptr, _ := c.t.lookup("agent_config", "context", "policies")
	list, _ := v.([]any)
	ids := map[string]string{} // policy id → pointer of its first use
	for i, item := range list {
		itemPtr := ptr + "/" + strconv.Itoa(i)
		switch p := item.(type) {
		case string:
			// A policy file that failed to load; already reported.
		case map[string]any:
			if id, ok := p["id"].(string); ok {
				if prev, dup := ids[id]; dup {
					c.report(itemPtr+"/id", "duplicate policy id %q (first declared at %s)", id, c.where(prev))
				} else {
					ids[id] = itemPtr + "/id"
				}
			}
			for _, key := range []string{"name", "condition", "action"} {
				c.nonBlankAt(itemPtr + "/" + key)
			}
			tools, _ := p["tools"].([]any)
			for k, t := range tools {
				if ref, ok := t.(string); ok {
					c.policyToolRef(itemPtr+"/tools/"+strconv.Itoa(k), ref)
				}
			}
		default:
			if file, ok := c.t.policyFiles[i]; ok {
				c.report(itemPtr, "the policy file %s must hold one policy: a mapping with id, condition and action", file)
				continue
			}
			c.report(itemPtr, "must be a policy (a mapping) or the path of a YAML file that holds one")
		}
	}
	return ids
}

// policyIDPattern is the pattern of a policy id in the manifest schema.
var policyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// validPolicyIDs returns the sorted keys of ids that are valid policy
// ids, so a suggestion never names an id that is itself reported.
func validPolicyIDs(ids map[string]string) []string {
	var valid []string
	for _, id := range sortedKeys(ids) {
		if policyIDPattern.MatchString(id) {
			valid = append(valid, id)
		}
	}
	return valid
}

// policyToolRef checks one tool reference of a policy. Of the built-in
// tools, a policy may offer only built-in:handoff.
func (c *checker) policyToolRef(ptr, ref string) {
	if ref == HandoffTool {
		return
	}
	if ns, _, _ := strings.Cut(ref, ":"); ns == BuiltinNamespace {
		c.report(ptr, "unknown built-in tool %q for a policy: the only built-in tool a policy may offer is %s", ref, HandoffTool)
		return
	}
	c.toolRef(ptr, ref, false)
}

// relationshipEdge is one priority (higher → over) or entailment (source
// → target) between two declared policies, with the pointer of its list
// entry.
type relationshipEdge struct {
	from, to, ptr string
}

// relationships checks context.relationships against the declared policy
// ids: every id names a policy, each priority sets exactly one of over
// and over_all_routines, and neither priorities nor entailments form a
// cycle.
func (c *checker) relationships(ids map[string]string) {
	v, ptr, _ := c.t.lookup("agent_config", "context", "relationships")
	rel, _ := v.(map[string]any)
	if rel == nil {
		return
	}
	known := func(idPtr string) (string, bool) {
		val, _ := c.t.valueAt(idPtr)
		id, ok := val.(string)
		if !ok {
			return "", false
		}
		if _, found := ids[id]; !found {
			if len(ids) == 0 {
				c.report(idPtr, "no policy with id %q: context.policies declares none", id)
			} else if valid := validPolicyIDs(ids); len(valid) == 0 {
				c.report(idPtr, "no policy with id %q: context.policies declares no valid id; fix the policy ids first", id)
			} else {
				c.report(idPtr, "no policy with id %q; use one of: %s", id, strings.Join(valid, ", "))
			}
			return "", false
		}
		return id, true
	}

	var priorities []relationshipEdge
	list, _ := rel["priorities"].([]any)
	for i, item := range list {
		pr, ok := item.(map[string]any)
		if !ok {
			continue
		}
		prPtr := ptr + "/priorities/" + strconv.Itoa(i)
		higher, higherOK := known(prPtr + "/higher")
		_, hasOver := pr["over"]
		all, hasAll := pr["over_all_routines"]
		switch {
		case hasOver && hasAll:
			c.report(prPtr, "set exactly one of over and over_all_routines, not both")
			continue
		case hasAll && all != true:
			c.report(prPtr+"/over_all_routines", "must be true; to rank the policy over another policy, set over instead")
			continue
		case !hasOver && !hasAll:
			c.report(prPtr, "set over (a policy id) or over_all_routines: true")
			continue
		case hasAll:
			continue
		}
		over, overOK := known(prPtr + "/over")
		switch {
		case !higherOK || !overOK:
		case higher == over:
			c.report(prPtr+"/over", "names the same policy as higher; a policy cannot rank over itself")
		default:
			priorities = append(priorities, relationshipEdge{from: higher, to: over, ptr: prPtr})
		}
	}

	var entailments []relationshipEdge
	list, _ = rel["entailments"].([]any)
	for i, item := range list {
		if _, ok := item.(map[string]any); !ok {
			continue
		}
		enPtr := ptr + "/entailments/" + strconv.Itoa(i)
		source, sourceOK := known(enPtr + "/source")
		target, targetOK := known(enPtr + "/target")
		switch {
		case !sourceOK || !targetOK:
		case source == target:
			c.report(enPtr+"/target", "names the same policy as source; a policy cannot entail itself")
		default:
			entailments = append(entailments, relationshipEdge{from: source, to: target, ptr: enPtr})
		}
	}

	c.cycles(priorities, "priorities", " over ")
	c.cycles(entailments, "entailments", " entails ")
}

// cycles reports each cycle of edges once, at the entry that closes it,
// naming the policies in order, joined by link.
func (c *checker) cycles(edges []relationshipEdge, what, link string) {
	next := map[string][]relationshipEdge{}
	var order []string
	for _, e := range edges {
		if _, seen := next[e.from]; !seen {
			order = append(order, e.from)
		}
		next[e.from] = append(next[e.from], e)
	}
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(id string)
	visit = func(id string) {
		state[id] = onPath
		path = append(path, id)
		for _, e := range next[id] {
			switch state[e.to] {
			case unvisited:
				visit(e.to)
			case onPath:
				start := len(path) - 1
				for path[start] != e.to {
					start--
				}
				loop := append(append([]string(nil), path[start:]...), e.to)
				c.report(e.ptr, "the %s form a cycle: %s; remove one of its entries", what, strings.Join(loop, link))
			}
		}
		path = path[:len(path)-1]
		state[id] = done
	}
	for _, id := range order {
		if state[id] == unvisited {
			visit(id)
		}
	}
}
