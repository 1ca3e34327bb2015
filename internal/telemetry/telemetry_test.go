package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tmc/langchaingo/llms"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestLogHandlerAddsIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := WithIDs(context.Background(), IDs{SessionID: "ses_1", TurnID: "trn_1"})

	log.InfoContext(ctx, "from context")
	log.With("session_id", "ses_1").InfoContext(ctx, "already on the logger")
	log.InfoContext(ctx, "already on the record", "turn_id", "trn_1")
	log.Info("no context")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want 4:\n%s", len(lines), buf.Bytes())
	}
	for i, want := range []map[string]int{
		{"session_id": 1, "turn_id": 1, "run_id": 0},
		{"session_id": 1, "turn_id": 1, "run_id": 0},
		{"session_id": 1, "turn_id": 1, "run_id": 0},
		{"session_id": 0, "turn_id": 0, "run_id": 0},
	} {
		for key, n := range want {
			if got := bytes.Count(lines[i], []byte(`"`+key+`"`)); got != n {
				t.Errorf("line %d has %s %d times, want %d: %s", i, key, got, n, lines[i])
			}
		}
	}
}

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"https://user:pass@hooks.example.com/cb?token=secret#frag": "https://hooks.example.com/cb",
		"http://127.0.0.1:9000/kyc":                                "http://127.0.0.1:9000/kyc",
		"http://127.0.0.1:9000/kyc?":                               "http://127.0.0.1:9000/kyc",
		"not a url":                                                "",
		"":                                                         "",
	}
	for in, want := range cases {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokenUsage(t *testing.T) {
	cases := []struct {
		name      string
		info      map[string]any
		in, out   int
		wantFound bool
	}{
		{"openai", map[string]any{"PromptTokens": 12, "CompletionTokens": 5}, 12, 5, true},
		{"anthropic", map[string]any{"InputTokens": 7, "OutputTokens": 3}, 7, 3, true},
		{"none", map[string]any{"model": "x"}, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := &llms.ContentResponse{Choices: []*llms.ContentChoice{nil, {GenerationInfo: c.info}}}
			in, out, ok := tokenUsage(resp)
			if in != c.in || out != c.out || ok != c.wantFound {
				t.Errorf("tokenUsage = %d, %d, %v; want %d, %d, %v", in, out, ok, c.in, c.out, c.wantFound)
			}
		})
	}
}

func TestSplitModelID(t *testing.T) {
	cases := map[string][2]string{
		"openai/gpt-4o":        {"openai", "gpt-4o"},
		"ollama/library/llama": {"ollama", "library/llama"},
		"":                     {"custom", ""},
		"bare":                 {"custom", "bare"},
	}
	for id, want := range cases {
		provider, model := splitModelID(id)
		if provider != want[0] || model != want[1] {
			t.Errorf("splitModelID(%q) = %q, %q; want %q, %q", id, provider, model, want[0], want[1])
		}
	}
}

// blockingExporter holds every export until release is closed, or fails
// it when fail is set.
type blockingExporter struct {
	release chan struct{}
	fail    bool
	mu      sync.Mutex
	spans   int
}

func (e *blockingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	select {
	case <-e.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	if e.fail {
		return errors.New("backend down")
	}
	e.mu.Lock()
	e.spans += len(spans)
	e.mu.Unlock()
	return nil
}

func (e *blockingExporter) Shutdown(context.Context) error { return nil }

func droppedSpans(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "agentry_trace_spans_dropped_total" {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("agentry_trace_spans_dropped_total not registered")
	return 0
}

func TestQueueDropsWhenFull(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	exporter := &blockingExporter{release: make(chan struct{})}
	queue := NewQueue(exporter, QueueConfig{Size: 2, BatchSize: 1, Interval: time.Hour, Timeout: time.Minute, Metrics: m, Logger: slog.New(slog.DiscardHandler)})
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(queue))
	tracer := provider.Tracer("test")

	// The first span is taken by the export that blocks, two wait in the
	// queue and the other seven are dropped. Ending a span never blocks.
	done := make(chan struct{})
	go func() {
		_, s := tracer.Start(context.Background(), "first")
		s.End()
		deadline := time.Now().Add(5 * time.Second)
		for len(queue.spans) != 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		for range 9 {
			_, s := tracer.Start(context.Background(), "more")
			s.End()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ending spans blocked while the export was stuck")
	}
	if got := droppedSpans(t, reg); got != 7 {
		t.Errorf("dropped spans = %v, want 7", got)
	}

	close(exporter.release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := provider.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	exporter.mu.Lock()
	defer exporter.mu.Unlock()
	if exporter.spans != 3 {
		t.Errorf("exported spans = %d, want 3", exporter.spans)
	}
}

func TestQueueCountsFailedExports(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	exporter := &blockingExporter{release: make(chan struct{}), fail: true}
	close(exporter.release)
	queue := NewQueue(exporter, QueueConfig{Interval: time.Hour, Metrics: m, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(queue))
	tracer := provider.Tracer("test")
	ctx := context.Background()

	for range 2 {
		for range 3 {
			_, s := tracer.Start(ctx, "span")
			s.End()
		}
		if err := provider.ForceFlush(ctx); err != nil {
			t.Fatalf("flush: %v", err)
		}
	}
	if got := droppedSpans(t, reg); got != 6 {
		t.Errorf("dropped spans = %v, want 6", got)
	}
	var warnings int
	for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line: %v: %s", err, line)
		}
		if rec["level"] == "WARN" {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("%d warnings for two failed exports, want 1", warnings)
	}
	if err := provider.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestNilTelemetryIsSafe(t *testing.T) {
	var tel *Telemetry
	ctx, call := tel.StartToolCall(context.Background(), "ns:tool")
	call.End(ToolOK, nil)
	_, attempt := tel.StartDelivery(ctx, TargetCallback, "http://127.0.0.1/x?token=t", 1)
	attempt.End(200, DeliveryDelivered, "")
	tel.Metrics().TurnEnded("completed", time.Second)
	tel.Metrics().AddWaiter(WaiterSSE)()
	if tel.Tracer() == nil {
		t.Error("Tracer of nil telemetry is nil, want the global tracer")
	}
}
