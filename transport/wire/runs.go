package wire

import (
	"encoding/json"
	"time"
)

// Run statuses.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// Routine describes an autonomous routine: GET /routines and
// GET /routines/{id}.
type Routine struct {
	ID          string `json:"id"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// InputSchema is the JSON Schema that a trigger's input must satisfy.
	InputSchema json.RawMessage `json:"input_schema"`
	// OutputSchema is the JSON Schema of the run's output.
	OutputSchema json.RawMessage `json:"output_schema"`
}

// RoutineList is the body of GET /routines.
type RoutineList struct {
	Routines []Routine `json:"routines"`
}

// TriggerRequest is the body of POST /routines/{id}/trigger.
type TriggerRequest struct {
	// Input must validate against the routine's input schema. Required.
	Input json.RawMessage `json:"input"`
	// CallbackURL receives the result; default: the routine's callback_url.
	CallbackURL string `json:"callback_url,omitempty" jsonschema:"format=uri"`
	// IdempotencyKey makes a repeated trigger return the first run. The
	// Idempotency-Key header does the same.
	IdempotencyKey string         `json:"idempotency_key,omitempty" jsonschema:"pattern=^[A-Za-z0-9_-]{1\\,64}$"`
	Metadata       map[string]any `json:"metadata,omitempty"`
}

// TriggerResponse is the body of a successful trigger: 202 for a new run,
// 200 for a repeated idempotency key.
type TriggerResponse struct {
	RunID     string `json:"run_id"`
	RoutineID string `json:"routine_id"`
	Status    string `json:"status" jsonschema:"enum=queued,enum=running,enum=succeeded,enum=failed"`
}

// RunTrigger says what started a run.
type RunTrigger struct {
	// Source is "api" or "webhook".
	Source string `json:"source" jsonschema:"enum=api,enum=webhook"`
	// Webhook is the inbound webhook's name when Source is "webhook".
	Webhook string `json:"webhook,omitempty"`
}

// Run is the body of GET /runs/{id}.
type Run struct {
	ID        string          `json:"run_id"`
	RoutineID string          `json:"routine_id"`
	Status    string          `json:"status" jsonschema:"enum=queued,enum=running,enum=succeeded,enum=failed"`
	Input     json.RawMessage `json:"input"`
	Output    json.RawMessage `json:"output"`
	Error     *ErrorInfo      `json:"error" jsonschema:"nullable"`
	Trigger   RunTrigger      `json:"trigger"`
	Metadata  map[string]any  `json:"metadata"`
	Attempts  int             `json:"attempts"`
	CreatedAt time.Time       `json:"created_at"`
	// StartedAt and FinishedAt are null until the run starts and ends.
	StartedAt  *time.Time `json:"started_at" jsonschema:"nullable"`
	FinishedAt *time.Time `json:"finished_at" jsonschema:"nullable"`
	DurationMS *int64     `json:"duration_ms" jsonschema:"nullable"`
	// Callback is the delivery state of the result; null without a
	// callback URL.
	Callback *CallbackInfo `json:"callback" jsonschema:"nullable"`
}

// CallbackInfo is the delivery state of a run's callback.
type CallbackInfo struct {
	URL string `json:"url"`
	// State is waiting, pending, delivered, failed or disabled.
	State         string     `json:"state" jsonschema:"enum=waiting,enum=pending,enum=delivered,enum=failed,enum=disabled"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// RunCallback is the body POSTed to a run's callback URL. Every attempt
// sends the same bytes; receivers deduplicate on RunID, which is also the
// webhook-id header.
type RunCallback struct {
	RunID      string          `json:"run_id"`
	RoutineID  string          `json:"routine_id"`
	Status     string          `json:"status" jsonschema:"enum=succeeded,enum=failed"`
	Output     json.RawMessage `json:"output"`
	Error      *ErrorInfo      `json:"error" jsonschema:"nullable"`
	Trigger    RunTrigger      `json:"trigger"`
	Metadata   map[string]any  `json:"metadata"`
	CreatedAt  time.Time       `json:"created_at"`
	StartedAt  *time.Time      `json:"started_at" jsonschema:"nullable"`
	FinishedAt time.Time       `json:"finished_at"`
	DurationMS int64           `json:"duration_ms"`
}

// WebhookAccepted is the body of a successful POST /webhooks/{name}: 202
// for a new run, 200 for a delivery seen before.
type WebhookAccepted struct {
	RunID string `json:"run_id"`
}
