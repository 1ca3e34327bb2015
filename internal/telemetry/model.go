package telemetry

import (
	"context"
	"strings"
	"time"

	"github.com/tmc/langchaingo/llms"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/agentry/agentry/llm"
)

// Model wraps a lane's llms.Model so that each call is a "model.call"
// span, a metric and a debug log line with the session, turn and run ids
// of its context.
type Model struct {
	lane  string
	model llms.Model
	tel   *Telemetry
}

var _ llms.Model = (*Model)(nil)

// WrapModel returns m instrumented as lane ("chat" or "evaluation"), or
// nil when m is nil.
func (t *Telemetry) WrapModel(lane string, m llms.Model) llms.Model {
	if m == nil {
		return nil
	}
	return &Model{lane: lane, model: m, tel: t}
}

// Unwrap returns the wrapped model.
func (m *Model) Unwrap() llms.Model { return m.model }

// GenerateContent implements llms.Model.
func (m *Model) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	ids := IDsFrom(ctx)
	attrs := append(ids.Attributes(), attribute.String("agentry.lane", m.lane))
	ctx, span := m.tel.Start(ctx, "model.call", attrs...)
	defer span.End()

	started := time.Now()
	resp, err := m.model.GenerateContent(ctx, msgs, options...)
	elapsed := time.Since(started)

	modelID := m.firstModel()
	if err == nil {
		if id := respondingModel(resp); id != "" {
			modelID = id
		}
	}
	provider, model := splitModelID(modelID)
	span.SetAttributes(
		attribute.String("gen_ai.provider.name", provider),
		attribute.String("gen_ai.request.model", model),
	)
	log := m.tel.Logger().With(ids.LogArgs()...)
	outcome := "ok"
	if err != nil {
		outcome = "error"
		span.RecordError(err)
		span.SetStatus(codes.Error, "model call failed")
		log.Debug("model call failed", "lane", m.lane, "model", modelID, "duration", elapsed.String(), "error", err)
	} else {
		input, output, ok := tokenUsage(resp)
		if ok {
			span.SetAttributes(
				attribute.Int("gen_ai.usage.input_tokens", input),
				attribute.Int("gen_ai.usage.output_tokens", output),
			)
		}
		log.Debug("model call finished", "lane", m.lane, "model", modelID, "duration", elapsed.String(),
			"input_tokens", input, "output_tokens", output)
	}
	m.tel.Metrics().ModelCall(m.lane, provider, outcome, elapsed)
	return resp, err
}

// Call implements llms.Model for a single text prompt.
func (m *Model) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, options...)
}

// firstModel returns the id of the model a call goes to first, when the
// wrapped model is a lane, else "".
func (m *Model) firstModel() string {
	if lane, ok := m.model.(*llm.Lane); ok {
		if ids := lane.Models(); len(ids) > 0 {
			return ids[0]
		}
	}
	return ""
}

// respondingModel returns the model id that a lane stamps on its
// response, or "".
func respondingModel(resp *llms.ContentResponse) string {
	if resp == nil {
		return ""
	}
	for _, c := range resp.Choices {
		if c == nil {
			continue
		}
		if id, ok := c.GenerationInfo[llm.ModelInfoKey].(string); ok && id != "" {
			return id
		}
	}
	return ""
}

// splitModelID splits "provider/model"; an id without a provider, from a
// model that is not a lane, yields provider "custom".
func splitModelID(id string) (provider, model string) {
	provider, model, ok := strings.Cut(id, "/")
	if !ok || provider == "" {
		return "custom", id
	}
	return provider, model
}

// tokenUsage reads the token counts that langchaingo v0.1.14 clients put
// in GenerationInfo: PromptTokens and CompletionTokens (OpenAI), or
// InputTokens and OutputTokens (Anthropic). The Anthropic client returns
// one choice per content block, each with the same counts, so only the
// first choice that has them is read.
func tokenUsage(resp *llms.ContentResponse) (input, output int, ok bool) {
	if resp == nil {
		return 0, 0, false
	}
	for _, c := range resp.Choices {
		if c == nil {
			continue
		}
		in, inOK := intValue(c.GenerationInfo, "PromptTokens", "InputTokens")
		out, outOK := intValue(c.GenerationInfo, "CompletionTokens", "OutputTokens")
		if inOK || outOK {
			return in, out, true
		}
	}
	return 0, 0, false
}

// intValue returns the first of keys that info has as an integer.
func intValue(info map[string]any, keys ...string) (int, bool) {
	for _, k := range keys {
		switch v := info[k].(type) {
		case int:
			return v, true
		case int32:
			return int(v), true
		case int64:
			return int(v), true
		case float64:
			return int(v), true
		}
	}
	return 0, false
}
