package store

import "encoding/json"

// CloneMap returns a deep copy of m, or nil when m is nil. Nested
// map[string]any, []any, json.RawMessage and []byte values are copied too.
// Other values (strings, numbers, booleans, structs) are copied by
// assignment, so a pointer or a map of another type stays shared.
func CloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = CloneValue(v)
	}
	return out
}

// CloneValue returns a deep copy of v for the JSON-like types that
// [CloneMap] lists, and v itself for any other type.
func CloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return CloneMap(x)
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = CloneValue(e)
		}
		return out
	case json.RawMessage:
		if x == nil {
			return x
		}
		return append(json.RawMessage(nil), x...)
	case []byte:
		if x == nil {
			return x
		}
		return append([]byte(nil), x...)
	default:
		return v
	}
}

// MergeMap applies patch to dst and returns the result: a key whose patch
// value is nil is deleted, any other value replaces the stored one (nested
// maps are replaced whole, not merged). Patch values are deep-copied with
// [CloneValue]. MergeMap modifies dst in place and allocates a map when dst
// is nil and the patch sets a key.
func MergeMap(dst, patch map[string]any) map[string]any {
	for k, v := range patch {
		if v == nil {
			delete(dst, k)
			continue
		}
		if dst == nil {
			dst = make(map[string]any, len(patch))
		}
		dst[k] = CloneValue(v)
	}
	return dst
}
