package manifest

import (
	"strconv"
	"strings"
)

// Macro is approved reply wording. A chat node that names the macro puts
// its text into the prompt while the conversation is at that node, so
// the model replies with that wording.
type Macro struct {
	// ID names the macro in a node's macros list: letters, digits, '-',
	// '_'.
	ID   string `json:"id" jsonschema:"pattern=^[A-Za-z0-9_-]+$"`
	Text string `json:"text"`
	// Description is when the wording fits, for authors and the model.
	Description string `json:"description,omitempty"`
}

// Macro returns the macro with the given id, or nil.
func (c *Context) Macro(id string) *Macro {
	for i := range c.Macros {
		if c.Macros[i].ID == id {
			return &c.Macros[i]
		}
	}
	return nil
}

// macros checks context.macros (unique ids, non-blank texts) and the
// macros lists of routine nodes: each entry names a declared macro, and
// only chat nodes list macros.
func (c *checker) macros() {
	v, ptr, _ := c.t.lookup("agent_config", "context", "macros")
	list, _ := v.([]any)
	ids := map[string]string{} // macro id → pointer of its first use
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		itemPtr := ptr + "/" + strconv.Itoa(i)
		c.nonBlankAt(itemPtr + "/text")
		c.nonBlankAt(itemPtr + "/description")
		id, ok := m["id"].(string)
		if !ok {
			continue
		}
		if prev, dup := ids[id]; dup {
			c.report(itemPtr+"/id", "duplicate macro id %q (first declared at %s)", id, c.where(prev))
			continue
		}
		ids[id] = itemPtr + "/id"
	}

	rv, rptr, _ := c.t.lookup("agent_config", "context", "routines")
	routines, _ := rv.([]any)
	for i, item := range routines {
		r, _ := item.(map[string]any)
		nodes, _ := r["nodes"].([]any)
		for j, nodeItem := range nodes {
			n, _ := nodeItem.(map[string]any)
			names, listed := n["macros"].([]any)
			if !listed {
				continue
			}
			nodePtr := rptr + "/" + strconv.Itoa(i) + "/nodes/" + strconv.Itoa(j)
			if _, chat := n["chat_state"]; !chat {
				c.report(nodePtr+"/macros", "only chat nodes use macros: add chat_state to the node, or remove macros")
				continue
			}
			for k, name := range names {
				id, ok := name.(string)
				if !ok {
					continue
				}
				if _, found := ids[id]; !found {
					c.report(nodePtr+"/macros/"+strconv.Itoa(k), "no macro with id %q: declare it under context.macros%s", id, declaredList(ids))
				}
			}
		}
	}
}

// declaredList returns ", which declares: a, b" for the keys of ids, or
// ", which declares none" when ids is empty.
func declaredList(ids map[string]string) string {
	if len(ids) == 0 {
		return ", which declares none"
	}
	return ", which declares: " + strings.Join(sortedKeys(ids), ", ")
}
