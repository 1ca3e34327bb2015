package telemetry

import (
	"context"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tool call outcomes, the values of the outcome label and attribute.
const (
	ToolOK          = "ok"
	ToolError       = "error"
	ToolTimeout     = "timeout"
	ToolInvalidArgs = "invalid_arguments"
	ToolUnknown     = "unknown_tool"
)

// ToolCall is a tool call in progress, from [Telemetry.StartToolCall].
type ToolCall struct {
	tel  *Telemetry
	name string
	span trace.Span
}

// StartToolCall starts the "tool.call" span of a call to the tool named
// name. Call End when the call ends.
func (t *Telemetry) StartToolCall(ctx context.Context, name string) (context.Context, *ToolCall) {
	attrs := append(IDsFrom(ctx).Attributes(), attribute.String("agentry.tool.name", name))
	ctx, span := t.Start(ctx, "tool.call", attrs...)
	return ctx, &ToolCall{tel: t, name: name, span: span}
}

// End ends the span with outcome, one of the Tool constants, and counts
// the call. err, when set, is recorded on the span.
func (c *ToolCall) End(outcome string, err error) {
	c.span.SetAttributes(attribute.String("agentry.tool.outcome", outcome))
	if outcome != ToolOK {
		if err != nil {
			c.span.RecordError(err)
		}
		c.span.SetStatus(codes.Error, "tool call "+outcome)
	}
	c.span.End()
	c.tel.Metrics().ToolCall(c.name, outcome)
}

// Attempt is an outbound delivery attempt in progress, from
// [Telemetry.StartDelivery].
type Attempt struct {
	tel    *Telemetry
	target string
	span   trace.Span
}

// StartDelivery starts the "delivery.attempt" span of one POST to target
// (callback, or an event sink's name). rawURL is recorded without its
// user info, query and fragment, so no credential reaches the trace.
func (t *Telemetry) StartDelivery(ctx context.Context, target, rawURL string, attempt int) (context.Context, *Attempt) {
	attrs := append(IDsFrom(ctx).Attributes(),
		attribute.String("agentry.delivery.target", target),
		attribute.Int("agentry.delivery.attempt", attempt),
	)
	if u := RedactURL(rawURL); u != "" {
		attrs = append(attrs, attribute.String("url.full", u))
	}
	ctx, span := t.Start(ctx, "delivery.attempt", attrs...)
	return ctx, &Attempt{tel: t, target: target, span: span}
}

// End ends the span with the response status (0 when there was none) and
// outcome, one of the Delivery constants, and counts the attempt.
// message describes a failure and never contains the URL.
func (a *Attempt) End(status int, outcome, message string) {
	if status > 0 {
		a.span.SetAttributes(attribute.Int("http.response.status_code", status))
	}
	a.span.SetAttributes(attribute.String("agentry.delivery.outcome", outcome))
	if outcome != DeliveryDelivered {
		a.span.SetStatus(codes.Error, message)
	}
	a.span.End()
	a.tel.Metrics().DeliveryAttempt(a.target, outcome)
}

// RedactURL returns rawURL without user info, query and fragment, or ""
// when rawURL does not parse.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return ""
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}
