package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/internal/strictjson"
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
	case errors.Is(err, store.ErrUnavailable):
		s.log.Warn("store unavailable", "method", r.Method, "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", "1")
		ae = &apiError{status: http.StatusServiceUnavailable, code: wire.CodeNotReady, message: "the database is unavailable; retry shortly"}
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
// when optional is true and leaves v unchanged. Unknown fields and
// duplicated keys are rejected, so that a misspelt or repeated field is
// reported, not ignored.
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
	return decodeBody(data, v)
}

// decodeBody decodes data, which is not empty, into v. It rejects data
// after the value, and reports in one validation_failed error every
// duplicated key, every unknown field and every field of the wrong type.
func decodeBody(data []byte, v any) error {
	dups, err := strictjson.Scan(data)
	switch {
	case errors.Is(err, strictjson.ErrTrailingData):
		return &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON, message: "the body has data after the JSON value"}
	case errors.Is(err, strictjson.ErrTooDeep):
		return &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON,
			message: fmt.Sprintf("the body is nested more than %d levels deep", strictjson.MaxDepth)}
	case err != nil:
		return &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON, message: "the body is not valid JSON: " + err.Error()}
	}
	var details []wire.FieldDetail
	for _, p := range dups {
		details = append(details, wire.FieldDetail{Path: p, Message: "duplicate key; send each key once"})
	}
	more, err := decodeValue(data, v)
	if err != nil {
		return err
	}
	details = append(details, more...)
	if len(details) == 0 {
		return nil
	}
	slices.SortStableFunc(details, func(a, b wire.FieldDetail) int { return strings.Compare(a.Path, b.Path) })
	return invalid(slices.Compact(details)...)
}

// decodeValue decodes data into v. For a pointer to a struct it decodes
// the object's members one by one, so that one bad field does not hide
// the next, and returns a detail for each unknown or mistyped field. The
// error is for a body that is not an object.
func decodeValue(data []byte, v any) ([]wire.FieldDetail, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, decodeWhole(data, v)
	}
	fields, ok := jsonFields(rv.Elem().Type())
	if !ok {
		return nil, decodeWhole(data, v)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, jsonError(err)
	}
	var details []wire.FieldDetail
	for name, raw := range members {
		path := strictjson.ChildPointer("", name)
		i, ok := fields[name]
		if !ok {
			details = append(details, wire.FieldDetail{Path: path, Message: "unknown field"})
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		err := dec.Decode(rv.Elem().Field(i).Addr().Interface())
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute):
			if ute.Field != "" {
				path += "/" + strings.ReplaceAll(ute.Field, ".", "/")
			}
			details = append(details, wire.FieldDetail{Path: path, Message: typeMessage(ute)})
		case err != nil:
			// The body passed the syntax check, so any other error comes
			// from a field type's own UnmarshalJSON.
			details = append(details, wire.FieldDetail{Path: path, Message: "is invalid: " + err.Error()})
		}
	}
	return details, nil
}

// decodeWhole decodes data into v in one step, with unknown struct fields
// rejected.
func decodeWhole(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonFields maps the JSON member names of struct type t, matched exactly,
// to field indexes. It returns false for a struct with embedded fields,
// whose promoted members it does not resolve.
func jsonFields(t reflect.Type) (map[string]int, bool) {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil, false
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = i
	}
	return fields, true
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
		return invalid(wire.FieldDetail{Path: "/" + strings.ReplaceAll(path, ".", "/"), Message: typeMessage(ute)})
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return invalid(wire.FieldDetail{Path: "/" + strings.Trim(msg, `"`), Message: "unknown field"})
	}
	return &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON, message: "the body is not valid JSON: " + err.Error()}
}

// typeMessage describes a value of the wrong type, for example "must be a
// string, not number".
func typeMessage(ute *json.UnmarshalTypeError) string {
	return fmt.Sprintf("must be %s, not %s", jsonTypeName(ute.Type.String()), ute.Value)
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
