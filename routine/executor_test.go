package routine

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/manifest"
)

const kycScript = `
- when: {lane: evaluation, user_matches: 'Node "assess"'}
  reply:
    text: "Here it is:\n` + "```json" + `\n{\"risk\": \"low\"}\n` + "```" + `"
- when: {lane: evaluation, user_matches: 'Choose the node that follows node "decide"'}
  reply: {json: {next: approve}}
- when: {lane: chat, tool_offered: "built-in:emit_output"}
  reply:
    tool_call:
      name: built-in:emit_output
      arguments:
        output_json: '{"applicant_id": 9007199254740993, "decision": "approve"}'
`

func TestRunKYC(t *testing.T) {
	r, reg := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	chat, eval := scriptedLanes(t, kycScript)
	obs := &observed{}
	x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, SystemPrompt: "You are a bank's KYC agent.", Logger: quietLogger(), Observer: obs}

	out, err := x.Run(context.Background(), r, json.RawMessage(kycInput))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := `{"applicant_id": 9007199254740993, "decision": "approve"}`; string(out) != want {
		t.Errorf("output = %s, want %s", out, want)
	}
	if want := []string{"assess", "decide", "approve"}; !slices.Equal(obs.nodes, want) {
		t.Errorf("nodes entered = %v, want %v", obs.nodes, want)
	}
	if want := []string{manifest.EmitOutputTool}; !slices.Equal(obs.tools, want) {
		t.Errorf("tools called = %v, want %v", obs.tools, want)
	}
	// One think call and one transition choice on the evaluation lane.
	if got := eval.count(); got != 2 {
		t.Errorf("evaluation calls = %d, want 2", got)
	}
	if got := chat.count(); got != 1 {
		t.Errorf("chat calls = %d, want 1", got)
	}

	// The transition prompt shows the think node's output and the input
	// with its big integer intact.
	prompt := eval.lastText(1)
	for _, want := range []string{`"assess":{"risk":"low"}`, `9007199254740993`, `if: the risk is low`} {
		if !strings.Contains(prompt, want) {
			t.Errorf("transition prompt lacks %s:\n%s", want, prompt)
		}
	}
	system := messageText(eval.calls[0][0])
	for _, want := range []string{"You are a bank's KYC agent.", "Assesses an applicant", "Be strict."} {
		if !strings.Contains(system, want) {
			t.Errorf("system message lacks %q:\n%s", want, system)
		}
	}
}

func TestRunNeverEmits(t *testing.T) {
	r, reg := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	chat, eval := scriptedLanes(t, strings.Replace(kycScript, `- when: {lane: chat, tool_offered: "built-in:emit_output"}
  reply:
    tool_call:
      name: built-in:emit_output
      arguments:
        output_json: '{"applicant_id": 9007199254740993, "decision": "approve"}'`, `- when: {lane: chat}
  reply: {text: "The applicant is approved."}`, 1))
	x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, MaxIterations: 3, Logger: quietLogger()}

	_, err := x.Run(context.Background(), r, json.RawMessage(kycInput))
	if got := failureCode(err); got != CodeIterationLimit {
		t.Fatalf("Run error = %v, want code %s", err, CodeIterationLimit)
	}
	if got := chat.count(); got != 3 {
		t.Errorf("chat calls = %d, want 3", got)
	}
	if got := chat.lastText(2); !strings.Contains(got, "Call built-in:emit_output now") {
		t.Errorf("the model was not reminded to emit; last message: %q", got)
	}
}

func TestRunInvalidOutputAlways(t *testing.T) {
	r, reg := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	chat, eval := scriptedLanes(t, strings.Replace(kycScript,
		`'{"applicant_id": 9007199254740993, "decision": "approve"}'`,
		`'{"applicant_id": "x", "decision": "approve", "note": "extra"}'`, 1))
	x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, MaxIterations: 2, Logger: quietLogger()}

	_, err := x.Run(context.Background(), r, json.RawMessage(kycInput))
	f := AsFailure(err)
	if f == nil || f.Code != CodeOutputValidationFailed {
		t.Fatalf("Run error = %v, want code %s", err, CodeOutputValidationFailed)
	}
	for _, want := range []string{"/applicant_id", "/note"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("failure message lacks %s: %s", want, f.Message)
		}
	}
	// The second call saw the details of the first rejection.
	var res callResult
	if err := json.Unmarshal([]byte(chat.lastText(1)), &res); err != nil {
		t.Fatalf("tool result is not JSON: %v", err)
	}
	if res.OK || res.Error != CodeOutputValidationFailed {
		t.Errorf("tool result = %+v, want ok false and error %s", res, CodeOutputValidationFailed)
	}
	want := []Violation{
		{Path: "/applicant_id", Message: "must be an integer, not a string"},
		{Path: "/note", Message: "is not allowed: the schema defines no such property"},
	}
	if !slices.Equal(res.Details, want) {
		t.Errorf("details = %v, want %v", res.Details, want)
	}
}

func TestRunModelError(t *testing.T) {
	r, reg := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	// No rule matches the request of the think node.
	chat, eval := scriptedLanes(t, `
- when: {lane: chat}
  reply: {text: "hello"}
`)
	x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, Logger: quietLogger()}
	_, err := x.Run(context.Background(), r, json.RawMessage(kycInput))
	if got := failureCode(err); got != CodeModelError {
		t.Fatalf("Run error = %v, want code %s", err, CodeModelError)
	}
	if f := AsFailure(err); f.Err == nil {
		t.Error("Failure.Err is nil, want the model's error")
	}
}

func TestRunThinkInvalid(t *testing.T) {
	r, reg := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	chat, eval := scriptedLanes(t, `
- when: {lane: evaluation}
  reply: {json: {risk: medium}}
`)
	x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, MaxIterations: 2, Logger: quietLogger()}
	_, err := x.Run(context.Background(), r, json.RawMessage(kycInput))
	if got := failureCode(err); got != CodeIterationLimit {
		t.Fatalf("Run error = %v, want code %s", err, CodeIterationLimit)
	}
	if got := eval.count(); got != 2 {
		t.Errorf("evaluation calls = %d, want 2", got)
	}
	if got := eval.lastText(1); !strings.Contains(got, "Your answer is not valid: /risk: must be one of") {
		t.Errorf("repair request = %q, want the violation", got)
	}
}

func TestRunTransitionInvalid(t *testing.T) {
	r, reg := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	chat, eval := scriptedLanes(t, strings.Replace(kycScript,
		`- when: {lane: evaluation, user_matches: 'Choose the node that follows node "decide"'}
  reply: {json: {next: approve}}`,
		`- when: {lane: evaluation, user_matches: 'Choose the node|/next'}
  reply: {json: {next: nowhere}}`, 1))
	x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, MaxIterations: 2, Logger: quietLogger()}
	_, err := x.Run(context.Background(), r, json.RawMessage(kycInput))
	f := AsFailure(err)
	if f == nil || f.Code != CodeIterationLimit {
		t.Fatalf("Run error = %v, want code %s", err, CodeIterationLimit)
	}
	if !strings.Contains(f.Message, `transition from node "decide"`) {
		t.Errorf("failure message = %q, want it to name the transition", f.Message)
	}
	if got := eval.lastText(2); !strings.Contains(got, `/next: must be one of "approve", "review"`) {
		t.Errorf("repair request = %q, want the allowed targets", got)
	}
}

func TestRunTransitionDefault(t *testing.T) {
	def := kycRoutine()
	def.Nodes[1].Transitions = []manifest.Transition{
		{To: "review", Condition: "the risk is high"},
		{To: "approve"},
	}
	reg := compileRegistry(t, &lookupTool{name: "kyc:lookup"})
	r, err := Compile(def, reg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	chat, eval := scriptedLanes(t, kycScript)
	x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, Logger: quietLogger()}
	if _, err := x.Run(context.Background(), r, json.RawMessage(kycInput)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	prompt := eval.lastText(1)
	for _, want := range []string{`1. to "review" if: the risk is high`, `Default: to "approve" when no condition holds.`} {
		if !strings.Contains(prompt, want) {
			t.Errorf("transition prompt lacks %q:\n%s", want, prompt)
		}
	}
}

func TestRunContext(t *testing.T) {
	slow := `
- when: {lane: evaluation}
  delay: 10s
  reply: {json: {risk: low}}
`
	cause := errors.New("operator stopped the run")
	cases := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"cause", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(50*time.Millisecond, func() { cancel(cause) })
			return ctx, func() { cancel(nil) }
		}, cause},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, reg := compileKYC(t, &lookupTool{name: "kyc:lookup"})
			chat, eval := scriptedLanes(t, slow)
			x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, Logger: quietLogger()}
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			_, err := x.Run(ctx, r, json.RawMessage(kycInput))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Run error = %v, want %v", err, tc.want)
			}
			if AsFailure(err) != nil {
				t.Errorf("Run error %v is a Failure, want the context's error", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Run returned after %s, want soon after the context ended", d)
			}
		})
	}
}

func TestRunGraphFailures(t *testing.T) {
	emitNode := manifest.Node{ID: "done", Tools: []string{manifest.EmitOutputTool}}
	cases := []struct {
		name  string
		nodes []manifest.Node
		want  string
	}{
		{"chat node", []manifest.Node{
			{ID: "start", ChatState: "Greet the customer.", Transitions: []manifest.Transition{{To: "done"}}},
			emitNode,
		}, CodeInternalError},
		{"cycle", []manifest.Node{
			{ID: "start", Transitions: []manifest.Transition{{To: "other"}}},
			{ID: "other", Transitions: []manifest.Transition{{To: "start"}}},
		}, CodeIterationLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			def := manifest.Routine{
				ID: "graph", Entry: "start", Nodes: tc.nodes,
				Autonomous: &manifest.Autonomous{
					InputSchema:  json.RawMessage(`{"type":"object"}`),
					OutputSchema: json.RawMessage(`{"type":"object","properties":{"ok":{"type":"boolean"}}}`),
				},
			}
			r, err := Compile(def, nil)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			chat, eval := scriptedLanes(t, `[{reply: {text: "unused"}}]`)
			x := &Executor{Chat: chat, Evaluation: eval, Logger: quietLogger()}
			_, err = x.Run(context.Background(), r, json.RawMessage(`{}`))
			if got := failureCode(err); got != tc.want {
				t.Fatalf("Run error = %v, want code %s", err, tc.want)
			}
			if got := chat.count() + eval.count(); got != 0 {
				t.Errorf("model calls = %d, want 0", got)
			}
		})
	}
}

func TestRunToolMissing(t *testing.T) {
	r, _ := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	chat, eval := scriptedLanes(t, strings.Replace(kycScript, "reply: {json: {next: approve}}", "reply: {json: {next: review}}", 1))
	// The executor's registry lacks kyc:lookup, which Compile saw.
	x := &Executor{Chat: chat, Evaluation: eval, Tools: compileRegistry(t), Logger: quietLogger()}
	_, err := x.Run(context.Background(), r, json.RawMessage(kycInput))
	if got := failureCode(err); got != CodeToolError {
		t.Fatalf("Run error = %v, want code %s", err, CodeToolError)
	}
}

func TestRunInvalidInput(t *testing.T) {
	r, reg := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	chat, eval := scriptedLanes(t, kycScript)
	x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, Logger: quietLogger()}
	_, err := x.Run(context.Background(), r, json.RawMessage(`{"applicant": {}}`))
	if got := failureCode(err); got != CodeInternalError {
		t.Fatalf("Run error = %v, want code %s", err, CodeInternalError)
	}
	if got := eval.count() + chat.count(); got != 0 {
		t.Errorf("model calls = %d, want 0", got)
	}
}

func TestStepState(t *testing.T) {
	r, reg := compileKYC(t, &lookupTool{name: "kyc:lookup"})
	chat, eval := scriptedLanes(t, kycScript)
	x := &Executor{Chat: chat, Evaluation: eval, Tools: reg, Logger: quietLogger()}
	st := NewState(r, json.RawMessage(kycInput))

	var visited []string
	for st.Node != "" {
		visited = append(visited, st.Node)
		if err := x.Step(context.Background(), r, st); err != nil {
			t.Fatalf("Step %s: %v", visited[len(visited)-1], err)
		}
	}
	if want := []string{"assess", "decide", "approve"}; !slices.Equal(visited, want) {
		t.Errorf("visited = %v, want %v", visited, want)
	}
	if got := string(st.Outputs["assess"]); got != `{"risk":"low"}` {
		t.Errorf("Outputs[assess] = %s, want {\"risk\":\"low\"}", got)
	}
	if st.Visits != 3 {
		t.Errorf("Visits = %d, want 3", st.Visits)
	}
	if len(st.Output) == 0 {
		t.Error("Output is empty after the emitting node")
	}
}
