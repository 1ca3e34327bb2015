package transport

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/wire"
)

// health reports liveness: the process serves HTTP.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, wire.Health{Status: "ok"})
	return nil
}

// healthReady returns 503 until start-up has finished and while the store
// is unreachable, and 200 with each dependency's state otherwise. A
// degraded optional dependency, such as an MCP server that is down, is
// listed but keeps the 200: the agent runs with the tools it has.
//
// The endpoint needs no credentials, so a state shows only "ok", "down"
// or "degraded" with a short reason. The full reason (which may name a
// database host or an MCP server's address) is shown to a caller that
// sends the api key as a bearer token, and a store failure is logged.
func (s *Server) healthReady(w http.ResponseWriter, r *http.Request) error {
	detailed := s.bearerAuthorized(r)
	checks := map[string]string{}
	status := http.StatusOK
	if !s.ready.Load() {
		checks["startup"] = "down: start-up has not finished"
		status = http.StatusServiceUnavailable
	} else {
		checks["startup"] = "ok"
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.healthErrors.Report(err)
		checks["store"] = "down: " + storeDownReason(err)
		if detailed {
			checks["store"] = "down: " + err.Error()
		}
		status = http.StatusServiceUnavailable
	} else {
		checks["store"] = "ok"
	}
	if s.deps != nil {
		for name, state := range s.deps() {
			if !detailed {
				state, _, _ = strings.Cut(state, ":")
			}
			checks[name] = state
		}
	}
	body := wire.Health{Status: "ok", Checks: checks}
	if status != http.StatusOK {
		body.Status = "not_ready"
	}
	writeJSON(w, status, body)
	return nil
}

// storeDownReason names the kind of a store failure without its details.
func storeDownReason(err error) string {
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return "database unavailable"
	case errors.Is(err, store.ErrClosed):
		return "store closed"
	case errors.Is(err, context.DeadlineExceeded):
		return "store did not answer within 2s"
	default:
		return "store error; the server log has the details"
	}
}
