package metafilter

import "testing"

func TestContains(t *testing.T) {
	metadata := map[string]any{
		"topic":   "billing",
		"version": 2,
		"draft":   false,
		"owner":   map[string]any{"team": "payments", "region": "eu"},
		"tags":    []string{"payments", "invoices"},
		"nested":  []any{map[string]any{"a": 1, "b": 2}, []any{"x", "y"}},
		"nothing": nil,
	}
	cases := []struct {
		name   string
		filter map[string]any
		want   bool
	}{
		{"nil filter", nil, true},
		{"empty filter", map[string]any{}, true},
		{"string equal", map[string]any{"topic": "billing"}, true},
		{"string differs", map[string]any{"topic": "security"}, false},
		{"missing key", map[string]any{"lang": "en"}, false},
		{"int equals float", map[string]any{"version": 2.0}, true},
		{"number differs", map[string]any{"version": 3}, false},
		{"number is not string", map[string]any{"version": "2"}, false},
		{"bool equal", map[string]any{"draft": false}, true},
		{"bool is not null", map[string]any{"draft": nil}, false},
		{"null equal", map[string]any{"nothing": nil}, true},
		{"two keys", map[string]any{"topic": "billing", "version": 2}, true},
		{"two keys one differs", map[string]any{"topic": "billing", "version": 1}, false},
		{"nested subset", map[string]any{"owner": map[string]any{"region": "eu"}}, true},
		{"nested differs", map[string]any{"owner": map[string]any{"region": "us"}}, false},
		{"object is not scalar", map[string]any{"owner": "payments"}, false},
		{"array subset", map[string]any{"tags": []string{"invoices"}}, true},
		{"array any order", map[string]any{"tags": []string{"invoices", "payments"}}, true},
		{"array repeats", map[string]any{"tags": []string{"payments", "payments"}}, true},
		{"array empty", map[string]any{"tags": []string{}}, true},
		{"array element missing", map[string]any{"tags": []string{"refunds"}}, false},
		{"array is not scalar", map[string]any{"tags": "payments"}, false},
		{"array of objects", map[string]any{"nested": []any{map[string]any{"b": 2}}}, true},
		{"array of arrays", map[string]any{"nested": []any{[]any{"y"}}}, true},
		{"array of objects differs", map[string]any{"nested": []any{map[string]any{"b": 3}}}, false},
	}
	normalized, err := Normalize(metadata)
	if err != nil {
		t.Fatalf("Normalize(metadata): %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			filter, err := Normalize(c.filter)
			if err != nil {
				t.Fatalf("Normalize(filter): %v", err)
			}
			if got := Contains(normalized, filter); got != c.want {
				t.Errorf("Contains(metadata, %v) = %v, want %v", c.filter, got, c.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Run("nil", func(t *testing.T) {
		got, err := Normalize(nil)
		if err != nil || got != nil {
			t.Errorf("Normalize(nil) = %v, %v, want nil, nil", got, err)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		if _, err := Normalize(map[string]any{"f": func() {}}); err == nil {
			t.Error("Normalize(func value): want an error")
		}
	})
	t.Run("types", func(t *testing.T) {
		got, err := Normalize(map[string]any{"n": int64(7), "s": []int{1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got["n"].(float64); !ok {
			t.Errorf("n has type %T, want float64", got["n"])
		}
		if _, ok := got["s"].([]any); !ok {
			t.Errorf("s has type %T, want []any", got["s"])
		}
	})
}
