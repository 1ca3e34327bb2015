// Package metafilter matches chunk metadata against a query filter with
// the containment rule of PostgreSQL's jsonb @> operator, so that the
// retrievers that filter in Go agree with the pgvector retriever, which
// filters in SQL.
package metafilter

import (
	"encoding/json"
	"fmt"
)

// Normalize returns a copy of m in the form that encoding/json decodes a
// JSON object into: maps become map[string]any, slices []any, numbers
// float64. It fails when m cannot be encoded as JSON.
func Normalize(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode as JSON: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return out, nil
}

// Contains reports whether metadata contains filter. Both must be in the
// form that Normalize returns. The rules are those of jsonb @>:
//
//   - an object contains an object when, for every key of the filter,
//     the object has that key and its value contains the filter's value;
//   - an array contains an array when every element of the filter array
//     is contained in some element of the array, whatever the order and
//     the number of repeats;
//   - any other value contains only an equal value of the same JSON type.
//
// A nil or empty filter is contained in every metadata object.
//
// NOTE: numbers compare as float64, so integers beyond 2^53 that differ
// only in their low digits compare equal here but not in PostgreSQL.
func Contains(metadata, filter map[string]any) bool {
	for key, want := range filter {
		got, ok := metadata[key]
		if !ok || !contains(got, want) {
			return false
		}
	}
	return true
}

func contains(got, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		return ok && Contains(g, w)
	case []any:
		g, ok := got.([]any)
		if !ok {
			return false
		}
		for _, element := range w {
			if !anyContains(g, element) {
				return false
			}
		}
		return true
	default:
		return scalarEqual(got, want)
	}
}

func anyContains(values []any, want any) bool {
	for _, v := range values {
		if contains(v, want) {
			return true
		}
	}
	return false
}

func scalarEqual(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case string:
		g, ok := got.(string)
		return ok && g == w
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case float64:
		g, ok := got.(float64)
		return ok && g == w
	default:
		return false
	}
}
