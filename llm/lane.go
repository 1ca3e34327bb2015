package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/agentry/agentry/manifest"
)

// Lane names used by [New].
const (
	LaneChat       = "chat"
	LaneEvaluation = "evaluation"
)

// Candidate is one model of a lane.
type Candidate struct {
	// ID is the model id, "provider/model"; it appears in errors, logs
	// and [Reply.Model].
	ID string
	// Model is the model the lane calls.
	Model llms.Model
	// Timeout bounds each call to Model, retries included. Default
	// [DefaultTimeout].
	Timeout time.Duration
}

// LaneConfig configures [NewLane].
type LaneConfig struct {
	// Name names the lane in errors and logs, for example "chat".
	Name string
	// Models are tried in order: the primary model, then the fallbacks.
	// At least one is required.
	Models []Candidate
	// ContextWindow is the lane's context size in tokens. Default
	// manifest.DefaultContextWindow.
	ContextWindow int
	// Logger receives a warning for each model that fails. Default
	// slog.Default().
	Logger *slog.Logger
}

// Lane is a chain of models, a primary and its fallbacks, that implements
// llms.Model. A call goes to the first model. When that model fails for
// any reason other than the end of the caller's context, the next model
// is tried, and so on. Tool names are mapped to provider names on the way
// in and back on the way out, so callers use "ns:name" throughout. A Lane
// is safe for concurrent use.
type Lane struct {
	name          string
	models        []Candidate
	contextWindow int
	logger        *slog.Logger
}

var _ llms.Model = (*Lane)(nil)

// NewLane returns a lane over cfg.Models.
func NewLane(cfg LaneConfig) (*Lane, error) {
	if len(cfg.Models) == 0 {
		return nil, fmt.Errorf("lane %q: no models: name at least one model", cfg.Name)
	}
	models := make([]Candidate, len(cfg.Models))
	copy(models, cfg.Models)
	for i := range models {
		if models[i].Model == nil {
			return nil, fmt.Errorf("lane %q: model %q is nil", cfg.Name, models[i].ID)
		}
		if models[i].Timeout <= 0 {
			models[i].Timeout = DefaultTimeout
		}
	}
	l := &Lane{
		name:          cfg.Name,
		models:        models,
		contextWindow: cfg.ContextWindow,
		logger:        cfg.Logger,
	}
	if l.contextWindow <= 0 {
		l.contextWindow = manifest.DefaultContextWindow
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	return l, nil
}

// Name returns the lane's name.
func (l *Lane) Name() string { return l.name }

// Models returns the ids of the lane's models in the order they are tried.
func (l *Lane) Models() []string {
	ids := make([]string, len(l.models))
	for i, m := range l.models {
		ids[i] = m.ID
	}
	return ids
}

// ContextWindow returns the lane's context size in tokens.
func (l *Lane) ContextWindow() int { return l.contextWindow }

// Generate calls the lane like GenerateContent and flattens the response
// into a [Reply] whose Model field names the model that produced it.
func (l *Lane) Generate(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (Reply, error) {
	resp, err := l.GenerateContent(ctx, msgs, options...)
	if err != nil {
		return Reply{}, err
	}
	return Flatten(resp), nil
}

// GenerateContent implements llms.Model. It returns the response of the
// first model that succeeds, with tool calls mapped back to the caller's
// names and normalized as [Flatten] describes, and the model's id under
// [ModelInfoKey] in each choice's GenerationInfo. When ctx ends, it
// returns ctx's error at once and tries no further model. When every
// model fails, the error wraps [ErrAllModelsFailed] and each model's
// error.
//
// NOTE: with llms.WithStreamingFunc, a model that fails after streaming
// some chunks has already passed them on when the next model starts.
func (l *Lane) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	msgs, options, names, err := prepareCall(msgs, options)
	if err != nil {
		return nil, fmt.Errorf("%s lane: %w", l.name, err)
	}
	var failures modelErrors
	for i, m := range l.models {
		resp, err := l.call(ctx, m, msgs, options)
		if err == nil {
			restoreResponse(resp, names)
			stampModel(resp, m.ID)
			return resp, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s lane: model %s: %w", l.name, m.ID, ctxErr)
		}
		failures = append(failures, fmt.Errorf("model %s: %w", m.ID, err))
		if i+1 < len(l.models) {
			l.logger.WarnContext(ctx, "model failed, trying the next one",
				"lane", l.name, "model", m.ID, "next", l.models[i+1].ID, "error", err)
		}
	}
	return nil, fmt.Errorf("%s lane: %w: %w", l.name, ErrAllModelsFailed, failures)
}

// call runs one model under its timeout.
func (l *Lane) call(ctx context.Context, m Candidate, msgs []llms.MessageContent, options []llms.CallOption) (*llms.ContentResponse, error) {
	callCtx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	resp, err := m.Model.GenerateContent(callCtx, msgs, options...)
	if err != nil {
		if ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("timed out after %s: %w", m.Timeout, err)
		}
		return nil, err
	}
	if resp == nil || len(resp.Choices) == 0 {
		return nil, errors.New("empty response: the model returned no choices")
	}
	return resp, nil
}

func stampModel(resp *llms.ContentResponse, id string) {
	for _, c := range resp.Choices {
		if c == nil {
			continue
		}
		if c.GenerationInfo == nil {
			c.GenerationInfo = make(map[string]any, 1)
		}
		c.GenerationInfo[ModelInfoKey] = id
	}
}

// Call implements llms.Model for a single text prompt.
func (l *Lane) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, l, prompt, options...)
}
