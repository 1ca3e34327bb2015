// Package ratelog logs an error that repeats, such as a failing poll of
// an unreachable database, at most once per interval, with the number of
// repeats it left out. Background loops use it so an outage writes a few
// lines instead of one per poll.
package ratelog

import (
	"log/slog"
	"sync"
	"time"
)

// DefaultInterval is the interval of [New].
const DefaultInterval = 10 * time.Second

// Errors logs one message at error level at most once per interval. It
// is safe for concurrent use, so the workers of one loop can share it.
type Errors struct {
	logger   *slog.Logger
	msg      string
	interval time.Duration

	mu       sync.Mutex
	last     time.Time
	repeated int
}

// New returns an Errors that logs msg at most once per DefaultInterval.
func New(logger *slog.Logger, msg string) *Errors {
	return &Errors{logger: logger, msg: msg, interval: DefaultInterval}
}

// Report logs err with args and the count of reports left out since the
// last line, unless a line was written less than the interval ago.
func (e *Errors) Report(err error, args ...any) {
	e.mu.Lock()
	now := time.Now()
	if !e.last.IsZero() && now.Sub(e.last) < e.interval {
		e.repeated++
		e.mu.Unlock()
		return
	}
	repeated := e.repeated
	e.last, e.repeated = now, 0
	e.mu.Unlock()
	e.logger.Error(e.msg, append(args, "error", err, "repeats_not_logged", repeated)...)
}
