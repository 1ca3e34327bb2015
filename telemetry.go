package agentry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/manifest"
)

// traceExportTimeout bounds one export to the trace backend, so a
// backend that hangs holds up only the export queue, never a turn.
const traceExportTimeout = 10 * time.Second

// observability is a server's tracer provider, metrics and their HTTP
// handler.
type observability struct {
	tel *telemetry.Telemetry
	// provider is the server's own provider when traces.backend.url is
	// set; nil otherwise, when spans go to the global provider.
	provider *sdktrace.TracerProvider
	metrics  http.Handler
}

// newObservability builds the metrics registry and, when the manifest
// names a trace backend, a tracer provider that exports to it.
func newObservability(m *manifest.Manifest, log *slog.Logger) (*observability, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	metrics, err := telemetry.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	o := &observability{
		metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: promErrorLog{log}}),
	}
	if tr := m.AgentConfig.Traces; tr != nil && tr.Backend.URL != "" {
		o.provider = newTracerProvider(m.ID, tr, metrics, log)
		o.tel = telemetry.New(o.provider, metrics, log)
	} else {
		o.tel = telemetry.New(nil, metrics, log)
	}
	return o, nil
}

// newTracerProvider returns a provider that sends every span to the
// OTLP/HTTP endpoint of tr through a bounded queue. The endpoint is
// configured by the operator, so it may be a private address and the
// outbound guard of callbacks does not apply to it.
func newTracerProvider(agentID string, tr *manifest.Traces, metrics *telemetry.Metrics, log *slog.Logger) *sdktrace.TracerProvider {
	client := &telemetry.OTLPClient{
		URL:           tr.Backend.URL,
		Authorization: traceAuthorization(tr),
		HTTPClient: &http.Client{
			Timeout: traceExportTimeout,
			// A redirect would carry the Authorization header elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	exporter := otlptrace.NewUnstarted(client)
	queue := telemetry.NewQueue(exporter, telemetry.QueueConfig{
		Timeout: traceExportTimeout,
		Metrics: metrics,
		Logger:  log,
	})
	attrs := []attribute.KeyValue{
		attribute.String("service.name", "agentry"),
		attribute.String("agentry.agent_id", agentID),
	}
	if env := tr.DeploymentEnvironment; env != "" {
		attrs = append(attrs,
			attribute.String("deployment.environment", env),
			attribute.String("deployment.environment.name", env))
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(queue),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
	)
}

// traceAuthorization returns the Authorization header of trace exports.
func traceAuthorization(tr *manifest.Traces) string {
	if tr.APIKey == "" {
		return ""
	}
	if tr.APIKeyScheme == manifest.TraceAuthBasic {
		return "Basic " + tr.APIKey
	}
	return "Bearer " + tr.APIKey
}

// shutdown flushes the spans in the export queue and stops the provider.
func (o *observability) shutdown(ctx context.Context) error {
	if o == nil || o.provider == nil {
		return nil
	}
	if err := o.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("agentry: shutting down the tracer provider: %w", err)
	}
	return nil
}

// promErrorLog passes the errors of the metrics handler to the server's
// logger.
type promErrorLog struct{ log *slog.Logger }

func (p promErrorLog) Println(v ...any) {
	p.log.Error("serving /metrics failed", "error", fmt.Sprint(v...))
}
