package routine

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/agentry/agentry/internal/strictjson"
	"github.com/agentry/agentry/manifest"
)

// schemaRoutine compiles an autonomous routine with the given input and
// output schemas.
func schemaRoutine(t *testing.T, inputSchema, outputSchema string) *Routine {
	t.Helper()
	r, err := Compile(manifest.Routine{
		ID: "dups", Entry: "done",
		Nodes: []manifest.Node{{ID: "done", Tools: []string{manifest.EmitOutputTool}}},
		Autonomous: &manifest.Autonomous{
			InputSchema:  json.RawMessage(inputSchema),
			OutputSchema: json.RawMessage(outputSchema),
		},
	}, nil)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return r
}

func TestValidateInputDuplicateKeys(t *testing.T) {
	status := schemaRoutine(t,
		`{"type":"object","properties":{"status":{"enum":["GREEN","RED"]}}}`, `{"type":"object"}`)
	kyc := inputRoutine(t, kycInputSchema)
	cases := []struct {
		name  string
		r     *Routine
		input string
		want  []Violation
	}{
		{"both values valid", status, `{"status":"GREEN","status":"RED"}`, []Violation{
			{Path: "/status", Message: "duplicate key"},
		}},
		{"nested", kyc, `{"applicant":{"id":1,"name":"A","name":"B"}}`, []Violation{
			{Path: "/applicant/name", Message: "duplicate key"},
		}},
		{"with a schema violation", kyc, `{"applicant":{"id":1,"id":"x","name":"A"}}`, []Violation{
			{Path: "/applicant/id", Message: "duplicate key"},
			{Path: "/applicant/id", Message: "must be an integer, not a string"},
		}},
		{"two objects", kyc, `{"applicant":{"id":1,"name":"A","id":2},"applicant":{"id":1,"name":"A"}}`, []Violation{
			{Path: "/applicant", Message: "duplicate key"},
			{Path: "/applicant/id", Message: "duplicate key"},
		}},
		{"written three times", status, `{"status":"RED","status":"RED","status":"RED"}`, []Violation{
			{Path: "/status", Message: "duplicate key"},
		}},
		{"escaped spelling", status, `{"status":"GREEN","st\u0061tus":"RED"}`, []Violation{
			{Path: "/status", Message: "duplicate key"},
		}},
		{"closing bracket after", status, `{"status":"GREEN"}]garbage`, []Violation{
			{Path: "", Message: "is not valid JSON: unexpected data after the JSON value"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.ValidateInput(json.RawMessage(tc.input))
			if !slices.Equal(got, tc.want) {
				t.Errorf("ValidateInput(%s) =\n  %v\nwant\n  %v", tc.input, got, tc.want)
			}
		})
	}
}

func TestEmitDuplicateKeys(t *testing.T) {
	r := schemaRoutine(t, `{"type":"object"}`,
		`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)
	cases := []struct {
		name   string
		args   string
		code   string
		detail Violation
	}{
		{"in the output", `{"output_json": "{\"n\":\"x\",\"n\":5}"}`,
			CodeOutputValidationFailed, Violation{Path: "/n", Message: "duplicate key"}},
		{"in the arguments", `{"output_json": "{\"n\":\"x\"}", "output_json": "{\"n\":5}"}`,
			emitErrorInvalidArguments, Violation{Path: "/output_json", Message: "duplicate key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, res := r.emit(tc.args)
			if out != nil {
				t.Errorf("output = %s, want none", out)
			}
			if res.OK || res.Error != tc.code {
				t.Errorf("result = %+v, want error %q", res, tc.code)
			}
			if !slices.Contains(res.Details, tc.detail) {
				t.Errorf("details = %v, want %v among them", res.Details, tc.detail)
			}
		})
	}
	if vs := r.ValidateOutput(json.RawMessage(`{"n":1,"n":2}`)); !slices.Contains(vs, Violation{Path: "/n", Message: "duplicate key"}) {
		t.Errorf("ValidateOutput = %v, want the duplicate /n", vs)
	}
}

func TestDecodeJSONStrict(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"duplicate", `{"a":1,"a":2}`, strictjson.ErrDuplicateKey},
		{"nested duplicate", `[{"k":{"x":1,"x":1}}]`, strictjson.ErrDuplicateKey},
		{"closing bracket after", `{"a":1}]`, nil},
		{"syntax", `{"a" 1}`, strictjson.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodeJSON([]byte(tc.in))
			if err == nil {
				t.Fatalf("decodeJSON(%s) = %v, want an error", tc.in, v)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("decodeJSON(%s) error = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
	v, err := decodeJSON([]byte(`{"a":{"b":[1,{"b":2}]},"b":9007199254740993}`))
	if err != nil {
		t.Fatalf("decodeJSON(distinct keys) error: %v", err)
	}
	if n := v.(map[string]any)["b"]; n != json.Number("9007199254740993") {
		t.Errorf("b = %v, want the exact json.Number", n)
	}
}
