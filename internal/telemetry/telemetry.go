// Package telemetry holds the spans, metrics and log attributes that the
// server's packages share. A nil *Telemetry is valid: its spans go to the
// global OpenTelemetry provider (a no-op unless the application installs
// one) and its metrics are not recorded.
package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// TracerName names the tracer of every span the server starts.
const TracerName = "github.com/agentry/agentry"

// Telemetry is one server's tracer and metrics. It is safe for concurrent
// use.
type Telemetry struct {
	tracer  trace.Tracer
	metrics *Metrics
	log     *slog.Logger
}

// New returns telemetry that starts spans on provider and records metrics
// in m. A nil provider means the global one, looked up at each span so
// that a provider installed later receives them. A nil m records no
// metrics. Model calls are logged to log at debug level; nil means
// slog.Default().
func New(provider trace.TracerProvider, m *Metrics, log *slog.Logger) *Telemetry {
	t := &Telemetry{metrics: m, log: log}
	if provider != nil {
		t.tracer = provider.Tracer(TracerName)
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	return t
}

// Tracer returns the tracer that spans start on.
func (t *Telemetry) Tracer() trace.Tracer {
	if t == nil || t.tracer == nil {
		return otel.Tracer(TracerName)
	}
	return t.tracer
}

// Metrics returns the metrics, or nil when none are recorded. The methods
// of a nil *Metrics do nothing.
func (t *Telemetry) Metrics() *Metrics {
	if t == nil {
		return nil
	}
	return t.metrics
}

// Logger returns the logger that model calls are logged to.
func (t *Telemetry) Logger() *slog.Logger {
	if t == nil || t.log == nil {
		return slog.Default()
	}
	return t.log
}

// Start starts a span named name as a child of the span in ctx.
func (t *Telemetry) Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return t.Tracer().Start(ctx, name, trace.WithAttributes(attrs...))
}

// StartRoot starts a span named name that begins a new trace, for work
// such as a turn or a run that no request is waiting for.
func (t *Telemetry) StartRoot(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return t.Tracer().Start(ctx, name, trace.WithNewRoot(), trace.WithAttributes(attrs...))
}

// StartPolicyMatch starts the "policy.match" span of one evaluation call
// that matches a batch of policy conditions, with the ids of the policies
// in the batch.
func (t *Telemetry) StartPolicyMatch(ctx context.Context, policyIDs []string) (context.Context, trace.Span) {
	return t.Start(ctx, "policy.match",
		attribute.StringSlice("agentry.policy.ids", policyIDs),
		attribute.Int("agentry.policy.batch_size", len(policyIDs)))
}
