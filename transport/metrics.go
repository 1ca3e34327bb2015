package transport

import (
	"net/http"

	"github.com/agentry/agentry/transport/wire"
)

// metricsHandler serves GET /metrics in the Prometheus text format. It
// needs the API key, as a bearer token or the login cookie, unless
// runtime.metrics_public is set.
func (s *Server) metricsHandler() http.Handler {
	h := s.metrics
	if h == nil {
		h = s.wrap(func(w http.ResponseWriter, r *http.Request) error {
			return &apiError{status: http.StatusNotFound, code: wire.CodeNotFound,
				message: "this server has no metrics: build it with agentry.New to serve them"}
		})
	}
	if s.manifest.AgentConfig.Runtime.MetricsPublic {
		return h
	}
	return s.auth(h)
}
