package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest manifest accepted, in bytes (1 MiB).
const MaxSize = 1 << 20

// maxValues bounds the number of values one document may produce, counted
// after alias expansion, so that nested aliases (an "alias bomb") are
// rejected after a bounded amount of work and memory.
const maxValues = 10000

// maxScalarBytes bounds the total length of scalar values after alias
// expansion, for the same reason: one long string repeated through aliases.
const maxScalarBytes = 4 * MaxSize

// loc records where one value of the converted document came from.
type loc struct {
	path    string    // display path: "agent_config.llms.fallback[1]"
	line    int       // line of the value
	keyLine int       // line of the key that introduces the value, or 0
	kind    yaml.Kind // kind of the (alias-resolved) YAML node
}

// reportLine is the line a violation about the value points at: the key's
// line for mappings and lists, whose own line is that of their first entry.
func (l loc) reportLine() int {
	if l.keyLine > 0 && l.kind != yaml.ScalarNode {
		return l.keyLine
	}
	return l.line
}

// tree is a manifest converted from YAML into JSON values (map[string]any,
// []any, string, json.Number, bool, nil), with the source location of
// every value, keyed by JSON pointer ("/agent_config/runtime/api_key").
type tree struct {
	root any
	locs map[string]loc
	// expanded holds the pointers of strings that contained a variable
	// reference, to explain type errors about them.
	expanded map[string]bool
	// routineFiles maps the index of each context.routines entry read
	// from a file to the file's name as written.
	routineFiles map[int]string
	// policyFiles does the same for context.policies.
	policyFiles map[int]string
}

func (t *tree) path(ptr string) string { return t.locs[ptr].path }
func (t *tree) line(ptr string) int    { return t.locs[ptr].reportLine() }

// lookup returns the value at a JSON pointer built from unescaped tokens.
func (t *tree) lookup(tokens ...string) (any, string, bool) {
	v := t.root
	ptr := ""
	for _, tok := range tokens {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "", false
		}
		if v, ok = m[tok]; !ok {
			return nil, "", false
		}
		ptr = ptr + "/" + escapePointer(tok)
	}
	return v, ptr, true
}

// valueAt returns the value at an escaped JSON pointer.
func (t *tree) valueAt(ptr string) (any, bool) {
	v := t.root
	if ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = unescapePointer(tok)
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// yamlErrorLine matches the messages of go.yaml.in/yaml/v3 parse errors.
var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// addYAMLError records a YAML syntax error at display path with its line.
func addYAMLError(p *problems, path string, err error) {
	msg := err.Error()
	if m := yamlErrorLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.add(path, line, "invalid YAML: %s", m[2])
		return
	}
	p.add(path, 0, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// parseTree parses data as one YAML document and converts it, expanding
// variables in string values and reading the routine and policy files it
// names
// relative to dir. It returns nil when the document cannot be converted at
// all; p then holds the reason.
func parseTree(data []byte, dir string, env func(string) (string, bool), p *problems) *tree {
	doc := parseDocument(data, "", "manifest", p)
	if doc == nil {
		return nil
	}
	c := &converter{p: p, env: env, locs: map[string]loc{}, expanded: map[string]bool{}, active: map[*yaml.Node]bool{}}
	root := c.convert(doc, schemaTree(), "", "", 0, true)
	t := &tree{root: root, locs: c.locs, expanded: c.expanded}
	if !c.overflow {
		t.routineFiles = c.spliceRoutines(root, dir)
	}
	if !c.overflow {
		t.policyFiles = c.splicePolicies(root, dir)
	}
	if c.overflow {
		return nil
	}
	return t
}

// parseDocument parses data, which must hold exactly one YAML document,
// and returns the document's root node, or nil after reporting the
// problem at display path. Messages call the document by the noun what,
// such as "manifest".
func parseDocument(data []byte, path, what string, p *problems) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(path, 0, "the %s is empty", what)
		} else {
			addYAMLError(p, path, err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		addYAMLError(p, path, err)
		return nil
	case len(next.Content) > 0:
		p.add(path, next.Line, "a second YAML document starts here; put the whole %s in one document", what)
		return nil
	}
	if len(doc.Content) == 0 {
		p.add(path, 0, "the %s is empty", what)
		return nil
	}
	return doc.Content[0]
}

// converter turns yaml.Node trees into JSON values.
type converter struct {
	p        *problems
	env      func(string) (string, bool)
	locs     map[string]loc
	expanded map[string]bool
	values   int
	bytes    int
	overflow bool
	active   map[*yaml.Node]bool // anchors being expanded, to stop cycles
}

// spend counts one value against maxValues and reports whether conversion
// may go on.
func (c *converter) spend(path string, line int) bool {
	if c.overflow {
		return false
	}
	c.values++
	if c.values > maxValues {
		c.overflow = true
		c.p.add(path, line, "the document expands to more than %d values; remove nested aliases", maxValues)
		return false
	}
	return true
}

// convert returns n as a JSON value. The sub-schema sch (nil when unknown)
// decides whether a plain scalar such as 1.10 or true is kept as the
// string it was written as. Variables are expanded in string values when
// expand is true.
func (c *converter) convert(n *yaml.Node, sch map[string]any, ptr, path string, keyLine int, expand bool) any {
	if !c.spend(path, n.Line) {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		target := n.Alias
		if target == nil || c.active[target] {
			c.p.add(path, n.Line, "alias *%s refers to a value that contains it", n.Value)
			return nil
		}
		c.active[target] = true
		v := c.convert(target, sch, ptr, path, keyLine, expand)
		delete(c.active, target)
		return v
	}
	c.locs[ptr] = loc{path: path, line: n.Line, keyLine: keyLine, kind: n.Kind}

	switch n.Kind {
	case yaml.MappingNode:
		return c.mapping(n, sch, ptr, path, expand)
	case yaml.SequenceNode:
		items := resolveSchema(sch, "items")
		list := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			list = append(list, c.convert(item, items,
				ptr+"/"+strconv.Itoa(i), path+"["+strconv.Itoa(i)+"]", item.Line, expand))
		}
		return list
	case yaml.ScalarNode:
		c.bytes += len(n.Value)
		if c.bytes > maxScalarBytes {
			c.overflow = true
			c.p.add(path, n.Line, "the document expands to more than %d bytes of values; remove aliases of long values", maxScalarBytes)
			return nil
		}
		v := c.scalar(n, schemaType(sch) == "string", path)
		if s, ok := v.(string); ok && expand {
			if strings.Contains(s, "${") {
				c.expanded[ptr] = true
			}
			return expandString(s, c.env, func(format string, args ...any) {
				c.p.add(path, n.Line, format, args...)
			})
		}
		return v
	}
	c.p.add(path, n.Line, "unsupported YAML node")
	return nil
}

// mapping converts a mapping node. Keys are taken as written and never
// expanded, and a key given twice is an error. Merge keys ("<<: *base")
// add the keys of the merged mappings that the mapping does not set.
func (c *converter) mapping(n *yaml.Node, sch map[string]any, ptr, path string, expand bool) map[string]any {
	m := map[string]any{}
	seen := map[string]int{}
	var merges []*yaml.Node
	add := func(k, v *yaml.Node, fromMerge bool) {
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			c.p.add(path, k.Line, "a key must be a plain string, not a %s", kindName(k.Kind))
			return
		}
		name := k.Value
		childPath := name
		if path != "" {
			childPath = path + "." + name
		}
		if first, dup := seen[name]; dup {
			if !fromMerge {
				c.p.add(childPath, k.Line, "duplicate key %q (first set on line %d); keep only one", name, first)
			}
			return
		}
		seen[name] = k.Line
		childSchema := propertySchema(sch, name)
		m[name] = c.convert(v, childSchema, ptr+"/"+escapePointer(name), childPath, k.Line,
			expand && !ignoredKey(ptr+"/"+escapePointer(name)))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		add(k, v, false)
	}
	for _, v := range merges {
		c.merge(v, path, add)
	}
	return m
}

// merge applies the value of a "<<" key: a mapping, an alias of one, or a
// list of those.
func (c *converter) merge(v *yaml.Node, path string, add func(k, v *yaml.Node, fromMerge bool)) {
	if !c.spend(path, v.Line) {
		return
	}
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		if c.active[v.Alias] {
			c.p.add(path, v.Line, "alias *%s refers to a value that contains it", v.Value)
			return
		}
		c.active[v.Alias] = true
		defer delete(c.active, v.Alias)
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(v.Content); i += 2 {
			k := v.Content[i]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				c.merge(v.Content[i+1], path, add)
				continue
			}
			// Keys the mapping already has are skipped, but still count:
			// otherwise a list of many aliases of one large mapping would
			// cost work without spending the budget.
			if !c.spend(path, k.Line) {
				return
			}
			add(k, v.Content[i+1], true)
		}
	case yaml.SequenceNode:
		for _, item := range v.Content {
			c.merge(item, path, add)
		}
	default:
		c.p.add(path, v.Line, "the value of a merge key (<<) must be a mapping or a list of mappings")
	}
}

// scalar converts a scalar by its resolved YAML 1.2 tag. Plain (unquoted,
// untagged) numbers and booleans where a string is expected are kept as
// written, so `version: 1.10` stays "1.10" and never becomes 1.1.
func (c *converter) scalar(n *yaml.Node, wantString bool, path string) any {
	plain := n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|
		yaml.LiteralStyle|yaml.FoldedStyle) == 0
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		if wantString && plain {
			return n.Value
		}
	default:
		return n.Value
	}
	var v any
	if err := n.Decode(&v); err != nil {
		c.p.add(path, n.Line, "invalid %s value", strings.TrimPrefix(n.ShortTag(), "!!"))
		return nil
	}
	switch x := v.(type) {
	case bool:
		return x
	case int:
		return json.Number(strconv.Itoa(x))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case uint64:
		return json.Number(strconv.FormatUint(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			c.p.add(path, n.Line, "must be a finite number")
			return nil
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
	}
	return n.Value
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}
