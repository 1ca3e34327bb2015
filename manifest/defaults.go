package manifest

import "time"

// Defaults of the runtime block, applied by [Manifest.ApplyDefaults].
const (
	DefaultMaxEngineIterations = 5
	DefaultPolicyBatchSize     = 5
	DefaultMaxBodyBytes        = 1 << 20
	DefaultLongPollMaxWait     = 60 * time.Second
	DefaultTurnTimeout         = 2 * time.Minute
	DefaultLeaseTTL            = 30 * time.Second
	// MinLeaseTTL and MaxLeaseTTL bound runtime.lease_ttl.
	MinLeaseTTL          = time.Second
	MaxLeaseTTL          = 10 * time.Minute
	DefaultContextWindow = 128000
	// DefaultToolResultMaxBytes is runtime.tool_result_max_bytes when it is
	// unset: 64 KiB.
	DefaultToolResultMaxBytes = 64 << 10

	// DefaultDeliveryTimeout bounds each attempt of a callback or event
	// webhook POST when runtime.delivery.timeout is unset.
	DefaultDeliveryTimeout = 15 * time.Second
	// MaxDeliveryTimeout is the largest runtime.delivery.timeout.
	MaxDeliveryTimeout = 5 * time.Minute
	// MaxRetryDelay is the largest entry of runtime.delivery.retry_schedule.
	MaxRetryDelay = 48 * time.Hour
	// MaxRetryScheduleLen is the largest number of entries of
	// runtime.delivery.retry_schedule.
	MaxRetryScheduleLen = 20
)

// Defaults of an autonomous block.
const (
	DefaultRunTimeoutSeconds = 300
	DefaultMaxAttempts       = 3
)

// DefaultRetrySchedule returns the waits before the retries of a callback
// or event webhook POST when runtime.delivery.retry_schedule is unset:
// 5s, 5m, 30m, 2h, 5h, 10h, 10h, about 28 hours in all. The first attempt
// is made at once. Each call returns a new slice.
func DefaultRetrySchedule() []time.Duration {
	return []time.Duration{
		5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
	}
}

// ApplyDefaults fills every unset field that has a documented default.
func (m *Manifest) ApplyDefaults() {
	rt := &m.AgentConfig.Runtime
	if rt.MaxEngineIterations == 0 {
		rt.MaxEngineIterations = DefaultMaxEngineIterations
	}
	if rt.PolicyBatchSize == 0 {
		rt.PolicyBatchSize = DefaultPolicyBatchSize
	}
	if rt.DoubleTexting == "" {
		rt.DoubleTexting = DoubleTextInterrupt
	}
	if rt.ToolAccess == "" {
		rt.ToolAccess = ToolAccessOpen
	}
	if rt.MaxBodyBytes == 0 {
		rt.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if rt.LongPollMaxWait == 0 {
		rt.LongPollMaxWait = Duration(DefaultLongPollMaxWait)
	}
	if rt.TurnTimeout == 0 {
		rt.TurnTimeout = Duration(DefaultTurnTimeout)
	}
	if rt.LeaseTTL == 0 {
		rt.LeaseTTL = Duration(DefaultLeaseTTL)
	}
	if rt.ToolResultMaxBytes == 0 {
		rt.ToolResultMaxBytes = DefaultToolResultMaxBytes
	}
	if rt.LogLevel == "" {
		rt.LogLevel = "info"
	}
	if rt.OutboundAuth.Mode == "" {
		rt.OutboundAuth.Mode = OutboundAuthAPIKey
	}
	if len(rt.Delivery.RetrySchedule) == 0 {
		for _, d := range DefaultRetrySchedule() {
			rt.Delivery.RetrySchedule = append(rt.Delivery.RetrySchedule, Duration(d))
		}
	}
	if rt.Delivery.Timeout == 0 {
		rt.Delivery.Timeout = Duration(DefaultDeliveryTimeout)
	}

	l := &m.AgentConfig.LLMs
	if l.Evaluation == "" {
		l.Evaluation = l.Default
		if len(l.EvaluationFallback) == 0 {
			l.EvaluationFallback = l.Fallback
		}
	}
	if l.ContextWindow == 0 {
		l.ContextWindow = DefaultContextWindow
	}
	if l.EvaluationContextWindow == 0 {
		l.EvaluationContextWindow = l.ContextWindow
	}

	c := &m.AgentConfig.Context
	if c.Language == "" {
		c.Language = "auto"
	}
	for i := range c.Variables {
		if c.Variables[i].Type == "" {
			c.Variables[i].Type = "string"
		}
		if c.Variables[i].Scope == "" {
			c.Variables[i].Scope = ScopeSession
		}
	}
	for i := range c.Policies {
		if c.Policies[i].Criticality == "" {
			c.Policies[i].Criticality = CriticalityMedium
		}
	}
	for i := range c.Routines {
		a := c.Routines[i].Autonomous
		if a == nil {
			continue
		}
		if a.TimeoutSeconds == 0 {
			a.TimeoutSeconds = DefaultRunTimeoutSeconds
		}
		if a.MaxAttempts == 0 {
			a.MaxAttempts = DefaultMaxAttempts
		}
	}
	for i := range m.AgentConfig.Webhooks {
		m.AgentConfig.Webhooks[i].applyDefaults()
	}
	for i := range m.AgentConfig.MCPs {
		m.AgentConfig.MCPs[i].applyDefaults()
	}
	if m.AgentConfig.Search != nil {
		m.AgentConfig.Search.applyDefaults()
	}
	if m.AgentConfig.Database != nil {
		m.AgentConfig.Database.applyDefaults()
	}
	if m.AgentConfig.Traces != nil {
		m.AgentConfig.Traces.applyDefaults()
	}
}
