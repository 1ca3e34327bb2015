package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestMergeMap(t *testing.T) {
	tests := []struct {
		name  string
		dst   map[string]any
		patch map[string]any
		want  map[string]any
	}{
		{"set into nil", nil, map[string]any{"a": 1}, map[string]any{"a": 1}},
		{"delete only into nil", nil, map[string]any{"a": nil}, nil},
		{"replace and delete", map[string]any{"a": 1, "b": 2}, map[string]any{"a": "x", "b": nil},
			map[string]any{"a": "x"}},
		{"nested replaced whole", map[string]any{"m": map[string]any{"x": 1, "y": 2}},
			map[string]any{"m": map[string]any{"x": 3}}, map[string]any{"m": map[string]any{"x": 3}}},
		{"nil patch", map[string]any{"a": 1}, nil, map[string]any{"a": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MergeMap(tt.dst, tt.patch); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MergeMap = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCloneMapDeep(t *testing.T) {
	in := map[string]any{
		"map":  map[string]any{"k": "v"},
		"list": []any{map[string]any{"k": "v"}},
		"raw":  json.RawMessage(`{"k":"v"}`),
	}
	out := CloneMap(in)
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("CloneMap = %v, want %v", out, in)
	}
	in["map"].(map[string]any)["k"] = "changed"
	in["list"].([]any)[0].(map[string]any)["k"] = "changed"
	copy(in["raw"].(json.RawMessage), `{"k":"X"}`)

	if got := out["map"].(map[string]any)["k"]; got != "v" {
		t.Errorf("nested map shared: k = %v", got)
	}
	if got := out["list"].([]any)[0].(map[string]any)["k"]; got != "v" {
		t.Errorf("map inside slice shared: k = %v", got)
	}
	if got := string(out["raw"].(json.RawMessage)); got != `{"k":"v"}` {
		t.Errorf("raw message shared: %s", got)
	}
	if CloneMap(nil) != nil {
		t.Errorf("CloneMap(nil) != nil")
	}
}
