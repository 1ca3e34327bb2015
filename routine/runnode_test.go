package routine

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/agentry/agentry/manifest"
)

// conversationalLookup is a routine without an autonomous block whose
// tool node has two conditional transitions.
func conversationalLookup() manifest.Routine {
	return manifest.Routine{
		ID:         "lookup",
		Conditions: []string{"The customer asks about an applicant"},
		Entry:      "find",
		Nodes: []manifest.Node{
			{ID: "find", Tools: []string{"kyc:lookup"}, ToolInstruction: "Look up the applicant the customer names.", Transitions: []manifest.Transition{
				{To: "clear", Condition: "the applicant is not sanctioned"},
				{To: "stop", Condition: "the applicant is sanctioned"},
			}},
			{ID: "clear", ChatState: "Tell the customer the applicant is clear."},
			{ID: "stop", ChatState: "Tell the customer you cannot help."},
		},
	}
}

func TestRunNodeKeepsNode(t *testing.T) {
	lookup := &lookupTool{name: "kyc:lookup"}
	reg := compileRegistry(t, lookup)
	r, err := Compile(conversationalLookup(), reg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	chat, eval := scriptedLanes(t, `
- when: {lane: chat, after_tool: "kyc:lookup"}
  reply: {text: done}
- when: {lane: chat}
  reply: {tool_call: {name: "kyc:lookup", arguments: {id: 7}}}
`)
	obs := &observed{}
	x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, Logger: quietLogger(), Observer: obs}
	st := NewState(r, json.RawMessage(`{"conversation":"Customer: is applicant 7 clear?"}`))

	if err := x.RunNode(context.Background(), r, st); err != nil {
		t.Fatalf("RunNode: %v", err)
	}
	if st.Node != "find" {
		t.Errorf("st.Node = %q, want find: RunNode leaves the choice of the next node to the caller", st.Node)
	}
	if st.Visits != 0 {
		t.Errorf("st.Visits = %d, want 0", st.Visits)
	}
	if got := lookup.calls(); !slices.Equal(got, []string{`{"id":7}`}) {
		t.Errorf("lookup calls = %v, want one with id 7", got)
	}
	if out := string(st.Outputs["find"]); !strings.Contains(out, `"sanctioned":false`) {
		t.Errorf("output of find = %s, want the lookup result", out)
	}
	if n := eval.count(); n != 0 {
		t.Errorf("evaluation calls = %d, want 0: no transition is chosen", n)
	}
	if !slices.Equal(obs.nodes, []string{"find"}) {
		t.Errorf("observer nodes = %v, want [find]", obs.nodes)
	}
	if !strings.Contains(chat.lastText(0), "is applicant 7 clear?") {
		t.Errorf("tool node prompt lacks the input:\n%s", chat.lastText(0))
	}
}

func TestRunNodeChatFails(t *testing.T) {
	reg := compileRegistry(t, &lookupTool{name: "kyc:lookup"})
	r, err := Compile(conversationalLookup(), reg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	chat, _ := scriptedLanes(t, `- reply: {text: hi}`)
	x := &Executor{Chat: chat, Tools: reg, Logger: quietLogger()}
	st := NewState(r, nil)
	st.Node = "clear"
	if code := failureCode(x.RunNode(context.Background(), r, st)); code != CodeInternalError {
		t.Errorf("failure code = %q, want %q", code, CodeInternalError)
	}
}
