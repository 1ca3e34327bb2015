package manifest

import (
	"fmt"
	"strconv"
	"strings"
)

// routineWarnings returns warnings about conversational routines that
// load but cannot work as written. A routine without conditions never
// starts, and a node that no transition reaches from the entry never
// runs. A cycle made only of route nodes exits the routine once a turn
// comes around it.
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
		for _, cycle := range routeCycles(r) {
			v.Message = fmt.Sprintf("route nodes %s of routine %q form a cycle with no chat or tool node, so a turn that comes around it exits the routine; "+
				"add a chat or tool node to the cycle or a transition out of it", quoteAll(cycle), r.ID)
			out = append(out, v.String())
		}
	}
	return out
}

// routeCycles returns, in manifest order, each group of r's route nodes
// whose transitions lead from every node of the group back to itself
// through route nodes alone.
func routeCycles(r Routine) [][]string {
	route := map[string]bool{}
	for i := range r.Nodes {
		if r.Nodes[i].Kind() == NodeRoute {
			route[r.Nodes[i].ID] = true
		}
	}
	reach := map[string]map[string]bool{}
	for id := range route {
		reach[id] = routeReach(r, route, id)
	}
	grouped := map[string]bool{}
	var out [][]string
	for _, n := range r.Nodes {
		if !route[n.ID] || grouped[n.ID] || !reach[n.ID][n.ID] {
			continue
		}
		var cycle []string
		for _, m := range r.Nodes {
			if route[m.ID] && reach[n.ID][m.ID] && reach[m.ID][n.ID] {
				cycle = append(cycle, m.ID)
				grouped[m.ID] = true
			}
		}
		out = append(out, cycle)
	}
	return out
}

// routeReach returns the route nodes that a chain of one or more
// transitions from node from reaches through route nodes alone.
func routeReach(r Routine, route map[string]bool, from string) map[string]bool {
	reached := map[string]bool{}
	queue := []string{from}
	for len(queue) > 0 {
		n := r.Node(queue[0])
		queue = queue[1:]
		if n == nil {
			continue
		}
		for _, tr := range n.Transitions {
			if route[tr.To] && !reached[tr.To] {
				reached[tr.To] = true
				queue = append(queue, tr.To)
			}
		}
	}
	return reached
}

// quoteAll renders ids as "a", "b".
func quoteAll(ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = strconv.Quote(id)
	}
	return strings.Join(quoted, ", ")
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
