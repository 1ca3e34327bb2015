package agent

// Event kinds written by the engine.
const (
	KindUserMessage  = "user_message"
	KindAgentMessage = "agent_message"
	KindStatus       = "status"
	KindToolCall     = "tool_call"
	KindToolResult   = "tool_result"
	KindRoutine      = "routine"
	KindMode         = "mode"
)

// Values of a status event's Status.
const (
	StatusAcknowledged = "acknowledged"
	StatusProcessing   = "processing"
	StatusTyping       = "typing"
	StatusReady        = "ready"
	StatusCancelled    = "cancelled"
	StatusError        = "error"
)

// Values of a user message's Source.
const (
	SourceCustomer   = "customer"
	SourceHumanAgent = "human_agent"
)
