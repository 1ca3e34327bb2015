package agent

import "github.com/agentry/agentry/transport/wire"

// Event kinds written by the engine. They are the kinds of the HTTP API,
// so a stored event keeps its kind on the wire.
const (
	KindUserMessage  = wire.KindUserMessage
	KindAgentMessage = wire.KindAgentMessage
	KindStatus       = wire.KindStatus
	KindToolCall     = wire.KindToolCall
	KindToolResult   = wire.KindToolResult
	KindRoutine      = wire.KindRoutine
	KindMode         = wire.KindMode
)

// Values of a status event's Status.
const (
	StatusAcknowledged = wire.StatusAcknowledged
	StatusProcessing   = wire.StatusProcessing
	StatusTyping       = wire.StatusTyping
	StatusReady        = wire.StatusReady
	StatusCancelled    = wire.StatusCancelled
	StatusError        = wire.StatusError
)

// Values of a user message's Source.
const (
	SourceCustomer   = wire.SourceCustomer
	SourceHumanAgent = wire.SourceHumanAgent
)
