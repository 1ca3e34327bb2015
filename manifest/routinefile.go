package manifest

import (
	"strconv"
	"strings"
)

// routinesPointer is the JSON pointer of the context.routines list.
const routinesPointer = "/agent_config/context/routines"

// spliceRoutines replaces each string entry of context.routines with the
// routine read from the YAML file it names, relative to dir, as
// [converter.spliceFiles] describes.
func (c *converter) spliceRoutines(root any, dir string) map[int]string {
	return c.spliceFiles(root, dir, "routines", "/$defs/Routine", "routine")
}

// splicePolicies replaces each string entry of context.policies with the
// policy read from the YAML file it names, relative to dir.
func (c *converter) splicePolicies(root any, dir string) map[int]string {
	return c.spliceFiles(root, dir, "policies", "/$defs/Policy", "policy")
}

// spliceFiles replaces each string entry of the context list key with
// the value read from the YAML file it names, relative to dir, converted
// with the schema at schemaPtr. The file is converted with the rules of
// the manifest: duplicate keys are errors, aliases count against the same
// budget and variables are expanded. The values it holds get pointers and
// display paths under the entry, so every later check reports them as
// part of the manifest, and p.files makes their violations name the file.
// Messages call an entry by the noun what, such as "routine". It returns
// the index → file name map of the entries it replaced.
func (c *converter) spliceFiles(root any, dir, key, schemaPtr, what string) map[int]string {
	doc, _ := root.(map[string]any)
	agent, _ := doc["agent_config"].(map[string]any)
	ctx, _ := agent["context"].(map[string]any)
	list, _ := ctx[key].([]any)
	files := map[int]string{}
	itemSchema := schemaAt(schemaPtr)
	for i, item := range list {
		name, ok := item.(string)
		if !ok {
			continue
		}
		ptr := "/agent_config/context/" + key + "/" + strconv.Itoa(i)
		l := c.locs[ptr]
		if c.p.byPath[l.path] {
			continue // the path did not expand
		}
		if strings.TrimSpace(name) == "" {
			c.p.add(l.path, l.reportLine(), "must be a %s, or the path of a YAML file that holds one, relative to the manifest", what)
			continue
		}
		data, err := readFile(dir, name)
		if err != nil {
			c.p.add(l.path, l.reportLine(), "%v", err)
			continue
		}
		c.p.addFile(l.path, name)
		doc := parseDocument(data, l.path, what+" file", c.p)
		if doc == nil {
			continue
		}
		list[i] = c.convert(doc, itemSchema, ptr, l.path, 0, true)
		files[i] = name
		if c.overflow {
			break
		}
	}
	return files
}
