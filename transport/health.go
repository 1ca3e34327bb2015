package transport

import (
	"context"
	"net/http"
	"time"

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
func (s *Server) healthReady(w http.ResponseWriter, r *http.Request) error {
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
		checks["store"] = "down: " + err.Error()
		status = http.StatusServiceUnavailable
	} else {
		checks["store"] = "ok"
	}
	if s.deps != nil {
		for name, state := range s.deps() {
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
