package openapi

import (
	"net/http"
	"strconv"

	"github.com/agentry/agentry/transport/wire"
)

// errorResponse is a shared error response: its name in
// components.responses and the codes its body may carry.
type errorResponse struct {
	name        string
	description string
	codes       []string
	headers     map[string]header
}

// errorStatuses maps each error status to its shared response.
var errorStatuses = map[int]errorResponse{
	http.StatusBadRequest: {"BadRequest",
		"The body is not valid JSON (invalid_json), or a path, query or header parameter is invalid (invalid_parameter).",
		[]string{wire.CodeInvalidJSON, wire.CodeInvalidParameter}, nil},
	http.StatusUnauthorized: {"Unauthorized",
		"The bearer token or the agent_auth cookie is missing or wrong. The body gives no detail.",
		[]string{wire.CodeUnauthorized},
		map[string]header{"WWW-Authenticate": {Description: `Bearer realm="agentry"`, Schema: stringSchema()}}},
	http.StatusForbidden: {"Forbidden",
		"The request was authenticated by the agent_auth cookie but sent from another site. Send the bearer token instead.",
		[]string{wire.CodeForbidden}, nil},
	http.StatusNotFound: {"NotFound",
		"No resource has the id in the path.",
		[]string{wire.CodeNotFound}, nil},
	http.StatusConflict: {"Conflict",
		"The request conflicts with the resource's state; the message says how.",
		[]string{wire.CodeConflict}, nil},
	http.StatusRequestEntityTooLarge: {"BodyTooLarge",
		"The body is over runtime.max_body_bytes (1 MiB by default).",
		[]string{wire.CodeBodyTooLarge}, nil},
	http.StatusUnsupportedMediaType: {"UnsupportedMediaType",
		"The Content-Type is not one the operation accepts.",
		[]string{wire.CodeUnsupportedMediaType}, nil},
	http.StatusUnprocessableEntity: {"ValidationFailed",
		"One or more fields are invalid. details lists every one, each with a JSON pointer into the body.",
		[]string{wire.CodeValidationFailed}, nil},
	http.StatusInternalServerError: {"InternalError",
		"The server failed; its log has the cause, which the body does not show.",
		[]string{wire.CodeInternal}, nil},
	http.StatusServiceUnavailable: {"NotReady",
		"The store is unavailable or the server is shutting down. Retry after the Retry-After header's seconds when it is set.",
		[]string{wire.CodeNotReady},
		map[string]header{"Retry-After": {Description: "Seconds to wait before retrying.", Schema: map[string]any{"type": "integer"}}}},
}

// errorResponses returns components.responses: one entry per error status,
// whose schema narrows the error code to the codes of that status.
func errorResponses() map[string]response {
	out := make(map[string]response, len(errorStatuses))
	for _, e := range errorStatuses {
		codes := make([]any, len(e.codes))
		for i, c := range e.codes {
			codes[i] = c
		}
		narrowed := map[string]any{
			"type": "object",
			"properties": map[string]any{
				"error": map[string]any{
					"type":       "object",
					"properties": map[string]any{"code": map[string]any{"enum": codes}},
				},
			},
		}
		out[e.name] = response{
			Description: e.description,
			Headers:     e.headers,
			Content: map[string]mediaType{
				"application/json": {Schema: map[string]any{"allOf": []any{ref("ErrorBody"), narrowed}}},
			},
		}
	}
	return out
}

// responses returns an operation's responses: the given successful ones
// and a reference to the shared response of each error status.
func responses(success map[int]response, errorCodes ...int) map[string]any {
	out := make(map[string]any, len(success)+len(errorCodes))
	for status, r := range success {
		out[strconv.Itoa(status)] = r
	}
	for _, status := range errorCodes {
		e, ok := errorStatuses[status]
		if !ok {
			panic("openapi: no shared response for status " + strconv.Itoa(status))
		}
		out[strconv.Itoa(status)] = map[string]any{"$ref": "#/components/responses/" + e.name}
	}
	return out
}

// jsonResponse is a response whose body is the component schema name.
func jsonResponse(description, name string) response {
	return response{Description: description, Content: map[string]mediaType{"application/json": {Schema: ref(name)}}}
}

func ref(name string) map[string]any { return map[string]any{"$ref": schemaRef + name} }

func stringSchema() map[string]any { return map[string]any{"type": "string"} }
