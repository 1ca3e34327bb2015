package scripted

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tmc/langchaingo/llms"
)

// DemoName is the name of the built-in demo model, "scripted/demo".
const DemoName = "demo"

// ErrNoRule reports that no rule of a script matches a call.
var ErrNoRule = errors.New("no rule matches")

// Model is a deterministic llms.Model: the built-in demo, or a model that
// follows a [Script]. The same messages, options and lane always give the
// same response. A Model is safe for concurrent use.
type Model struct {
	name   string
	lane   string
	script *Script
}

var _ llms.Model = (*Model)(nil)

// Option configures [New].
type Option func(*Model)

// WithLane sets the lane the model serves ("chat" or "evaluation"), which
// the `lane` condition of rules and the demo's choice of reply read.
// Default "chat".
func WithLane(lane string) Option {
	return func(m *Model) { m.lane = lane }
}

// WithScript makes the model follow script instead of the demo.
func WithScript(script *Script) Option {
	return func(m *Model) { m.script = script }
}

// New returns the model scripted/name. Without [WithScript], name must be
// [DemoName].
func New(name string, opts ...Option) (*Model, error) {
	m := &Model{name: name, lane: "chat"}
	for _, opt := range opts {
		opt(m)
	}
	if m.script == nil && name != DemoName {
		return nil, fmt.Errorf("scripted/%s: no script: give one with WithScript, or use scripted/%s", name, DemoName)
	}
	return m, nil
}

// Name returns the model's name without the "scripted/" prefix.
func (m *Model) Name() string { return m.name }

// Lane returns the lane the model serves.
func (m *Model) Lane() string { return m.lane }

// GenerateContent implements llms.Model. A script's rule with a delay
// waits before replying and returns ctx's error if ctx ends first. With
// llms.WithStreamingFunc set, a text reply is passed to it in one chunk.
func (m *Model) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := call{msgs: msgs, lane: m.lane}
	for _, opt := range options {
		opt(&c.opts)
	}
	var out output
	if m.script == nil {
		out = demoOutput(&c)
	} else {
		r := m.script.match(&c)
		if r == nil {
			return nil, fmt.Errorf("scripted/%s (lane %s): %w %s", m.name, m.lane, ErrNoRule, c.describeLast())
		}
		if err := wait(ctx, r.delay); err != nil {
			return nil, fmt.Errorf("scripted/%s: rule %d delay: %w", m.name, r.index, err)
		}
		var err error
		if out, err = r.output(&c); err != nil {
			return nil, fmt.Errorf("scripted/%s: rule %d: %w", m.name, r.index, err)
		}
	}
	if out.toolName == "" && c.opts.StreamingFunc != nil && out.text != "" {
		if err := c.opts.StreamingFunc(ctx, []byte(out.text)); err != nil {
			return nil, fmt.Errorf("scripted/%s: streaming: %w", m.name, err)
		}
	}
	return out.response(&c), nil
}

// Call implements llms.Model for a single text prompt.
func (m *Model) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, options...)
}

// output is the model's reply: text, or one tool call.
type output struct {
	text     string
	toolName string
	toolArgs string
}

func (a output) response(c *call) *llms.ContentResponse {
	choice := &llms.ContentChoice{Content: a.text, StopReason: "stop"}
	if a.toolName != "" {
		fc := &llms.FunctionCall{Name: a.toolName, Arguments: a.toolArgs}
		choice.Content = ""
		choice.StopReason = "tool_calls"
		choice.FuncCall = fc
		choice.ToolCalls = []llms.ToolCall{{
			ID:           "call_" + strconv.Itoa(c.countToolCalls()+1),
			Type:         "function",
			FunctionCall: fc,
		}}
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{choice}}
}

func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
