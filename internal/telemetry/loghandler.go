package telemetry

import (
	"context"
	"log/slog"
)

// LogHandler is a slog.Handler that adds session_id, turn_id and run_id
// from the context of each record, as [WithIDs] put them there. Code deep
// in a turn or run, such as a model lane or a tool, gets the ids by
// logging through the Context variants of slog (WarnContext and so on).
// Ids already set on the logger with With, or on the record, are not
// added twice.
type LogHandler struct {
	next slog.Handler
	// set holds the id keys already added through WithAttrs.
	set map[string]bool
}

// NewLogHandler wraps next.
func NewLogHandler(next slog.Handler) *LogHandler {
	return &LogHandler{next: next}
}

// Enabled implements slog.Handler.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle implements slog.Handler.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	ids := IDsFrom(ctx)
	if ids == (IDs{}) {
		return h.next.Handle(ctx, r)
	}
	missing := map[string]string{}
	add := func(key, value string) {
		if value != "" && !h.set[key] {
			missing[key] = value
		}
	}
	add("session_id", ids.SessionID)
	add("turn_id", ids.TurnID)
	add("run_id", ids.RunID)
	r.Attrs(func(a slog.Attr) bool {
		delete(missing, a.Key)
		return len(missing) > 0
	})
	if len(missing) == 0 {
		return h.next.Handle(ctx, r)
	}
	r = r.Clone()
	for _, key := range []string{"session_id", "turn_id", "run_id"} {
		if v, ok := missing[key]; ok {
			r.AddAttrs(slog.String(key, v))
		}
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	set := make(map[string]bool, len(h.set)+1)
	for k := range h.set {
		set[k] = true
	}
	for _, a := range attrs {
		switch a.Key {
		case "session_id", "turn_id", "run_id":
			set[a.Key] = true
		}
	}
	return &LogHandler{next: h.next.WithAttrs(attrs), set: set}
}

// WithGroup implements slog.Handler. Ids added after a group are logged
// inside it, as every attribute of the record is.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &LogHandler{next: h.next.WithGroup(name), set: h.set}
}
