package agentry_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/wire"
)

// observedManifest has a native tool, an autonomous routine whose
// callbacks are signed, an event webhook and an inbound webhook.
// Placeholders in capitals are replaced by startObserved.
const observedManifest = `
id: observed
name: Observed agent
agent_config:
  runtime:
    api_key: API_KEY
    signing_secret: SIGNING_SECRET
    metrics_public: METRICS_PUBLIC
    outbound: {allow_private_networks: true}
    delivery:
      retry_schedule: [100ms, 100ms]
      timeout: 4s
EVENT_WEBHOOK
  llms:
    default: scripted/test
    providers:
      scripted:
        script: SCRIPT
PROVIDERS
  context:
    routines:
      - id: decide
        title: KYC decision
        entry: emit
        autonomous:
          timeout_seconds: 60
          callback_url_allowlist: [127.0.0.1]
          input_schema:
            type: object
            properties:
              applicant_id: {type: string}
            required: [applicant_id]
          output_schema:
            type: object
            properties:
              decision: {enum: [approved, rejected]}
            required: [decision]
        nodes:
          - id: emit
            tools: ["built-in:emit_output"]
            tool_instruction: Decide and emit the output.
  webhooks:
    - name: kyc-result
      routine: decide
      secret: INBOUND_SECRET
TRACES
DATABASE
`

// observedScript refunds on request, emits the routine's output, and
// otherwise answers "ok".
const observedScript = `
- when: {after_tool: "built-in:emit_output"}
  reply: {text: "done"}
- when: {tool_offered: "built-in:emit_output"}
  reply:
    tool_call:
      name: built-in:emit_output
      arguments: {output_json: '{"decision": "approved"}'}
- when: {after_tool: "shop:refund"}
  reply: {text: "Refund result: {{.ToolResult}}"}
- when: {user_matches: "refund"}
  reply: {tool_call: {name: "shop:refund", arguments: {order: "o-1"}}}
- reply: {text: "ok"}
`

// observedConfig fills the placeholders of observedManifest. Empty
// fields leave their block out.
type observedConfig struct {
	apiKey        string
	signingSecret string
	inboundSecret string
	metricsPublic bool
	// eventWebhook is the runtime.event_webhook block, indented.
	eventWebhook string
	// providers are extra entries under llms.providers, indented.
	providers string
	// traces is the traces block, indented.
	traces string
	// database is the database block, indented.
	database string
	// logs receives the server's JSON logs at debug level; nil discards
	// them.
	logs io.Writer
}

// observedEnv is a running server built from observedManifest.
type observedEnv struct {
	srv    *agentry.Server
	client *client.Client
	url    string
	apiKey string
}

func startObserved(t *testing.T, cfg observedConfig) *observedEnv {
	t.Helper()
	if cfg.apiKey == "" {
		cfg.apiKey = "agent-key"
	}
	if cfg.signingSecret == "" {
		cfg.signingSecret = signingSecret
	}
	if cfg.inboundSecret == "" {
		cfg.inboundSecret = kycSecret
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "script.yaml")
	if err := os.WriteFile(script, []byte(observedScript), 0o600); err != nil {
		t.Fatal(err)
	}
	public := "false"
	if cfg.metricsPublic {
		public = "true"
	}
	yaml := strings.NewReplacer(
		"API_KEY", cfg.apiKey,
		"SIGNING_SECRET", cfg.signingSecret,
		"INBOUND_SECRET", cfg.inboundSecret,
		"METRICS_PUBLIC", public,
		"EVENT_WEBHOOK", cfg.eventWebhook,
		"PROVIDERS", cfg.providers,
		"SCRIPT", script,
		"TRACES", cfg.traces,
		"DATABASE", cfg.database,
	).Replace(observedManifest)
	m, err := manifest.Parse([]byte(yaml), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	logs := cfg.logs
	if logs == nil {
		logs = io.Discard
	}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := agentry.New(m, agentry.Options{Tools: shopTools(t), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Shutdown(context.Background())
	})
	return &observedEnv{srv: srv, client: client.New(hs.URL, cfg.apiKey), url: hs.URL, apiKey: cfg.apiKey}
}

// converseOnce opens a session, posts text and waits for the reply.
func (e *observedEnv) converseOnce(t *testing.T, sessionID, text string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := e.client.OpenSession(ctx, wire.CreateSessionRequest{ID: sessionID}); err != nil {
		t.Fatalf("open session %s: %v", sessionID, err)
	}
	posted, err := e.client.PostMessage(ctx, sessionID, text)
	if err != nil {
		t.Fatalf("post message: %v", err)
	}
	reply, failure := awaitReply(t, e.client, sessionID, posted.Offset+1)
	if failure != nil {
		t.Fatalf("turn failed: %+v", failure)
	}
	return reply
}

// shutdown stops the server, which flushes its spans.
func (e *observedEnv) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// scrape returns the metric families of GET /metrics, sent with the
// bearer token when auth is true, and fails unless the status is 200.
func (e *observedEnv) scrape(t *testing.T, auth bool) map[string]*dto.MetricFamily {
	t.Helper()
	status, body := e.getMetrics(t, auth)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, want 200; body %s", status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return families
}

func (e *observedEnv) getMetrics(t *testing.T, auth bool) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+e.apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// metricValue returns the value of the sample of family name whose
// labels include labels: a counter's or gauge's value, or a histogram's
// sample count. It returns -1 when no sample matches.
func metricValue(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f, ok := families[name]
	if !ok {
		return -1
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// otlpReceiver is an OTLP/HTTP traces endpoint that keeps every span and
// the Authorization header of every request.
type otlpReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	resource []*tracepb.ResourceSpans
	auth     []string
	types    []string
	bodies   [][]byte
	failures []string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	rc := &otlpReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req collectorpb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.auth = append(rc.auth, r.Header.Get("Authorization"))
		rc.bodies = append(rc.bodies, body)
		rc.types = append(rc.types, r.Header.Get("Content-Type"))
		if r.URL.Path != "/v1/traces" || err != nil {
			rc.failures = append(rc.failures, r.URL.Path+": "+errString(err))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.resource = append(rc.resource, req.GetResourceSpans()...)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// receivedSpan is a span with its resource's attributes.
type receivedSpan struct {
	*tracepb.Span
	resource map[string]string
}

func (rc *otlpReceiver) spans() []receivedSpan {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []receivedSpan
	for _, rs := range rc.resource {
		res := attrMap(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				out = append(out, receivedSpan{Span: s, resource: res})
			}
		}
	}
	return out
}

// attrMap returns attributes as strings: string and integer values only.
func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out[kv.GetKey()] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			out[kv.GetKey()] = strconv.FormatInt(v.IntValue, 10)
		}
	}
	return out
}

func (s receivedSpan) attr(key string) string { return attrMap(s.GetAttributes())[key] }

func spanID(b []byte) string { return hex.EncodeToString(b) }

// findSpans returns the spans named name whose attributes include attrs.
func findSpans(spans []receivedSpan, name string, attrs map[string]string) []receivedSpan {
	var out []receivedSpan
	for _, s := range spans {
		if s.GetName() != name {
			continue
		}
		match := true
		for k, v := range attrs {
			if s.attr(k) != v {
				match = false
			}
		}
		if match {
			out = append(out, s)
		}
	}
	return out
}

// oneSpan returns the single span named name with attrs.
func oneSpan(t *testing.T, spans []receivedSpan, name string, attrs map[string]string) receivedSpan {
	t.Helper()
	found := findSpans(spans, name, attrs)
	if len(found) != 1 {
		var names []string
		for _, s := range spans {
			names = append(names, s.GetName())
		}
		t.Fatalf("%d spans named %s with %v, want 1; spans received: %v", len(found), name, attrs, names)
	}
	return found[0]
}

func tracesBlock(url, key, scheme string) string {
	return "  traces:\n    backend:\n      url: " + url + "\n    api_key: " + key +
		"\n    api_key_scheme: " + scheme + "\n    deployment_environment: test\n"
}

func TestTracesOfTurnAndRun(t *testing.T) {
	otlp := newOTLPReceiver(t)
	rc := newReceiver(t)
	env := startObserved(t, observedConfig{traces: tracesBlock(otlp.URL+"/v1/traces", "trace-key", "bearer")})

	if reply := env.converseOnce(t, "s-traced", "a refund please"); !strings.Contains(reply, "refunded") {
		t.Fatalf("reply %q, want the refund result", reply)
	}
	resp := trigger(t, env.client, wire.TriggerRequest{
		Input:       []byte(`{"applicant_id": "app-1"}`),
		CallbackURL: rc.URL + "/kyc?token=callback-secret",
	})
	waitCallbackState(t, env.client, resp.RunID, "delivered")
	env.shutdown(t)

	spans := otlp.spans()
	turn := oneSpan(t, spans, "agent.turn", map[string]string{"agentry.session_id": "s-traced"})
	if len(turn.GetParentSpanId()) != 0 {
		t.Errorf("agent.turn has parent %x, want a root span", turn.GetParentSpanId())
	}
	if turn.attr("agentry.turn_id") == "" || !strings.HasPrefix(turn.attr("agentry.turn_id"), "trn_") {
		t.Errorf("agent.turn turn id %q, want trn_...", turn.attr("agentry.turn_id"))
	}
	if got := turn.attr("agentry.turn.outcome"); got != "completed" {
		t.Errorf("agent.turn outcome %q, want completed", got)
	}
	for key, want := range map[string]string{"service.name": "agentry", "agentry.agent_id": "observed", "deployment.environment": "test"} {
		if got := turn.resource[key]; got != want {
			t.Errorf("resource attribute %s = %q, want %q", key, got, want)
		}
	}

	turnID := spanID(turn.GetSpanId())
	modelCalls := findSpans(spans, "model.call", map[string]string{"agentry.turn_id": turn.attr("agentry.turn_id")})
	if len(modelCalls) != 2 {
		t.Fatalf("%d model.call spans in the turn, want 2 (tool call, then reply)", len(modelCalls))
	}
	for _, mc := range modelCalls {
		if spanID(mc.GetParentSpanId()) != turnID {
			t.Errorf("model.call parent %x, want the agent.turn span %s", mc.GetParentSpanId(), turnID)
		}
		if mc.attr("agentry.lane") != "chat" || mc.attr("gen_ai.provider.name") != "scripted" || mc.attr("gen_ai.request.model") != "test" {
			t.Errorf("model.call attributes %v, want lane chat, provider scripted, model test", attrMap(mc.GetAttributes()))
		}
	}
	toolCall := oneSpan(t, spans, "tool.call", map[string]string{"agentry.tool.name": "shop:refund"})
	if spanID(toolCall.GetParentSpanId()) != turnID {
		t.Errorf("tool.call parent %x, want the agent.turn span %s", toolCall.GetParentSpanId(), turnID)
	}
	if got := toolCall.attr("agentry.tool.outcome"); got != "ok" {
		t.Errorf("tool.call outcome %q, want ok", got)
	}
	if !bytes.Equal(toolCall.GetTraceId(), turn.GetTraceId()) {
		t.Error("tool.call is not in the turn's trace")
	}

	run := oneSpan(t, spans, "routine.run", map[string]string{"agentry.run_id": resp.RunID})
	if len(run.GetParentSpanId()) != 0 {
		t.Errorf("routine.run has parent %x, want a root span", run.GetParentSpanId())
	}
	if run.attr("agentry.routine_id") != "decide" || run.attr("agentry.run.status") != "succeeded" {
		t.Errorf("routine.run attributes %v", attrMap(run.GetAttributes()))
	}
	node := oneSpan(t, spans, "routine.node", map[string]string{"agentry.run_id": resp.RunID})
	if spanID(node.GetParentSpanId()) != spanID(run.GetSpanId()) {
		t.Errorf("routine.node parent %x, want the routine.run span", node.GetParentSpanId())
	}
	if node.attr("agentry.routine.node") != "emit" {
		t.Errorf("routine.node node %q, want emit", node.attr("agentry.routine.node"))
	}
	runModel := findSpans(spans, "model.call", map[string]string{"agentry.run_id": resp.RunID})
	if len(runModel) == 0 {
		t.Fatal("no model.call span in the run")
	}
	if spanID(runModel[0].GetParentSpanId()) != spanID(node.GetSpanId()) {
		t.Errorf("the run's model.call parent %x, want the routine.node span", runModel[0].GetParentSpanId())
	}

	delivery := oneSpan(t, spans, "delivery.attempt", map[string]string{"agentry.delivery.target": "callback"})
	if delivery.attr("http.response.status_code") != "200" || delivery.attr("agentry.delivery.attempt") != "1" {
		t.Errorf("callback delivery.attempt attributes %v, want status 200, attempt 1", attrMap(delivery.GetAttributes()))
	}
	if got := delivery.attr("url.full"); got != rc.URL+"/kyc" {
		t.Errorf("callback url.full %q, want %q without the query", got, rc.URL+"/kyc")
	}
	if delivery.attr("agentry.run_id") != resp.RunID {
		t.Errorf("callback delivery.attempt run id %q, want %s", delivery.attr("agentry.run_id"), resp.RunID)
	}

	otlp.mu.Lock()
	defer otlp.mu.Unlock()
	if len(otlp.failures) > 0 {
		t.Errorf("the receiver rejected exports: %v", otlp.failures)
	}
	for i, got := range otlp.auth {
		if got != "Bearer trace-key" {
			t.Errorf("export %d: Authorization %q, want Bearer trace-key", i, got)
		}
		if otlp.types[i] != "application/x-protobuf" {
			t.Errorf("export %d: Content-Type %q, want application/x-protobuf", i, otlp.types[i])
		}
	}
}

func TestTraceExportBasicAuth(t *testing.T) {
	otlp := newOTLPReceiver(t)
	env := startObserved(t, observedConfig{traces: tracesBlock(otlp.URL+"/v1/traces", "dXNlcjpwYXNz", "basic")})
	env.converseOnce(t, "s-basic", "hello")
	env.shutdown(t)

	oneSpan(t, otlp.spans(), "agent.turn", map[string]string{"agentry.session_id": "s-basic"})
	otlp.mu.Lock()
	defer otlp.mu.Unlock()
	if len(otlp.auth) == 0 {
		t.Fatal("no export received")
	}
	for i, got := range otlp.auth {
		if got != "Basic dXNlcjpwYXNz" {
			t.Errorf("export %d: Authorization %q, want Basic dXNlcjpwYXNz", i, got)
		}
	}
}

// closedPortURL returns a loopback URL where nothing listens.
func closedPortURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/v1/traces"
}

func TestTraceBackendDown(t *testing.T) {
	env := startObserved(t, observedConfig{traces: tracesBlock(closedPortURL(t), "trace-key", "bearer")})

	dropped := func() float64 {
		return metricValue(env.scrape(t, true), "agentry_trace_spans_dropped_total", nil)
	}
	waitDropped := func(above float64) float64 {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if got := dropped(); got > above {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("agentry_trace_spans_dropped_total stayed at %v or below within 10s", above)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	if reply := env.converseOnce(t, "s-down-1", "a refund please"); !strings.Contains(reply, "refunded") {
		t.Fatalf("reply %q, want the refund result", reply)
	}
	first := waitDropped(0)
	if reply := env.converseOnce(t, "s-down-2", "hello"); reply != "ok" {
		t.Fatalf("reply %q, want ok", reply)
	}
	waitDropped(first)
}

func TestMetricsAfterTurnRunAndDelivery(t *testing.T) {
	hooks := newReceiver(t)
	callbacks := newReceiver(t)
	env := startObserved(t, observedConfig{eventWebhook: "    event_webhook: {url: \"" + hooks.URL + "/events\"}"})

	env.converseOnce(t, "s-metrics", "a refund please")
	resp := trigger(t, env.client, wire.TriggerRequest{Input: []byte(`{"applicant_id": "app-1"}`), CallbackURL: callbacks.URL + "/kyc"})
	waitCallbackState(t, env.client, resp.RunID, "delivered")
	hooks.waitCalls(t, 1)

	// A long-poll waiting on an idle session shows in the waiter gauge.
	sess, err := env.client.GetSession(context.Background(), "s-metrics")
	if err != nil {
		t.Fatal(err)
	}
	pollDone := make(chan error, 1)
	go func() {
		_, err := env.client.Poll(context.Background(), "s-metrics", sess.NextOffset, client.PollOptions{Wait: 3 * time.Second})
		pollDone <- err
	}()
	waitFor(t, func() bool {
		return metricValue(env.scrape(t, true), "agentry_event_waiters", map[string]string{"kind": "long_poll"}) == 1
	}, "agentry_event_waiters{kind=long_poll} to reach 1")
	if err := <-pollDone; err != nil {
		t.Fatalf("long-poll: %v", err)
	}

	families := env.scrape(t, true)
	atLeast := []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"agentry_turns_total", map[string]string{"outcome": "completed"}, 1},
		{"agentry_turn_duration_seconds", map[string]string{"outcome": "completed"}, 1},
		{"agentry_model_calls_total", map[string]string{"lane": "chat", "provider": "scripted", "outcome": "ok"}, 3},
		{"agentry_model_call_duration_seconds", map[string]string{"lane": "chat", "provider": "scripted"}, 3},
		{"agentry_tool_calls_total", map[string]string{"tool": "shop:refund", "outcome": "ok"}, 1},
		{"agentry_runs_total", map[string]string{"status": "succeeded"}, 1},
		{"agentry_delivery_attempts_total", map[string]string{"target": "callback", "outcome": "delivered"}, 1},
		{"agentry_deliveries_total", map[string]string{"target": "callback", "outcome": "delivered"}, 1},
		{"agentry_delivery_attempts_total", map[string]string{"target": "webhook", "outcome": "delivered"}, 1},
		{"agentry_store_operation_duration_seconds", map[string]string{"operation": "Append"}, 1},
		{"agentry_store_operation_duration_seconds", map[string]string{"operation": "ClaimRun"}, 1},
	}
	for _, c := range atLeast {
		if got := metricValue(families, c.name, c.labels); got < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, got, c.min)
		}
	}
	exact := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"agentry_tool_calls_total", map[string]string{"tool": "shop:refund", "outcome": "ok"}, 1},
		{"agentry_runs_total", map[string]string{"status": "succeeded"}, 1},
		{"agentry_delivery_attempts_total", map[string]string{"target": "callback", "outcome": "delivered"}, 1},
		{"agentry_event_waiters", map[string]string{"kind": "long_poll"}, 0},
		{"agentry_event_waiters", map[string]string{"kind": "sse"}, 0},
		{"agentry_trace_spans_dropped_total", nil, 0},
	}
	for _, c := range exact {
		if got := metricValue(families, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := families["agentry_turn_duration_seconds"].GetType(); got != dto.MetricType_HISTOGRAM {
		t.Errorf("agentry_turn_duration_seconds type %v, want histogram", got)
	}
}

func TestMetricsAuth(t *testing.T) {
	env := startObserved(t, observedConfig{})
	if status, _ := env.getMetrics(t, false); status != http.StatusUnauthorized {
		t.Errorf("GET /metrics without credentials: status %d, want 401", status)
	}
	req, err := http.NewRequest(http.MethodGet, env.url+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer wrong-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /metrics with a wrong key: status %d, want 401", resp.StatusCode)
	}
	if families := env.scrape(t, true); metricValue(families, "agentry_trace_spans_dropped_total", nil) != 0 {
		t.Error("GET /metrics with the key lacks agentry_trace_spans_dropped_total")
	}
}

func TestMetricsPublic(t *testing.T) {
	env := startObserved(t, observedConfig{metricsPublic: true})
	status, body := env.getMetrics(t, false)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics without credentials on a public endpoint: status %d, want 200", status)
	}
	if !bytes.Contains(body, []byte("# TYPE agentry_trace_spans_dropped_total counter")) {
		t.Errorf("GET /metrics body lacks agentry_trace_spans_dropped_total:\n%s", body)
	}
}
