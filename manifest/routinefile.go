package manifest

import (
	"strconv"
	"strings"
)

// routinesPointer is the JSON pointer of the context.routines list.
const routinesPointer = "/agent_config/context/routines"

// spliceRoutines replaces each string entry of context.routines with the
// routine read from the YAML file it names, relative to dir. The file is
// converted with the rules of the manifest: duplicate keys are errors,
// aliases count against the same budget and variables are expanded. The
// values it holds get pointers and display paths under the entry, so
// every later check reports them as part of the manifest, and
// p.files makes their violations name the file. It returns the index →
// file name map of the entries it replaced.
func (c *converter) spliceRoutines(root any, dir string) map[int]string {
	doc, _ := root.(map[string]any)
	agent, _ := doc["agent_config"].(map[string]any)
	ctx, _ := agent["context"].(map[string]any)
	list, _ := ctx["routines"].([]any)
	files := map[int]string{}
	routineSchema := schemaAt("/$defs/Routine")
	for i, item := range list {
		name, ok := item.(string)
		if !ok {
			continue
		}
		ptr := routinesPointer + "/" + strconv.Itoa(i)
		l := c.locs[ptr]
		if c.p.byPath[l.path] {
			continue // the path did not expand
		}
		if strings.TrimSpace(name) == "" {
			c.p.add(l.path, l.reportLine(), "must be a routine, or the path of a YAML file that holds one, relative to the manifest")
			continue
		}
		data, err := readFile(dir, name)
		if err != nil {
			c.p.add(l.path, l.reportLine(), "%v", err)
			continue
		}
		c.p.addFile(l.path, name)
		doc := parseDocument(data, l.path, "routine file", c.p)
		if doc == nil {
			continue
		}
		list[i] = c.convert(doc, routineSchema, ptr, l.path, 0, true)
		files[i] = name
		if c.overflow {
			break
		}
	}
	return files
}
