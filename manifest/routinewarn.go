package manifest

import (
	"fmt"
	"strconv"
)

// routineWarnings returns warnings about conversational routines that
// load but cannot work as written: one without conditions never starts,
// and a node that no transition reaches from the entry never runs.
// Routines read from files are named by their index, with the file.
func routineWarnings(m *Manifest, t *tree) []string {
	var out []string
	for i, r := range m.AgentConfig.Context.Routines {
		if r.Autonomous != nil {
			continue
		}
		ptr := "/agent_config/context/routines/" + strconv.Itoa(i)
		v := Violation{Path: t.path(ptr), Line: t.line(ptr), File: r.File}
		if v.Path == "" {
			v.Path = fmt.Sprintf("agent_config.context.routines[%d]", i)
		}
		if len(r.Conditions) == 0 {
			v.Message = fmt.Sprintf("routine %q has no conditions, so it never starts in a conversation; add conditions", r.ID)
			out = append(out, v.String())
		}
		for _, id := range unreachableNodes(r) {
			v.Message = fmt.Sprintf("node %q of routine %q is not reached from the entry %q by any transition, so it never runs", id, r.ID, r.Entry)
			out = append(out, v.String())
		}
	}
	return out
}

// unreachableNodes returns, in manifest order, the ids of r's nodes that
// no chain of transitions from r.Entry reaches.
func unreachableNodes(r Routine) []string {
	reached := map[string]bool{r.Entry: true}
	queue := []string{r.Entry}
	for len(queue) > 0 {
		n := r.Node(queue[0])
		queue = queue[1:]
		if n == nil {
			continue
		}
		for _, tr := range n.Transitions {
			if !reached[tr.To] {
				reached[tr.To] = true
				queue = append(queue, tr.To)
			}
		}
	}
	var out []string
	for _, n := range r.Nodes {
		if !reached[n.ID] {
			out = append(out, n.ID)
		}
	}
	return out
}
