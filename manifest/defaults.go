package manifest

import "time"

// Defaults of the runtime block, applied by [Manifest.ApplyDefaults].
const (
	DefaultMaxEngineIterations = 5
	DefaultPolicyBatchSize     = 5
	DefaultMaxBodyBytes        = 1 << 20
	DefaultLongPollMaxWait     = 60 * time.Second
	DefaultTurnTimeout         = 2 * time.Minute
	DefaultContextWindow       = 128000
)

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
	if rt.LogLevel == "" {
		rt.LogLevel = "info"
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
}
