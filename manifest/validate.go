package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	validator "github.com/santhosh-tekuri/jsonschema/v5"
)

// validateSchema checks t against the generated schema and adds one
// violation per leaf error, reworded in plain English.
func validateSchema(t *tree, p *problems) {
	err := compiledSchema().Validate(t.root)
	if err == nil {
		return
	}
	var ve *validator.ValidationError
	if !errors.As(err, &ve) {
		p.add("", 0, "schema validation failed: %v", err)
		return
	}
	for _, leaf := range leafErrors(ve, nil) {
		addSchemaViolation(t, leaf, p)
	}
}

// leafErrors returns the errors of ve that have no causes: the ones that
// name a single failed keyword.
func leafErrors(ve *validator.ValidationError, out []*validator.ValidationError) []*validator.ValidationError {
	if len(ve.Causes) == 0 {
		return append(out, ve)
	}
	for _, c := range ve.Causes {
		out = leafErrors(c, out)
	}
	return out
}

// addSchemaViolation rewords one leaf error. The failed keyword and its
// schema are found from the error's absolute keyword location.
func addSchemaViolation(t *tree, e *validator.ValidationError, p *problems) {
	_, frag, _ := strings.Cut(e.AbsoluteKeywordLocation, "#")
	slash := strings.LastIndexByte(frag, '/')
	if slash < 0 {
		p.addOnce(t.path(e.InstanceLocation), t.line(e.InstanceLocation), "%s", e.Message)
		return
	}
	keyword := unescapePointer(frag[slash+1:])
	sch := schemaAt(frag[:slash])
	ptr := e.InstanceLocation
	path, line := t.path(ptr), t.line(ptr)
	value, _ := t.valueAt(ptr)

	switch keyword {
	case "additionalProperties":
		obj, _ := value.(map[string]any)
		props, _ := sch["properties"].(map[string]any)
		for _, key := range sortedKeys(obj) {
			if _, ok := props[key]; ok {
				continue
			}
			child := ptr + "/" + escapePointer(key)
			msg := "unknown key"
			if s := closest(key, sortedKeys(props)); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			p.add(t.path(child), t.locs[child].keyLine, "%s", msg)
		}
	case "required":
		obj, _ := value.(map[string]any)
		req, _ := sch["required"].([]any)
		for _, r := range req {
			name, _ := r.(string)
			if _, ok := obj[name]; !ok {
				p.add(path, line, "missing required key %q", name)
			}
		}
	case "type":
		p.addOnce(path, line, "%s", typeMessage(sch["type"], value, t.expanded[ptr]))
	case "enum":
		p.addOnce(path, line, "must be one of %s", joinValues(sch["enum"]))
	case "pattern":
		p.addOnce(path, line, "%s", patternMessage(sch))
	case "minimum":
		p.addOnce(path, line, "must be at least %s", formatNumber(sch["minimum"]))
	case "maximum":
		p.addOnce(path, line, "must be at most %s", formatNumber(sch["maximum"]))
	case "maxLength":
		p.addOnce(path, line, "must be at most %v characters long", sch["maxLength"])
	case "minItems":
		p.addOnce(path, line, "must list at least %v entries", sch["minItems"])
	case "maxItems":
		p.addOnce(path, line, "must list at most %v entries", sch["maxItems"])
	default:
		p.addOnce(path, line, "%s", e.Message)
	}
}

// formatNumber formats a number of the decoded schema without an
// exponent, so 10485760 does not read as 1.048576e+07.
func formatNumber(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// typeNames are the plain words for JSON Schema types.
var typeNames = map[string]string{
	"string":  "a string",
	"integer": "a whole number",
	"number":  "a number",
	"boolean": "true or false",
	"object":  "a mapping",
	"array":   "a list",
	"null":    "empty",
}

// typeMessage describes the type a value must have and the type it has.
// The flag expanded marks a value that came from a variable reference.
func typeMessage(want any, value any, expanded bool) string {
	var names []string
	switch w := want.(type) {
	case string:
		names = append(names, typeNames[w])
	case []any:
		for _, x := range w {
			s, _ := x.(string)
			names = append(names, typeNames[s])
		}
	}
	msg := "must be " + strings.Join(names, " or ")
	switch value.(type) {
	case nil:
		msg += ", but the value is empty"
	case string:
		if expanded {
			msg += ", not a string (variables expand only inside string values)"
		} else {
			msg += ", not a string"
		}
	case bool:
		msg += ", not true or false"
	case map[string]any:
		msg += ", not a mapping"
	case []any:
		msg += ", not a list"
	default:
		msg += ", not a number"
	}
	return msg
}

// patternMessages describe the patterns of the generated schema.
var patternMessages = map[string]string{
	"^[A-Za-z0-9_-]+$":         "must contain only letters, digits, '-' and '_'",
	"^[A-Za-z_][A-Za-z0-9_]*$": "must start with a letter or '_' and contain only letters, digits and '_'",
}

func patternMessage(sch map[string]any) string {
	pattern, _ := sch["pattern"].(string)
	if msg, ok := patternMessages[pattern]; ok {
		return msg
	}
	if d, ok := sch["description"].(string); ok && d != "" {
		return "must be " + d
	}
	return fmt.Sprintf("must match the pattern %s", pattern)
}

func joinValues(v any) string {
	list, _ := v.([]any)
	parts := make([]string, 0, len(list))
	for _, x := range list {
		parts = append(parts, fmt.Sprint(x))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// closest returns the candidate nearest to key by edit distance, if it is
// near enough to be a likely typo.
func closest(key string, candidates []string) string {
	best, bestDist := "", max(1, len(key)/3)+1
	for _, c := range candidates {
		if d := editDistance(key, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
