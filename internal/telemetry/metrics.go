package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the server's Prometheus collectors. The methods of a nil
// *Metrics do nothing, so packages record unconditionally.
type Metrics struct {
	turns         *prometheus.CounterVec
	turnDuration  *prometheus.HistogramVec
	modelCalls    *prometheus.CounterVec
	modelDuration *prometheus.HistogramVec
	toolCalls     *prometheus.CounterVec
	runs          *prometheus.CounterVec
	attempts      *prometheus.CounterVec
	deliveries    *prometheus.CounterVec
	waiters       *prometheus.GaugeVec
	storeDuration *prometheus.HistogramVec
	droppedSpans  prometheus.Counter
}

// Waiter kinds of [Metrics.AddWaiter].
const (
	WaiterLongPoll = "long_poll"
	WaiterSSE      = "sse"
)

// Delivery targets of [Metrics.DeliveryAttempt] besides sink names.
const TargetCallback = "callback"

// Outcomes of one delivery attempt.
const (
	DeliveryDelivered = "delivered"
	DeliveryRetry     = "retry"
	DeliveryFailed    = "failed"
	DeliveryGone      = "gone"
)

// modelBuckets covers model calls from 50 ms to 2 minutes, in seconds.
var modelBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120}

// storeBuckets covers store calls from 0.1 ms to 5 s, in seconds.
var storeBuckets = []float64{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5}

// NewMetrics creates the collectors and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentry_turns_total",
			Help: "Turns that ended, by outcome: completed, cancelled, timeout, model_error, released, lease_lost, manual.",
		}, []string{"outcome"}),
		turnDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agentry_turn_duration_seconds",
			Help:    "Time from a turn's claim to its end, by outcome.",
			Buckets: modelBuckets,
		}, []string{"outcome"}),
		modelCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentry_model_calls_total",
			Help: "Calls to a model lane, by lane, provider of the model that answered (or of the first model when all failed) and outcome: ok or error.",
		}, []string{"lane", "provider", "outcome"}),
		modelDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agentry_model_call_duration_seconds",
			Help:    "Latency of calls to a model lane, fallbacks and retries included, by lane and provider.",
			Buckets: modelBuckets,
		}, []string{"lane", "provider"}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentry_tool_calls_total",
			Help: "Tool calls by tool and outcome: ok, error, timeout, invalid_arguments, unknown_tool.",
		}, []string{"tool", "outcome"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentry_runs_total",
			Help: "Routine runs that ended, by status: succeeded or failed.",
		}, []string{"status"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentry_delivery_attempts_total",
			Help: "Outbound delivery attempts, by target (callback, or the event sink's name such as webhook) and outcome: delivered, retry, failed, gone.",
		}, []string{"target", "outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentry_deliveries_total",
			Help: "Outbound deliveries that ended, by target and outcome: delivered, failed (attempts used up) or gone (410).",
		}, []string{"target", "outcome"}),
		waiters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "agentry_event_waiters",
			Help: "Requests waiting for session events now, by kind: long_poll or sse.",
		}, []string{"kind"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agentry_store_operation_duration_seconds",
			Help:    "Latency of store calls, by operation (the store method's name).",
			Buckets: storeBuckets,
		}, []string{"operation"}),
		droppedSpans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agentry_trace_spans_dropped_total",
			Help: "Spans that were not exported: the export queue was full or the trace backend failed.",
		}),
	}
	collectors := []prometheus.Collector{
		m.turns, m.turnDuration, m.modelCalls, m.modelDuration, m.toolCalls, m.runs,
		m.attempts, m.deliveries, m.waiters, m.storeDuration, m.droppedSpans,
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// The waiter gauges start at 0, so a scrape shows both kinds.
	m.waiters.WithLabelValues(WaiterLongPoll)
	m.waiters.WithLabelValues(WaiterSSE)
	return m, nil
}

// TurnEnded counts a turn that ended with outcome after d.
func (m *Metrics) TurnEnded(outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.turns.WithLabelValues(outcome).Inc()
	m.turnDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// ModelCall counts a model call of lane that ended with outcome after d.
func (m *Metrics) ModelCall(lane, provider, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.modelCalls.WithLabelValues(lane, provider, outcome).Inc()
	m.modelDuration.WithLabelValues(lane, provider).Observe(d.Seconds())
}

// ToolCall counts a tool call that ended with outcome.
func (m *Metrics) ToolCall(tool, outcome string) {
	if m == nil {
		return
	}
	m.toolCalls.WithLabelValues(tool, outcome).Inc()
}

// RunEnded counts a run that ended with status.
func (m *Metrics) RunEnded(status string) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(status).Inc()
}

// DeliveryAttempt counts one delivery attempt to target. An outcome other
// than retry also ends the delivery.
func (m *Metrics) DeliveryAttempt(target, outcome string) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(target, outcome).Inc()
	if outcome != DeliveryRetry {
		m.deliveries.WithLabelValues(target, outcome).Inc()
	}
}

// AddWaiter counts a waiting request of kind until the returned function
// is called.
func (m *Metrics) AddWaiter(kind string) (done func()) {
	if m == nil {
		return func() {}
	}
	g := m.waiters.WithLabelValues(kind)
	g.Inc()
	return g.Dec
}

// StoreOperation records the latency of one store call.
func (m *Metrics) StoreOperation(operation string, d time.Duration) {
	if m == nil {
		return
	}
	m.storeDuration.WithLabelValues(operation).Observe(d.Seconds())
}

// SpansDropped counts n spans that were not exported.
func (m *Metrics) SpansDropped(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.droppedSpans.Add(float64(n))
}
