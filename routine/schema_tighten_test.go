package routine

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

func TestTightenOutputSchema(t *testing.T) {
	cases := []struct {
		name, schema, want string
	}{
		{"top level",
			`{"type":"object","properties":{"a":{"type":"string"}}}`,
			`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`},
		{"top level without properties",
			`{"type":"object"}`,
			`{"type":"object","additionalProperties":false}`},
		{"author keeps it open",
			`{"type":"object","additionalProperties":true}`,
			`{"type":"object","additionalProperties":true}`},
		{"author uses patternProperties",
			`{"type":"object","patternProperties":{"^x-":{}}}`,
			`{"type":"object","patternProperties":{"^x-":{}}}`},
		{"nested property",
			`{"properties":{"p":{"type":"object","properties":{"q":{}}}}}`,
			`{"properties":{"p":{"type":"object","properties":{"q":{}},"additionalProperties":false}},"additionalProperties":false}`},
		{"nested free-form object stays open",
			`{"properties":{"meta":{"type":"object"}}}`,
			`{"properties":{"meta":{"type":"object"}},"additionalProperties":false}`},
		{"array items",
			`{"properties":{"list":{"type":"array","items":{"properties":{"x":{}}}}}}`,
			`{"properties":{"list":{"type":"array","items":{"properties":{"x":{}},"additionalProperties":false}}},"additionalProperties":false}`},
		{"prefixItems",
			`{"properties":{"pair":{"prefixItems":[{"properties":{"x":{}}},{"type":"string"}]}}}`,
			`{"properties":{"pair":{"prefixItems":[{"properties":{"x":{}},"additionalProperties":false},{"type":"string"}]}},"additionalProperties":false}`},
		{"combinator at top uses unevaluatedProperties",
			`{"allOf":[{"properties":{"a":{}}},{"properties":{"b":{}}}]}`,
			`{"allOf":[{"properties":{"a":{}}},{"properties":{"b":{}}}],"unevaluatedProperties":false}`},
		{"ref with properties",
			`{"$defs":{"base":{"properties":{"a":{}}}},"properties":{"p":{"$ref":"#/$defs/base","properties":{"b":{}}}}}`,
			`{"$defs":{"base":{"properties":{"a":{}}}},"properties":{"p":{"$ref":"#/$defs/base","properties":{"b":{}},"unevaluatedProperties":false}},"additionalProperties":false}`},
		{"draft-07 has no unevaluatedProperties",
			`{"$schema":"http://json-schema.org/draft-07/schema#","allOf":[{"properties":{"a":{}}}],"properties":{"a":{}}}`,
			`{"$schema":"http://json-schema.org/draft-07/schema#","allOf":[{"properties":{"a":{}}}],"properties":{"a":{}},"additionalProperties":false}`},
		{"big number kept",
			`{"properties":{"n":{"const":9007199254740993}}}`,
			`{"properties":{"n":{"const":9007199254740993}},"additionalProperties":false}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tightenOutputSchema(json.RawMessage(tc.schema))
			if err != nil {
				t.Fatalf("tightenOutputSchema: %v", err)
			}
			gotValue, _ := decodeJSON(got)
			wantValue, _ := decodeJSON([]byte(tc.want))
			if !reflect.DeepEqual(gotValue, wantValue) {
				t.Errorf("tightened =\n  %s\nwant\n  %s", got, tc.want)
			}
		})
	}
}

func TestTightenOutputSchemaRejects(t *testing.T) {
	for _, schema := range []string{``, `[]`, `true`, `{"a":`} {
		if _, err := tightenOutputSchema(json.RawMessage(schema)); err == nil {
			t.Errorf("tightenOutputSchema(%q) succeeded, want an error", schema)
		}
	}
}

// TestTightenedValidation checks what the tightened schemas accept, as
// emitted output meets them.
func TestTightenedValidation(t *testing.T) {
	cases := []struct {
		name, schema, output string
		want                 []Violation
	}{
		{"extra at top", `{"type":"object","properties":{"a":{}}}`, `{"a":1,"b":2}`,
			[]Violation{{Path: "/b", Message: "is not allowed: the schema defines no such property"}}},
		{"extra nested", `{"type":"object","properties":{"p":{"type":"object","properties":{"q":{}}}}}`, `{"p":{"q":1,"r":2}}`,
			[]Violation{{Path: "/p/r", Message: "is not allowed: the schema defines no such property"}}},
		{"free-form nested object", `{"type":"object","properties":{"meta":{"type":"object"}}}`, `{"meta":{"anything":1}}`, nil},
		{"allOf keeps both branches", `{"allOf":[{"properties":{"a":{}}},{"properties":{"b":{}}}]}`, `{"a":1,"b":2}`, nil},
		{"allOf rejects others", `{"allOf":[{"properties":{"a":{}}},{"properties":{"b":{}}}]}`, `{"a":1,"c":2}`,
			[]Violation{{Path: "/c", Message: "is not allowed: the schema defines no such property"}}},
		{"ref properties count", `{"$defs":{"base":{"properties":{"a":{}}}},"$ref":"#/$defs/base","properties":{"b":{}}}`, `{"a":1,"b":2}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tight, err := tightenOutputSchema(json.RawMessage(tc.schema))
			if err != nil {
				t.Fatalf("tightenOutputSchema: %v", err)
			}
			s, err := compileSchema("test", tight)
			if err != nil {
				t.Fatalf("compileSchema(%s): %v", tight, err)
			}
			if got := s.validate([]byte(tc.output)); !slices.Equal(got, tc.want) {
				t.Errorf("validate(%s) against %s = %v, want %v", tc.output, tight, got, tc.want)
			}
		})
	}
}
