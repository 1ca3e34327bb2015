package manifest

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	validator "github.com/santhosh-tekuri/jsonschema/v5"
)

func TestSchemaCompiles(t *testing.T) {
	data := Schema()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("Schema is not valid JSON: %v", err)
	}
	if got := doc["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", got)
	}
	c := validator.NewCompiler()
	if err := c.AddResource("test.json", bytes.NewReader(data)); err != nil {
		t.Fatalf("AddResource: %v", err)
	}
	if _, err := c.Compile("test.json"); err != nil {
		t.Fatalf("Compile: %v", err)
	}
}

func TestSchemaClosedObjects(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(name string, s map[string]any)
	walk = func(name string, s map[string]any) {
		if _, ok := s["properties"]; ok {
			if s["additionalProperties"] != false {
				t.Errorf("%s: additionalProperties = %v, want false", name, s["additionalProperties"])
			}
		}
	}
	walk("root", doc)
	defs, _ := doc["$defs"].(map[string]any)
	for name, d := range defs {
		s, _ := d.(map[string]any)
		walk(name, s)
	}
}

func TestSchemaRequired(t *testing.T) {
	cases := []struct {
		ptr  string
		keys []string
	}{
		{"", []string{"id", "name", "agent_config"}},
		{"/$defs/Runtime", []string{"api_key"}},
		{"/$defs/LLMs", []string{"default"}},
	}
	for _, c := range cases {
		s := schemaAt(c.ptr)
		req, _ := s["required"].([]any)
		for _, k := range c.keys {
			if !slices.Contains(req, any(k)) {
				t.Errorf("%q: required = %v, want it to contain %q", c.ptr, req, k)
			}
		}
	}
}

func TestSchemaReturnsCopy(t *testing.T) {
	a := Schema()
	a[0] = 'x'
	if b := Schema(); b[0] == 'x' {
		t.Error("Schema returns a shared slice")
	}
}

func TestSchemaRoutineEntries(t *testing.T) {
	c := validator.NewCompiler()
	if err := c.AddResource("editor.json", bytes.NewReader(Schema())); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("editor.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := func(entry string) any {
		var v any
		src := `{"id": "a", "name": "A", "agent_config": {"runtime": {"api_key": "k"},
			"llms": {"default": "scripted/demo"}, "context": {"routines": [` + entry + `]}}}`
		if err := json.Unmarshal([]byte(src), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name, entry string
		ok          bool
	}{
		{"file path", `"routines/kyc.yaml"`, true},
		{"inline routine", `{"id": "r", "entry": "a", "nodes": [{"id": "a", "chat_state": "hi"}]}`, true},
		{"number", `42`, false},
		{"routine with unknown key", `{"id": "r", "entry": "a", "nodes": [], "colour": "blue"}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Validate(doc(c.entry))
			if c.ok && err != nil {
				t.Errorf("Validate: %v", err)
			}
			if !c.ok && err == nil {
				t.Error("Validate accepted the entry")
			}
		})
	}
}

func TestSchemaRetryScheduleBounds(t *testing.T) {
	sch := deref(schemaAt("/$defs/Delivery/properties/retry_schedule"))
	if sch["minItems"] != float64(1) || sch["maxItems"] != float64(MaxRetryScheduleLen) {
		t.Errorf("retry_schedule minItems, maxItems = %v, %v; want 1, %d", sch["minItems"], sch["maxItems"], MaxRetryScheduleLen)
	}
}
