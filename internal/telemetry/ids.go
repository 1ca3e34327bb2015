package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
)

// IDs names the session, turn and run that work belongs to. Empty fields
// are unknown or do not apply.
type IDs struct {
	SessionID string
	TurnID    string
	RunID     string
}

type idsKey struct{}

// WithIDs returns ctx carrying ids, so that model and tool calls deep in
// a turn or run can log and trace them.
func WithIDs(ctx context.Context, ids IDs) context.Context {
	return context.WithValue(ctx, idsKey{}, ids)
}

// IDsFrom returns the ids that [WithIDs] put in ctx.
func IDsFrom(ctx context.Context) IDs {
	ids, _ := ctx.Value(idsKey{}).(IDs)
	return ids
}

// LogArgs returns the ids as slog arguments: session_id, turn_id and
// run_id, each only when set.
func (ids IDs) LogArgs() []any {
	var args []any
	if ids.SessionID != "" {
		args = append(args, slog.String("session_id", ids.SessionID))
	}
	if ids.TurnID != "" {
		args = append(args, slog.String("turn_id", ids.TurnID))
	}
	if ids.RunID != "" {
		args = append(args, slog.String("run_id", ids.RunID))
	}
	return args
}

// Attributes returns the ids as span attributes, each only when set.
func (ids IDs) Attributes() []attribute.KeyValue {
	var attrs []attribute.KeyValue
	if ids.SessionID != "" {
		attrs = append(attrs, attribute.String(AttrSessionID, ids.SessionID))
	}
	if ids.TurnID != "" {
		attrs = append(attrs, attribute.String(AttrTurnID, ids.TurnID))
	}
	if ids.RunID != "" {
		attrs = append(attrs, attribute.String(AttrRunID, ids.RunID))
	}
	return attrs
}

// Span attribute keys of the server's own ids.
const (
	AttrSessionID = "agentry.session_id"
	AttrTurnID    = "agentry.turn_id"
	AttrRunID     = "agentry.run_id"
	AttrRoutineID = "agentry.routine_id"
)
