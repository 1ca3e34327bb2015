package routine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentry/agentry/manifest"
)

func TestEmit(t *testing.T) {
	r, _ := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	cases := []struct {
		name    string
		args    string
		output  string
		code    string
		details []Violation
	}{
		{"valid", `{"output_json": " {\"applicant_id\": 9007199254740993, \"decision\": \"approve\"}\n"}`,
			`{"applicant_id": 9007199254740993, "decision": "approve"}`, "", nil},
		{"integer as 1e2", `{"output_json": "{\"applicant_id\": 1e2, \"decision\": \"review\"}"}`,
			`{"applicant_id": 1e2, "decision": "review"}`, "", nil},
		{"schema violations", `{"output_json": "{\"decision\": \"maybe\", \"checked_at\": \"today\"}"}`, "", CodeOutputValidationFailed, []Violation{
			{Path: "/applicant_id", Message: "is required"},
			{Path: "/checked_at", Message: "must be a valid date-time"},
			{Path: "/decision", Message: `must be one of "approve", "review", "reject"`},
		}},
		{"output not JSON", `{"output_json": "{decision: approve}"}`, "", CodeOutputValidationFailed, []Violation{
			{Path: "", Message: "is not valid JSON: invalid character 'd' looking for beginning of object key string"},
		}},
		{"object instead of string", `{"output_json": {"decision": "approve"}}`, "", emitErrorInvalidArguments, []Violation{
			{Path: "/output_json", Message: "must be a string, not an object"},
		}},
		{"missing output_json", `{}`, "", emitErrorInvalidArguments, []Violation{
			{Path: "/output_json", Message: "is required"},
		}},
		{"arguments not JSON", `{"output_json": `, "", emitErrorInvalidArguments, []Violation{
			{Path: "", Message: "is not valid JSON: unexpected EOF"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, res := r.emit(tc.args)
			if string(out) != tc.output {
				t.Errorf("output = %s, want %s", out, tc.output)
			}
			if res.OK != (tc.code == "") || res.Error != tc.code {
				t.Errorf("result = %+v, want ok %v, error %q", res, tc.code == "", tc.code)
			}
			if len(res.Details) != len(tc.details) {
				t.Fatalf("details = %v, want %v", res.Details, tc.details)
			}
			for i := range tc.details {
				if res.Details[i] != tc.details[i] {
					t.Errorf("details[%d] = %v, want %v", i, res.Details[i], tc.details[i])
				}
			}
		})
	}
}

func TestEmitResultText(t *testing.T) {
	r, _ := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	_, res := r.emit(`{"output_json": "{\"decision\": \"approve\"}"}`)
	var got map[string]any
	if err := json.Unmarshal([]byte(res.text()), &got); err != nil {
		t.Fatalf("result text is not JSON: %v", err)
	}
	if got["ok"] != false || got["error"] != CodeOutputValidationFailed {
		t.Errorf("result = %v, want ok false and error %s", got, CodeOutputValidationFailed)
	}
	details, _ := got["details"].([]any)
	if len(details) != 1 || details[0].(map[string]any)["path"] != "/applicant_id" {
		t.Errorf("details = %v, want one at /applicant_id", details)
	}
	_, ok := r.emit(`{"output_json": "{\"applicant_id\": 1, \"decision\": \"approve\"}"}`)
	if ok.text() != `{"ok":true}` {
		t.Errorf("success text = %s, want {\"ok\":true}", ok.text())
	}
}

func TestEmitToolSchema(t *testing.T) {
	r, _ := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	tl := emitOutputTool(r)
	if tl.Function.Name != manifest.EmitOutputTool {
		t.Errorf("name = %q", tl.Function.Name)
	}
	if !strings.Contains(tl.Function.Description, string(r.OutputSchema())) {
		t.Error("the description lacks the tightened output schema")
	}
	var params map[string]any
	if err := json.Unmarshal(tl.Function.Parameters.(json.RawMessage), &params); err != nil {
		t.Fatalf("parameters are not JSON: %v", err)
	}
	if params["additionalProperties"] != false || params["required"].([]any)[0] != "output_json" {
		t.Errorf("parameters = %v", params)
	}
}
