package transport

import (
	"net/http"

	"github.com/agentry/agentry/transport/openapi"
)

// serveOpenAPI serves the OpenAPI document of the HTTP API. It needs no
// credentials because the document describes the generic surface and
// contains no manifest values.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openapi.Document())
	if err != nil {
		s.log.Debug("writing the OpenAPI document failed", "error", err)
	}
	return nil
}

// Patterns returns the patterns of every route the server registered, in
// registration order, in the syntax of [http.ServeMux].
func (s *Server) Patterns() []string {
	return append([]string(nil), s.patterns...)
}
