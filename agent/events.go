package agent

import (
	"encoding/json"
	"fmt"

	"github.com/agentry/agentry/store"
)

// Payload holds the kind-specific fields of an event, as the engine stores
// them in [store.Event.Payload]. Which fields are set depends on the kind;
// the names and meanings match the event fields of the HTTP API.
type Payload struct {
	Text      string          `json:"text,omitempty"`
	Source    string          `json:"source,omitempty"`
	Metadata  map[string]any  `json:"metadata,omitempty"`
	Citations []Citation      `json:"citations,omitempty"`
	Status    string          `json:"status,omitempty"`
	Error     *EventError     `json:"error,omitempty"`
	CallID    string          `json:"call_id,omitempty"`
	Tool      string          `json:"tool,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Injected  bool            `json:"injected,omitempty"`
	RoutineID string          `json:"routine_id,omitempty"`
	NodeID    string          `json:"node_id,omitempty"`
	State     string          `json:"state,omitempty"`
	Mode      string          `json:"mode,omitempty"`
	Reason    string          `json:"reason,omitempty"`
}

// Citation names a knowledge-base chunk placed in the prompt of a reply.
type Citation struct {
	ID    string  `json:"id"`
	Title string  `json:"title,omitempty"`
	Score float64 `json:"score"`
}

// EventError is the error of a failed turn or tool call.
type EventError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes of status events with status "error".
const (
	ErrorCodeModel    = "model_error"
	ErrorCodeTimeout  = "timeout"
	ErrorCodeInternal = "internal_error"
)

// DecodePayload returns the kind-specific fields of a stored event.
func DecodePayload(e store.Event) (Payload, error) {
	var p Payload
	if len(e.Payload) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return p, fmt.Errorf("decoding payload of event %s/%d: %w", e.SessionID, e.Offset, err)
	}
	return p, nil
}

// newEvent encodes p as the payload of a new event.
func newEvent(kind, turnID string, p Payload) store.NewEvent {
	b, err := json.Marshal(p)
	if err != nil {
		// Payload holds only JSON-safe values: maps from decoded JSON and
		// raw JSON that was validated on the way in.
		panic(fmt.Sprintf("agent: encoding %s payload: %v", kind, err))
	}
	return store.NewEvent{Kind: kind, TurnID: turnID, Payload: b}
}

func statusEvent(turnID, status string, e *EventError) store.NewEvent {
	return newEvent(KindStatus, turnID, Payload{Status: status, Error: e})
}
