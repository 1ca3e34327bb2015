package transport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/wire"
)

// apiError is an error with its HTTP status, code and field details. Every
// handler error becomes one in writeError.
type apiError struct {
	status  int
	code    string
	message string
	details []wire.FieldDetail
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badParam(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidParameter, message: fmt.Sprintf(format, args...)}
}

func invalid(details ...wire.FieldDetail) *apiError {
	msg := "the request is invalid"
	if len(details) == 1 {
		msg = details[0].Path + ": " + details[0].Message
	} else if len(details) > 1 {
		msg = fmt.Sprintf("the request has %d invalid fields; see details", len(details))
	}
	return &apiError{status: http.StatusUnprocessableEntity, code: wire.CodeValidationFailed, message: msg, details: details}
}

func notFound(what, id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: wire.CodeNotFound, message: fmt.Sprintf("%s %q not found", what, id)}
}

var errUnauthorized = &apiError{status: http.StatusUnauthorized, code: wire.CodeUnauthorized, message: "unauthorized"}

// writeError maps err to its status and JSON body. Store and engine
// sentinels map here, in one place; anything else is a 500 whose cause is
// logged and not shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{status: http.StatusNotFound, code: wire.CodeNotFound, message: "not found"}
	case errors.Is(err, store.ErrConflict):
		ae = &apiError{status: http.StatusConflict, code: wire.CodeConflict, message: "the id belongs to a deleted resource and cannot be reused"}
	case errors.Is(err, agent.ErrTurnBusy):
		ae = &apiError{status: http.StatusConflict, code: wire.CodeConflict, message: "a turn is already running for this session; post again after its status ready event"}
	case errors.Is(err, store.ErrClosed):
		ae = &apiError{status: http.StatusServiceUnavailable, code: wire.CodeNotReady, message: "the server is shutting down"}
	default:
		if r.Context().Err() != nil {
			// The client went away, so the response has no reader.
			return
		}
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		ae = &apiError{status: http.StatusInternalServerError, code: wire.CodeInternal, message: "internal error; the server log has the details"}
	}
	writeJSON(w, ae.status, wire.ErrorBody{Error: wire.APIError{Code: ae.code, Message: ae.message, Details: ae.details}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		slog.Debug("writing response failed", "error", err)
	}
}

// decodeJSON reads a JSON request body into v. An empty body is allowed
// when optional is true and leaves v unchanged. Unknown fields are
// rejected so that a misspelt field is reported, not ignored.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if r.ContentLength == 0 && optional {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" && optional && r.ContentLength < 0 {
		ct = "application/json"
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return &apiError{status: http.StatusUnsupportedMediaType, code: wire.CodeUnsupportedMediaType,
			message: fmt.Sprintf("Content-Type %q is not supported; send application/json", ct)}
	}
	body := http.MaxBytesReader(w, r.Body, s.maxBody)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: wire.CodeBodyTooLarge,
				message: fmt.Sprintf("the body is over the limit of %d bytes", mbe.Limit)}
		}
		return badParam("reading the body failed: %v", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		if optional {
			return nil
		}
		return &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON, message: "the body is empty; send a JSON object"}
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON, message: "the body has data after the JSON value"}
	}
	return nil
}

// jsonError turns a decoding error into invalid_json or, for a field of
// the wrong type or an unknown field, validation_failed naming the field.
func jsonError(err error) *apiError {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		path := ute.Field
		if path == "" {
			return &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON,
				message: fmt.Sprintf("the body must be a JSON object, not %s", ute.Value)}
		}
		return invalid(wire.FieldDetail{Path: "/" + strings.ReplaceAll(path, ".", "/"), Message: fmt.Sprintf("must be %s, not %s", jsonTypeName(ute.Type.String()), ute.Value)})
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return invalid(wire.FieldDetail{Path: "/" + strings.Trim(msg, `"`), Message: "unknown field"})
	}
	return &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON, message: "the body is not valid JSON: " + err.Error()}
}

func jsonTypeName(goType string) string {
	switch {
	case goType == "string" || goType == "*string":
		return "a string"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "bool":
		return "a boolean"
	default:
		return "a " + goType
	}
}
