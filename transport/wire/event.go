package wire

import (
	"encoding/json"
	"time"
)

// Event kinds.
const (
	KindUserMessage  = "user_message"
	KindAgentMessage = "agent_message"
	KindStatus       = "status"
	KindToolCall     = "tool_call"
	KindToolResult   = "tool_result"
	KindRoutine      = "routine"
	KindMode         = "mode"
)

// Values of Event.Status.
const (
	StatusAcknowledged = "acknowledged"
	StatusProcessing   = "processing"
	StatusTyping       = "typing"
	StatusReady        = "ready"
	StatusCancelled    = "cancelled"
	StatusError        = "error"
)

// Values of Event.Source.
const (
	SourceCustomer   = "customer"
	SourceHumanAgent = "human_agent"
)

// Event is one entry of a session's log, as returned by long-poll and SSE
// and POSTed by the event webhook. The fields are flat: which of them are
// set depends on Kind. Clients must ignore kinds and fields they do not
// know.
type Event struct {
	SessionID string    `json:"session_id"`
	Offset    int64     `json:"offset"`
	Kind      string    `json:"kind" jsonschema:"enum=user_message,enum=agent_message,enum=status,enum=tool_call,enum=tool_result,enum=routine,enum=mode"`
	CreatedAt time.Time `json:"created_at"`
	TurnID    string    `json:"turn_id,omitempty"`

	// user_message and agent_message
	Text string `json:"text,omitempty"`
	// user_message: customer or human_agent
	Source   string         `json:"source,omitempty" jsonschema:"enum=customer,enum=human_agent"`
	Metadata map[string]any `json:"metadata,omitempty"`
	// agent_message: the knowledge-base chunks placed in the prompt.
	Citations []Citation `json:"citations,omitempty"`

	// status
	Status string `json:"status,omitempty" jsonschema:"enum=acknowledged,enum=processing,enum=typing,enum=ready,enum=cancelled,enum=error"`

	// tool_call and tool_result
	CallID    string          `json:"call_id,omitempty"`
	Tool      string          `json:"tool,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty" jsonschema:"type=object"`
	Result    json.RawMessage `json:"result,omitempty"`
	Injected  bool            `json:"injected,omitempty"`

	// routine
	RoutineID string `json:"routine_id,omitempty"`
	NodeID    string `json:"node_id,omitempty"`
	State     string `json:"state,omitempty" jsonschema:"enum=entered,enum=completed,enum=exited"`

	// mode
	Mode   string `json:"mode,omitempty" jsonschema:"enum=auto,enum=manual"`
	Reason string `json:"reason,omitempty"`

	// status (when Status is error) and tool_result (when the call failed)
	Error *ErrorInfo `json:"error,omitempty"`
}

// Citation names a knowledge-base chunk that was placed in the prompt.
type Citation struct {
	ID    string  `json:"id"`
	Title string  `json:"title,omitempty"`
	Score float64 `json:"score"`
}

// ErrorInfo is the error shape inside events and run results.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// MarshalJSON writes the fields that belong to the event's kind. Fields a
// client relies on seeing even when empty (an agent message's citations,
// a tool result's injected flag) are always written for their kind.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	switch e.Kind {
	case KindAgentMessage:
		citations := e.Citations
		if citations == nil {
			citations = []Citation{}
		}
		return json.Marshal(struct {
			plain
			Text      string     `json:"text"`
			Citations []Citation `json:"citations"`
		}{plain(e), e.Text, citations})
	case KindToolResult:
		result := e.Result
		if len(result) == 0 {
			result = json.RawMessage("null")
		}
		return json.Marshal(struct {
			plain
			Result   json.RawMessage `json:"result"`
			Injected bool            `json:"injected"`
		}{plain(e), result, e.Injected})
	case KindUserMessage:
		return json.Marshal(struct {
			plain
			Text string `json:"text"`
		}{plain(e), e.Text})
	case KindToolCall:
		args := e.Arguments
		if len(args) == 0 {
			args = json.RawMessage("{}")
		}
		return json.Marshal(struct {
			plain
			Arguments json.RawMessage `json:"arguments"`
		}{plain(e), args})
	}
	return json.Marshal(plain(e))
}
