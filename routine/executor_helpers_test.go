package routine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/llm"
	"github.com/agentry/agentry/llm/scripted"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/tool"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// recorder wraps a model and keeps the transcript of every call.
type recorder struct {
	llms.Model
	mu    sync.Mutex
	calls [][]llms.MessageContent
}

func (r *recorder) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	r.mu.Lock()
	r.calls = append(r.calls, append([]llms.MessageContent(nil), msgs...))
	r.mu.Unlock()
	return r.Model.GenerateContent(ctx, msgs, options...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// lastText returns the text of the last message of call i.
func (r *recorder) lastText(i int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	msgs := r.calls[i]
	return messageText(msgs[len(msgs)-1])
}

// messageText joins the text parts and tool results of m.
func messageText(m llms.MessageContent) string {
	var parts []string
	for _, p := range m.Parts {
		switch v := p.(type) {
		case llms.TextContent:
			parts = append(parts, v.Text)
		case llms.ToolCallResponse:
			parts = append(parts, v.Content)
		}
	}
	return strings.Join(parts, "\n")
}

// scriptedLanes returns the chat and evaluation lanes of one script,
// each behind a recorder.
func scriptedLanes(t *testing.T, script string) (chat, eval *recorder) {
	t.Helper()
	s, err := scripted.ParseScript([]byte(script))
	if err != nil {
		t.Fatalf("ParseScript: %v", err)
	}
	lane := func(name string) *recorder {
		m, err := scripted.New("test", scripted.WithScript(s), scripted.WithLane(name))
		if err != nil {
			t.Fatalf("scripted.New: %v", err)
		}
		l, err := llm.NewLane(llm.LaneConfig{
			Name:   name,
			Models: []llm.Candidate{{ID: "scripted/test", Model: m}},
			Logger: quietLogger(),
		})
		if err != nil {
			t.Fatalf("NewLane: %v", err)
		}
		return &recorder{Model: l}
	}
	return lane(llm.LaneChat), lane(llm.LaneEvaluation)
}

// lookupTool is a native tool with a strict argument schema. It records
// the arguments of each call.
type lookupTool struct {
	name string
	// fail makes every call return an error; panic makes it panic.
	fail, panic bool
	// started, when set, is signalled at the start of each call, and the
	// call then waits for release to close.
	started chan<- string
	release <-chan struct{}

	mu   sync.Mutex
	args []string
}

func (l *lookupTool) Name() string        { return l.name }
func (l *lookupTool) Description() string { return "Looks up an applicant by id." }
func (l *lookupTool) Schema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer","minimum":1}},"required":["id"],"additionalProperties":false}`)
}

func (l *lookupTool) Call(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	l.mu.Lock()
	l.args = append(l.args, string(args))
	l.mu.Unlock()
	if l.started != nil {
		l.started <- l.name
		select {
		case <-l.release:
		case <-ctx.Done():
			return tool.Result{}, ctx.Err()
		}
	}
	if l.panic {
		panic("lookup exploded")
	}
	if l.fail {
		return tool.Result{}, errors.New("directory unavailable")
	}
	var a struct {
		ID json.Number `json:"id"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return tool.Result{}, err
	}
	return tool.Result{Content: json.RawMessage(`{"id":` + a.ID.String() + `,"sanctioned":false}`)}, nil
}

func (l *lookupTool) calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.args...)
}

// pingTool is a native tool without parameters.
type pingTool struct {
	mu   sync.Mutex
	args []string
}

func (p *pingTool) Name() string            { return "kyc:ping" }
func (p *pingTool) Description() string     { return "Checks that the directory is up." }
func (p *pingTool) Schema() json.RawMessage { return nil }
func (p *pingTool) Call(_ context.Context, args json.RawMessage) (tool.Result, error) {
	p.mu.Lock()
	p.args = append(p.args, string(args))
	p.mu.Unlock()
	return tool.Result{Content: json.RawMessage(`"pong"`)}, nil
}

// observed records what an Observer receives.
type observed struct {
	mu    sync.Mutex
	nodes []string
	tools []string
	errs  []error
}

func (o *observed) NodeEntered(node string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nodes = append(o.nodes, node)
}

func (o *observed) ToolCalled(name string, _ json.RawMessage, _ tool.Result, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tools = append(o.tools, name)
	o.errs = append(o.errs, err)
}

const (
	kycInputSchema = `{
  "type": "object",
  "properties": {
    "applicant": {
      "type": "object",
      "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string", "minLength": 1},
        "email": {"type": "string", "format": "email"}
      },
      "required": ["id", "name"]
    }
  },
  "required": ["applicant"]
}`
	kycOutputSchema = `{
  "type": "object",
  "properties": {
    "applicant_id": {"type": "integer"},
    "decision": {"enum": ["approve", "review", "reject"]},
    "checked_at": {"type": "string", "format": "date-time"}
  },
  "required": ["applicant_id", "decision"]
}`
	kycInput = `{"applicant": {"id": 9007199254740993, "name": "Ada", "email": "ada@example.com"}}`
)

// kycRoutine assesses an applicant (think), routes on the risk, and
// approves (emit) or looks the applicant up first (tool, emit).
func kycRoutine() manifest.Routine {
	return manifest.Routine{
		ID:          "kyc",
		Title:       "KYC check",
		Description: "Assesses an applicant and decides.",
		Entry:       "assess",
		Nodes: []manifest.Node{
			{
				ID:           "assess",
				Think:        "Assess the applicant's risk.",
				OutputSchema: json.RawMessage(`{"type":"object","properties":{"risk":{"enum":["low","high"]}},"required":["risk"]}`),
				Transitions:  []manifest.Transition{{To: "decide"}},
			},
			{
				ID: "decide",
				Transitions: []manifest.Transition{
					{To: "approve", Condition: "the risk is low"},
					{To: "review", Condition: "the risk is high"},
				},
			},
			{ID: "approve", Tools: []string{manifest.EmitOutputTool}, ToolInstruction: "Approve the applicant."},
			{ID: "review", Tools: []string{"kyc:lookup", manifest.EmitOutputTool}, ToolInstruction: "Look the applicant up, then decide."},
		},
		Autonomous: &manifest.Autonomous{
			InputSchema:  json.RawMessage(kycInputSchema),
			OutputSchema: json.RawMessage(kycOutputSchema),
			Instructions: "Be strict.",
		},
	}
}

// compileRegistry returns a registry holding tools.
func compileRegistry(t *testing.T, tools ...tool.Tool) *tool.Registry {
	t.Helper()
	reg, err := tool.NewRegistry(tools...)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return reg
}

// compileKYC compiles kycRoutine with a registry holding tools.
func compileKYC(t *testing.T, tools ...tool.Tool) (*Routine, *tool.Registry) {
	t.Helper()
	reg := compileRegistry(t, tools...)
	r, err := Compile(kycRoutine(), reg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return r, reg
}

// failureCode returns the code of the Failure in err, or "" when err
// holds none.
func failureCode(err error) string {
	if f := AsFailure(err); f != nil {
		return f.Code
	}
	return ""
}
