package wire

import (
	"encoding/json"
	"time"
)

// Error codes of the HTTP API, in the `error.code` field.
const (
	CodeInvalidJSON          = "invalid_json"
	CodeInvalidParameter     = "invalid_parameter"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeConflict             = "conflict"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeValidationFailed     = "validation_failed"
	CodeRateLimited          = "rate_limited"
	CodeNotReady             = "not_ready"
	CodeInternal             = "internal_error"
)

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error APIError `json:"error"`
}

// APIError describes what was wrong with a request.
type APIError struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Details []FieldDetail `json:"details,omitempty"`
}

// FieldDetail names one invalid field. Path is a JSON pointer into the
// request body ("/text", "/input/applicant/id"), or "" for the body as a
// whole.
type FieldDetail struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Customer is a person who talks to the agent across sessions.
type Customer struct {
	ID        string         `json:"id"`
	Name      string         `json:"name,omitempty"`
	Variables map[string]any `json:"variables"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// PutCustomerRequest is the body of PUT /customers/{id}.
type PutCustomerRequest struct {
	Name      string         `json:"name,omitempty"`
	Variables map[string]any `json:"variables,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
}

// Session is a conversation.
type Session struct {
	ID         string         `json:"id"`
	CustomerID string         `json:"customer_id,omitempty"`
	Mode       string         `json:"mode" jsonschema:"enum=auto,enum=manual"`
	Variables  map[string]any `json:"variables"`
	Metadata   map[string]any `json:"metadata"`
	WebhookURL string         `json:"webhook_url,omitempty"`
	// NextOffset is the offset the next event will get.
	NextOffset int64 `json:"next_offset"`
	// Busy is true while a turn is pending or running.
	Busy bool `json:"busy"`
	// Webhook is the delivery state of the event webhook; absent when
	// the session has no webhook URL and the server no default one.
	Webhook *Delivery `json:"webhook,omitempty"`
	// Sinks are the delivery states of the sinks that the application
	// added, by name.
	Sinks     map[string]Delivery `json:"sinks,omitempty"`
	CreatedAt time.Time           `json:"created_at"`
	UpdatedAt time.Time           `json:"updated_at"`
}

// CreateSessionRequest is the body of POST /sessions. Every field is
// optional; with an id that exists, the existing session is returned.
type CreateSessionRequest struct {
	ID         string         `json:"id,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]{1\\,64}$"`
	CustomerID string         `json:"customer_id,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]{1\\,64}$"`
	Metadata   map[string]any `json:"metadata,omitempty"`
	Variables  map[string]any `json:"variables,omitempty"`
	Mode       string         `json:"mode,omitempty" jsonschema:"enum=auto,enum=manual"`
	WebhookURL string         `json:"webhook_url,omitempty" jsonschema:"format=uri"`
}

// PatchSessionRequest is the body of PATCH /sessions/{id}. Absent fields
// stay unchanged; variables and metadata are merged, and a null value
// deletes the key.
type PatchSessionRequest struct {
	Mode *string `json:"mode,omitempty" jsonschema:"enum=auto,enum=manual"`
	// WebhookURL replaces the session's event webhook target. An empty
	// string clears it, so runtime.event_webhook.url applies.
	WebhookURL *string        `json:"webhook_url,omitempty"`
	Variables  map[string]any `json:"variables,omitempty"`
	Metadata   map[string]any `json:"metadata,omitempty"`
}

// SessionList is a page of GET /sessions.
type SessionList struct {
	Sessions []Session `json:"sessions"`
	// NextCursor fetches the next page; empty on the last one.
	NextCursor string `json:"next_cursor,omitempty"`
}

// PostMessageRequest is the body of POST /sessions/{id}/messages.
type PostMessageRequest struct {
	Text string `json:"text" jsonschema:"minLength=1"`
	// Source is customer (default) or human_agent.
	Source   string         `json:"source,omitempty" jsonschema:"enum=customer,enum=human_agent"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// EventPage is the response of the long-poll events endpoint.
type EventPage struct {
	Events []Event `json:"events"`
	// NextOffset is one past the last event scanned, whether it matched
	// the kinds filter or not; it equals min_offset when nothing arrived.
	NextOffset int64 `json:"next_offset"`
}

// CancelResult is the response of POST /sessions/{id}/cancel.
type CancelResult struct {
	// Cancelled is true when a pending or running turn was cancelled.
	Cancelled bool `json:"cancelled"`
}

// Health is the body of the health endpoints.
type Health struct {
	Status string `json:"status" jsonschema:"enum=ok,enum=not_ready"`
	// Checks maps each dependency to "ok", "degraded: ..." or "down: ...".
	Checks map[string]string `json:"checks,omitempty"`
}

// ToolEventRequest is the body of POST /sessions/{id}/tool_events: external
// context stored as a tool_result event with injected true.
type ToolEventRequest struct {
	// Tool names the source, for example "crm:export". Required.
	Tool string `json:"tool" jsonschema:"minLength=1"`
	// Arguments is a JSON object describing the request, if any.
	Arguments json.RawMessage `json:"arguments,omitempty"`
	// Result is any JSON value. Required.
	Result json.RawMessage `json:"result"`
}
