package routine

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentry/agentry/manifest"
)

func TestCompileKYC(t *testing.T) {
	r, _ := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	if r.ID() != "kyc" {
		t.Errorf("ID = %q, want kyc", r.ID())
	}
	if !r.Autonomous() {
		t.Error("Autonomous = false, want true")
	}
	if string(r.InputSchema()) != kycInputSchema {
		t.Errorf("InputSchema = %s, want the schema as written", r.InputSchema())
	}
	var out map[string]any
	if err := json.Unmarshal(r.OutputSchema(), &out); err != nil {
		t.Fatalf("OutputSchema is not JSON: %v", err)
	}
	if out["additionalProperties"] != false {
		t.Errorf("OutputSchema additionalProperties = %v, want false", out["additionalProperties"])
	}
	if got := r.Definition().Entry; got != "assess" {
		t.Errorf("Definition().Entry = %q, want assess", got)
	}
}

func TestCompileRejects(t *testing.T) {
	emit := manifest.Node{ID: "done", Tools: []string{manifest.EmitOutputTool}}
	auto := &manifest.Autonomous{
		InputSchema:  json.RawMessage(`{"type":"object"}`),
		OutputSchema: json.RawMessage(`{"type":"object"}`),
	}
	cases := []struct {
		name    string
		routine manifest.Routine
		is      error
		mention string
	}{
		{"unknown tool", manifest.Routine{ID: "r", Entry: "done", Autonomous: auto, Nodes: []manifest.Node{
			{ID: "done", Tools: []string{"crm:lookup", manifest.EmitOutputTool}},
		}}, ErrUnknownTool, `"crm:lookup"`},
		{"unknown built-in", manifest.Routine{ID: "r", Entry: "done", Autonomous: auto, Nodes: []manifest.Node{
			{ID: "done", Tools: []string{"built-in:shout", manifest.EmitOutputTool}},
		}}, ErrUnknownTool, `"built-in:shout"`},
		{"emit without autonomous", manifest.Routine{ID: "r", Entry: "done", Nodes: []manifest.Node{emit}},
			ErrUnknownTool, manifest.EmitOutputTool},
		{"missing entry", manifest.Routine{ID: "r", Entry: "start", Autonomous: auto, Nodes: []manifest.Node{emit}},
			ErrInvalidRoutine, `entry "start"`},
		{"missing target", manifest.Routine{ID: "r", Entry: "start", Autonomous: auto, Nodes: []manifest.Node{
			{ID: "start", Transitions: []manifest.Transition{{To: "nowhere"}}}, emit,
		}}, ErrInvalidRoutine, `"nowhere"`},
		{"duplicate node", manifest.Routine{ID: "r", Entry: "done", Autonomous: auto, Nodes: []manifest.Node{emit, emit}},
			ErrInvalidRoutine, "used twice"},
		{"two defaults", manifest.Routine{ID: "r", Entry: "start", Autonomous: auto, Nodes: []manifest.Node{
			{ID: "start", Transitions: []manifest.Transition{{To: "done"}, {To: "done"}}}, emit,
		}}, ErrInvalidRoutine, "at most one"},
		{"several kinds", manifest.Routine{ID: "r", Entry: "done", Autonomous: auto, Nodes: []manifest.Node{
			{ID: "done", ChatState: "Chat.", Tools: []string{manifest.EmitOutputTool}},
		}}, ErrInvalidRoutine, "several kinds"},
		{"terminal without emit", manifest.Routine{ID: "r", Entry: "start", Autonomous: auto, Nodes: []manifest.Node{
			{ID: "start", Think: "Think.", OutputSchema: json.RawMessage(`{"type":"object"}`)},
		}}, ErrInvalidRoutine, `node "start"`},
		{"bad think schema", manifest.Routine{ID: "r", Entry: "start", Autonomous: auto, Nodes: []manifest.Node{
			{ID: "start", Think: "Think.", OutputSchema: json.RawMessage(`{"type":"thing"}`), Transitions: []manifest.Transition{{To: "done"}}},
			emit,
		}}, ErrInvalidSchema, "output_schema"},
		{"bad input schema", manifest.Routine{ID: "r", Entry: "done", Nodes: []manifest.Node{emit},
			Autonomous: &manifest.Autonomous{InputSchema: json.RawMessage(`{"minimum":"x"}`), OutputSchema: json.RawMessage(`{}`)},
		}, ErrInvalidSchema, "input_schema"},
		{"missing output schema", manifest.Routine{ID: "r", Entry: "done", Nodes: []manifest.Node{emit},
			Autonomous: &manifest.Autonomous{InputSchema: json.RawMessage(`{}`)},
		}, ErrInvalidSchema, "output_schema"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.routine, compileRegistry(t))
			if !errors.Is(err, tc.is) {
				t.Fatalf("Compile error = %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("Compile error %q does not mention %s", err, tc.mention)
			}
		})
	}
}

func TestCompileReportsEvery(t *testing.T) {
	_, err := Compile(manifest.Routine{ID: "r", Entry: "start", Nodes: []manifest.Node{
		{ID: "a", Tools: []string{"crm:one"}},
		{ID: "b", Tools: []string{"crm:two"}},
	}}, nil)
	if err == nil {
		t.Fatal("Compile succeeded, want errors")
	}
	for _, want := range []string{`entry "start"`, `"crm:one"`, `"crm:two"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Compile error lacks %s: %v", want, err)
		}
	}
}
