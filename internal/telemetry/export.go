package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// OTLPClient sends spans to an OTLP/HTTP traces endpoint in the binary
// protobuf encoding. It implements the Client interface of
// go.opentelemetry.io/otel/exporters/otlp/otlptrace. It replaces the
// otlptracehttp exporter of OpenTelemetry Go v1.47.0, which imports gRPC
// and added 5.6 MB to the agentry binary (go1.26, linux/amd64). Unlike
// that exporter, it does not retry: a failed batch is dropped.
type OTLPClient struct {
	// URL is the full endpoint, such as http://127.0.0.1:4318/v1/traces.
	URL string
	// Authorization is the value of the Authorization header; none when
	// empty.
	Authorization string
	// HTTPClient sends the requests. It must have a timeout.
	HTTPClient *http.Client
}

// Start implements otlptrace.Client.
func (c *OTLPClient) Start(context.Context) error { return nil }

// Stop implements otlptrace.Client.
func (c *OTLPClient) Stop(context.Context) error { return nil }

// UploadTraces implements otlptrace.Client: one POST of an
// ExportTraceServiceRequest. A status other than 2xx is an error. The
// error never contains the URL, whose path may carry a token.
func (c *OTLPClient) UploadTraces(ctx context.Context, spans []*tracepb.ResourceSpans) error {
	body, err := encodeExportRequest(spans)
	if err != nil {
		return fmt.Errorf("encoding spans: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("building the export request failed: check traces.backend.url")
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", "agentry-traces")
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		// *url.Error repeats the URL, so only its cause is kept.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("sending spans failed: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("trace backend responded %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return nil
}

// encodeExportRequest encodes an ExportTraceServiceRequest, whose only
// field is repeated ResourceSpans resource_spans = 1. Encoding it by hand
// avoids the collector package, which imports gRPC.
func encodeExportRequest(spans []*tracepb.ResourceSpans) ([]byte, error) {
	var out []byte
	for _, rs := range spans {
		b, err := proto.Marshal(rs)
		if err != nil {
			return nil, err
		}
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, b)
	}
	return out, nil
}

// QueueConfig configures [NewQueue].
type QueueConfig struct {
	// Size bounds the spans waiting for export. Default 2048.
	Size int
	// BatchSize is the most spans sent in one export. Default 512.
	BatchSize int
	// Interval is the longest a span waits before its batch is sent.
	// Default 2s.
	Interval time.Duration
	// Timeout bounds one export. Default 10s.
	Timeout time.Duration
	// Metrics counts the dropped spans. Optional.
	Metrics *Metrics
	// Logger receives export failures, one line per run of failures.
	// Default slog.Default().
	Logger *slog.Logger
}

// Queue is a span processor that batches ended spans for an exporter. It
// never blocks the code that ends a span: when the queue is full, the
// span is dropped and counted, and so are the spans of a failed export.
type Queue struct {
	cfg      QueueConfig
	exporter sdktrace.SpanExporter
	spans    chan sdktrace.ReadOnlySpan
	flush    chan chan struct{}
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once

	mu      sync.Mutex
	failing bool
}

var _ sdktrace.SpanProcessor = (*Queue)(nil)

// NewQueue starts a queue in front of exporter.
func NewQueue(exporter sdktrace.SpanExporter, cfg QueueConfig) *Queue {
	if cfg.Size <= 0 {
		cfg.Size = 2048
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 512
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	q := &Queue{
		cfg:      cfg,
		exporter: exporter,
		spans:    make(chan sdktrace.ReadOnlySpan, cfg.Size),
		flush:    make(chan chan struct{}),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go q.run()
	return q
}

// OnStart implements sdktrace.SpanProcessor.
func (q *Queue) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd implements sdktrace.SpanProcessor: it queues the span, or drops
// it when the queue is full or shut down.
func (q *Queue) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	select {
	case <-q.stop:
		q.cfg.Metrics.SpansDropped(1)
		return
	default:
	}
	select {
	case q.spans <- s:
	default:
		q.cfg.Metrics.SpansDropped(1)
	}
}

// ForceFlush implements sdktrace.SpanProcessor: it exports the queued
// spans and returns when they are sent or ctx ends.
func (q *Queue) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case q.flush <- ack:
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown implements sdktrace.SpanProcessor: it exports the queued spans
// and shuts the exporter down, within ctx.
func (q *Queue) Shutdown(ctx context.Context) error {
	q.once.Do(func() { close(q.stop) })
	select {
	case <-q.done:
	case <-ctx.Done():
		return fmt.Errorf("flushing spans: %w", ctx.Err())
	}
	return q.exporter.Shutdown(ctx)
}

// run collects spans into batches and exports each when it is full, when
// Interval has passed, on a flush and at shutdown.
func (q *Queue) run() {
	defer close(q.done)
	ticker := time.NewTicker(q.cfg.Interval)
	defer ticker.Stop()
	batch := make([]sdktrace.ReadOnlySpan, 0, q.cfg.BatchSize)
	send := func() {
		if len(batch) > 0 {
			q.export(batch)
			batch = batch[:0]
		}
	}
	drain := func() {
		for {
			select {
			case s := <-q.spans:
				batch = append(batch, s)
				if len(batch) == q.cfg.BatchSize {
					send()
				}
			default:
				send()
				return
			}
		}
	}
	for {
		select {
		case s := <-q.spans:
			batch = append(batch, s)
			if len(batch) == q.cfg.BatchSize {
				send()
			}
		case <-ticker.C:
			send()
		case ack := <-q.flush:
			drain()
			close(ack)
		case <-q.stop:
			drain()
			return
		}
	}
}

// export sends one batch and counts its spans as dropped when it fails.
// A failure is logged once until an export succeeds again, so a backend
// that is down does not flood the log.
func (q *Queue) export(batch []sdktrace.ReadOnlySpan) {
	ctx, cancel := context.WithTimeout(context.Background(), q.cfg.Timeout)
	defer cancel()
	err := q.exporter.ExportSpans(ctx, batch)
	q.mu.Lock()
	defer q.mu.Unlock()
	if err != nil {
		q.cfg.Metrics.SpansDropped(len(batch))
		if !q.failing {
			q.cfg.Logger.Warn("exporting spans failed; dropping them until the trace backend accepts spans again",
				"spans", len(batch), "error", err)
		}
		q.failing = true
		return
	}
	if q.failing {
		q.cfg.Logger.Info("exporting spans works again")
	}
	q.failing = false
}
