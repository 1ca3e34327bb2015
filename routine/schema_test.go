package routine

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/agentry/agentry/manifest"
)

// inputRoutine compiles an autonomous routine with the given input
// schema.
func inputRoutine(t *testing.T, inputSchema string) *Routine {
	t.Helper()
	r, err := Compile(manifest.Routine{
		ID: "input", Entry: "done",
		Nodes: []manifest.Node{{ID: "done", Tools: []string{manifest.EmitOutputTool}}},
		Autonomous: &manifest.Autonomous{
			InputSchema:  json.RawMessage(inputSchema),
			OutputSchema: json.RawMessage(`{"type":"object"}`),
		},
	}, nil)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return r
}

func TestValidateInputViolations(t *testing.T) {
	r := inputRoutine(t, kycInputSchema)
	cases := []struct {
		name  string
		input string
		want  []Violation
	}{
		{"valid", kycInput, nil},
		{"several", `{"applicant": {"id": "7", "email": "not-an-email"}, "x": 1}`, []Violation{
			{Path: "/applicant/email", Message: "must be a valid email"},
			{Path: "/applicant/id", Message: "must be an integer, not a string"},
			{Path: "/applicant/name", Message: "is required"},
		}},
		{"missing both", `{}`, []Violation{{Path: "/applicant", Message: "is required"}}},
		{"array", `[1, 2]`, []Violation{{Path: "", Message: "must be an object, not an array"}}},
		{"string", `"hello"`, []Violation{{Path: "", Message: "must be an object, not a string"}}},
		{"null", `null`, []Violation{{Path: "", Message: "must be an object, not null"}}},
		{"empty", ``, []Violation{{Path: "", Message: "is not valid JSON: the value is empty"}}},
		{"trailing", `{} {}`, []Violation{{Path: "", Message: "is not valid JSON: unexpected data after the JSON value"}}},
		{"broken", `{"applicant":`, []Violation{{Path: "", Message: "is not valid JSON: unexpected EOF"}}},
		{"empty name", `{"applicant": {"id": 1, "name": ""}}`, []Violation{
			{Path: "/applicant/name", Message: "length must be >= 1, but got 0"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := r.ValidateInput(json.RawMessage(tc.input))
			if !slices.Equal(got, tc.want) {
				t.Errorf("ValidateInput(%s) =\n  %v\nwant\n  %v", tc.input, got, tc.want)
			}
		})
	}
}

func TestValidateInputNumbers(t *testing.T) {
	cases := []struct {
		name   string
		schema string
		input  string
		valid  bool
	}{
		{"2^53+1 over maximum", `{"type":"integer","maximum":9007199254740992}`, `9007199254740993`, false},
		{"2^53 at maximum", `{"type":"integer","maximum":9007199254740992}`, `9007199254740992`, true},
		{"2^53+1 const", `{"const":9007199254740993}`, `9007199254740993`, true},
		{"2^53 not const 2^53+1", `{"const":9007199254740993}`, `9007199254740992`, false},
		{"1.0 integer", `{"type":"integer"}`, `1.0`, true},
		{"1e2 integer", `{"type":"integer"}`, `1e2`, true},
		{"1.5 not integer", `{"type":"integer"}`, `1.5`, false},
		{"1e-2 not integer", `{"type":"integer"}`, `1e-2`, false},
		{"big multipleOf", `{"type":"integer","multipleOf":2}`, `9007199254740993`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := inputRoutine(t, tc.schema)
			got := r.ValidateInput(json.RawMessage(tc.input))
			if (len(got) == 0) != tc.valid {
				t.Errorf("ValidateInput(%s) against %s = %v, want valid %v", tc.input, tc.schema, got, tc.valid)
			}
		})
	}
}

func TestValidateInputFormats(t *testing.T) {
	cases := []struct {
		format, value string
		valid         bool
	}{
		{"email", "ada@example.com", true},
		{"email", "ada", false},
		{"date-time", "2024-05-01T10:00:00Z", true},
		{"date-time", "yesterday", false},
		{"date", "2024-02-30", false},
		{"uuid", "7d444840-9dc0-11d1-b245-5ffdce74fad2", true},
		{"uuid", "7d444840", false},
		{"ipv4", "127.0.0.1", true},
		{"ipv4", "127.0.0.256", false},
	}
	for _, tc := range cases {
		t.Run(tc.format+" "+tc.value, func(t *testing.T) {
			r := inputRoutine(t, `{"type":"string","format":"`+tc.format+`"}`)
			value, _ := json.Marshal(tc.value)
			got := r.ValidateInput(value)
			if (len(got) == 0) != tc.valid {
				t.Fatalf("ValidateInput(%s) = %v, want valid %v", value, got, tc.valid)
			}
			if !tc.valid && got[0].Message != "must be a valid "+tc.format {
				t.Errorf("message = %q, want %q", got[0].Message, "must be a valid "+tc.format)
			}
		})
	}
}

func TestValidateInputCombinators(t *testing.T) {
	r := inputRoutine(t, `{"anyOf": [{"type": "string"}, {"type": "object", "required": ["id"]}]}`)
	got := r.ValidateInput(json.RawMessage(`{}`))
	want := []Violation{{Path: "", Message: "must be a string, not an object"}, {Path: "/id", Message: "is required"}}
	if !slices.Equal(got, want) {
		t.Errorf("ValidateInput = %v, want %v", got, want)
	}
}

func TestValidateInputNotAutonomous(t *testing.T) {
	r, err := Compile(manifest.Routine{ID: "chat", Entry: "hi", Nodes: []manifest.Node{{ID: "hi", ChatState: "Greet."}}}, nil)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if got := r.ValidateInput(json.RawMessage(`{}`)); len(got) != 1 {
		t.Errorf("ValidateInput = %v, want one violation", got)
	}
	if r.InputSchema() != nil || r.OutputSchema() != nil {
		t.Error("a routine without an autonomous block has schemas")
	}
}

func TestCompileSchemaRefs(t *testing.T) {
	cases := []struct {
		name, schema string
		ok           bool
	}{
		{"local ref", `{"$defs":{"id":{"type":"integer"}},"properties":{"id":{"$ref":"#/$defs/id"}}}`, true},
		{"file ref", `{"properties":{"id":{"$ref":"file:///etc/passwd"}}}`, false},
		{"http ref", `{"properties":{"id":{"$ref":"http://127.0.0.1:1/schema.json"}}}`, false},
		{"unknown draft", `{"$schema":"http://127.0.0.1:1/draft","type":"object"}`, false},
		{"bad keyword value", `{"type":"objekt"}`, false},
		{"not JSON", `{"type":`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileSchema("test", json.RawMessage(tc.schema))
			if (err == nil) != tc.ok {
				t.Fatalf("compileSchema(%s) error = %v, want ok %v", tc.schema, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidSchema) {
				t.Errorf("error %v does not wrap ErrInvalidSchema", err)
			}
		})
	}
}

func TestQuotedNames(t *testing.T) {
	cases := []struct {
		list string
		want []string
		ok   bool
	}{
		{`'a'`, []string{"a"}, true},
		{`'b', 'a'`, []string{"a", "b"}, true},
		{`'it\'s', 'say "hi"'`, []string{"it's", `say "hi"`}, true},
		{`'tab\there'`, []string{"tab\there"}, true},
		{`'a/b~c'`, []string{"a/b~c"}, true},
		{`a`, nil, false},
		{`'open`, nil, false},
		{``, nil, false},
	}
	for _, tc := range cases {
		got, ok := quotedNames(tc.list)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("quotedNames(%s) = %q, %v, want %q, %v", tc.list, got, ok, tc.want, tc.ok)
		}
	}
}

func TestViolationPathsEscaped(t *testing.T) {
	r := inputRoutine(t, `{"type":"object","required":["a/b","c~d"],"additionalProperties":false,"properties":{"a/b":{},"c~d":{}}}`)
	got := r.ValidateInput(json.RawMessage(`{"it's":1}`))
	want := []Violation{
		{Path: "/a~1b", Message: "is required"},
		{Path: "/c~0d", Message: "is required"},
		{Path: "/it's", Message: "is not allowed: the schema defines no such property"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("ValidateInput = %v, want %v", got, want)
	}
}

func TestExtractJSON(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"bare", `{"a": 1}`, `{"a": 1}`},
		{"spaces", "  \n{\"a\": 1}\n", `{"a": 1}`},
		{"fence", "```json\n{\"a\": 1}\n```", `{"a": 1}`},
		{"fence no tag", "```\n[1, 2]\n```", `[1, 2]`},
		{"prose and fence", "Here:\n```json\n{\"a\": 1}\n```\nDone.", `{"a": 1}`},
		{"prose", `The answer is {"a": {"b": 9007199254740993}} as asked.`, `{"a": {"b": 9007199254740993}}`},
		{"string", `"low"`, `"low"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, _, err := extractJSON(tc.text)
			if err != nil {
				t.Fatalf("extractJSON(%q): %v", tc.text, err)
			}
			if string(raw) != tc.want {
				t.Errorf("extractJSON(%q) = %s, want %s", tc.text, raw, tc.want)
			}
		})
	}
	for _, text := range []string{"", "no JSON here", "{broken"} {
		if _, _, err := extractJSON(text); err == nil {
			t.Errorf("extractJSON(%q) succeeded, want an error", text)
		}
	}
}

func TestFormatViolations(t *testing.T) {
	got := formatViolations([]Violation{{Path: "", Message: "must be an object, not null"}, {Path: "/a", Message: "is required"}})
	if want := "(root): must be an object, not null; /a: is required"; got != want {
		t.Errorf("formatViolations = %q, want %q", got, want)
	}
	if got := formatViolations(nil); got != "" {
		t.Errorf("formatViolations(nil) = %q, want \"\"", got)
	}
}
