package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileJSONSchema(t *testing.T) {
	cases := []struct {
		name, schema, msg string
	}{
		{"valid", `{"type": "object", "properties": {"n": {"type": "integer"}}}`, ""},
		{"draft 2020-12 named", `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}`, ""},
		{"local ref", `{"$defs": {"n": {"type": "integer"}}, "$ref": "#/$defs/n"}`, ""},
		{"bad type", `{"type": "objct"}`, `at /type: value must be one of`},
		{"bad nested", `{"properties": {"a": {"minLength": -1}}}`, "at /properties/a/minLength"},
		{"bad pattern", `{"pattern": "(["}`, "at /pattern"},
		{"missing local ref", `{"$ref": "#/$defs/absent"}`, "#/$defs/absent"},
		{"relative ref", `{"$ref": "other.json"}`, "points outside the schema"},
		{"file ref", `{"$ref": "file:///etc/hostname"}`, "points outside the schema"},
		{"draft 7", `{"$schema": "http://json-schema.org/draft-07/schema#"}`, "$schema must be"},
		{"not an object", `[true]`, "must be a JSON object"},
		{"not JSON", `{`, "must be a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := CompileJSONSchema([]byte(c.schema))
			if c.msg == "" {
				if err != nil || s == nil {
					t.Fatalf("CompileJSONSchema = %v, %v; want a schema", s, err)
				}
				return
			}
			if !errors.Is(err, ErrJSONSchema) {
				t.Fatalf("error %v; want ErrJSONSchema", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q, want it to contain %q", err, c.msg)
			}
			if strings.Contains(err.Error(), jsonSchemaURL) {
				t.Errorf("error %q names the internal schema URL", err)
			}
		})
	}
}

func TestCompileJSONSchemaAssertsFormat(t *testing.T) {
	s, err := CompileJSONSchema([]byte(`{"type": "string", "format": "email"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate("someone@example.com"); err != nil {
		t.Errorf("valid address rejected: %v", err)
	}
	if err := s.Validate("not an address"); err == nil {
		t.Error("invalid address accepted; want format asserted")
	}
}
