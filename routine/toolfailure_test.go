package routine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentry/agentry/manifest"
)

// lookupThenDone compiles a routine whose first node calls kyc:lookup
// and whose second emits the output.
func lookupThenDone(t *testing.T, lookup *lookupTool) *Routine {
	t.Helper()
	reg := compileRegistry(t, lookup)
	r, err := Compile(manifest.Routine{
		ID: "two", Entry: "lookup",
		Nodes: []manifest.Node{
			{ID: "lookup", Tools: []string{"kyc:lookup"}, ToolInstruction: "Look up applicant 1.", Transitions: []manifest.Transition{{To: "done"}}},
			{ID: "done", Tools: []string{manifest.EmitOutputTool}},
		},
		Autonomous: &manifest.Autonomous{
			InputSchema:  json.RawMessage(`{"type":"object"}`),
			OutputSchema: json.RawMessage(`{"type":"object","properties":{"done":{"type":"boolean"}}}`),
		},
	}, reg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return r
}

func TestToolNodeFailureStatesToolError(t *testing.T) {
	tests := []struct {
		name    string
		replies []map[string]any
	}{
		{"model gives up after the failure", []map[string]any{
			callsReply([3]string{"call_1", "kyc__lookup", `{"id": 1}`}),
			textReply("The directory is down, I cannot continue."),
		}},
		{"model keeps calling until the cap", []map[string]any{
			callsReply([3]string{"call_1", "kyc__lookup", `{"id": 1}`}),
			callsReply([3]string{"call_2", "kyc__lookup", `{"id": 1}`}),
			callsReply([3]string{"call_3", "kyc__lookup", `{"id": 1}`}),
			callsReply([3]string{"call_4", "kyc__lookup", `{"id": 1}`}),
			callsReply([3]string{"call_5", "kyc__lookup", `{"id": 1}`}),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := &lookupTool{name: "kyc:lookup", fail: true}
			r := lookupThenDone(t, lookup)
			s := newOpenAIServer(t, tt.replies...)
			x := openAIExecutor(t, s, compileRegistry(t, lookup))
			_, err := x.Run(context.Background(), r, json.RawMessage(`{}`))
			f := AsFailure(err)
			if f == nil {
				t.Fatalf("Run error = %v, want a Failure", err)
			}
			if f.Code != CodeToolError {
				t.Errorf("failure code = %s (%s), want %s", f.Code, f.Message, CodeToolError)
			}
			if !strings.Contains(f.Message, "directory unavailable") || !strings.Contains(f.Message, "kyc:lookup") {
				t.Errorf("failure message = %q, want the tool and its error", f.Message)
			}
		})
	}
}
