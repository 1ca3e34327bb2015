package routine

import (
	"encoding/json"
	"fmt"
	"strings"
)

// tightenOutputSchema closes the objects of an output schema, so a model
// cannot add properties that the routine's author did not define. The
// rules:
//
//   - The top-level schema is always closed, even when it lists no
//     properties; such a schema accepts only {}.
//   - A nested schema is closed when it lists "properties" and is reached
//     from the top through "properties", "items", "prefixItems" or a
//     schema-valued "additionalProperties". Schemas under "$defs",
//     "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
//     "dependentSchemas", "patternProperties", "contains" and
//     "propertyNames" are left as written, because closing one branch of
//     a combination would reject the properties that another branch
//     defines.
//   - A schema that sets "additionalProperties", "unevaluatedProperties"
//     or "patternProperties" itself is left as written, so an author
//     keeps a free-form object with "additionalProperties": true.
//   - A schema that also uses "$ref", "$dynamicRef", "allOf", "anyOf",
//     "oneOf", "if" or "dependentSchemas" gets "unevaluatedProperties":
//     false, because that keyword counts the properties those keywords
//     evaluate. Any other schema gets "additionalProperties": false.
//
// Numbers keep their exact text, but keys are written in sorted order.
func tightenOutputSchema(raw json.RawMessage) (json.RawMessage, error) {
	doc, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: output_schema is not valid JSON: %w", ErrInvalidSchema, err)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: output_schema must be a JSON object, not %s", ErrInvalidSchema, jsonKind(doc))
	}
	modern := true
	if s, ok := root["$schema"].(string); ok {
		modern = strings.Contains(s, "2019-09") || strings.Contains(s, "2020-12")
	}
	closeObject(root, modern)
	descend(root, modern)
	return json.Marshal(root)
}

// inPlaceApplicators are keywords whose subschemas evaluate properties of
// the same object, which "unevaluatedProperties" takes into account and
// "additionalProperties" does not.
var inPlaceApplicators = []string{"$ref", "$dynamicRef", "allOf", "anyOf", "oneOf", "if", "dependentSchemas"}

// closeObject adds the closing keyword to s unless s decides about extra
// properties itself. Drafts before 2019-09 have no
// "unevaluatedProperties", so modern false always selects
// "additionalProperties".
func closeObject(s map[string]any, modern bool) {
	for _, k := range []string{"additionalProperties", "unevaluatedProperties", "patternProperties"} {
		if _, ok := s[k]; ok {
			return
		}
	}
	if modern {
		for _, k := range inPlaceApplicators {
			if _, ok := s[k]; ok {
				s["unevaluatedProperties"] = false
				return
			}
		}
	}
	// NOTE: under draft-07 and older, this also closes a schema whose
	// properties come from allOf or $ref, so it rejects those properties.
	// Such schemas need "additionalProperties" set by their author.
	s["additionalProperties"] = false
}

// descend closes the schemas nested in s that describe the values of its
// properties and items.
func descend(s map[string]any, modern bool) {
	var children []any
	if props, ok := s["properties"].(map[string]any); ok {
		for _, p := range props {
			children = append(children, p)
		}
	}
	if items, ok := s["items"]; ok {
		children = append(children, items)
	}
	if prefix, ok := s["prefixItems"].([]any); ok {
		children = append(children, prefix...)
	}
	if extra, ok := s["additionalProperties"].(map[string]any); ok {
		children = append(children, extra)
	}
	for _, c := range children {
		child, ok := c.(map[string]any)
		if !ok {
			continue
		}
		if _, lists := child["properties"].(map[string]any); lists {
			closeObject(child, modern)
		}
		descend(child, modern)
	}
}

// jsonKind names the JSON type of a value decoded by decodeJSON.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
