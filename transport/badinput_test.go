package transport_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/agentry/agentry/transport/wire"
)

func TestBadInput(t *testing.T) {
	e := setup(t, demoManifest, "")
	e.open(wire.CreateSessionRequest{ID: "s1"})
	json := map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "application/json"}

	tests := []struct {
		name    string
		method  string
		path    string
		body    any
		headers map[string]string
		status  int
		code    string
		field   string // a details path that must be reported
	}{
		{"malformed json", "POST", "/sessions/s1/messages", `{"text": "hi"`, json, 400, wire.CodeInvalidJSON, ""},
		{"json not an object", "POST", "/sessions/s1/messages", `["hi"]`, json, 400, wire.CodeInvalidJSON, ""},
		{"trailing data", "POST", "/sessions/s1/messages", `{"text":"a"} {"text":"b"}`, json, 400, wire.CodeInvalidJSON, ""},
		{"wrong content type", "POST", "/sessions/s1/messages", `{"text":"hi"}`,
			map[string]string{"Authorization": "Bearer " + testKey, "Content-Type": "text/plain"}, 415, wire.CodeUnsupportedMediaType, ""},
		{"missing content type", "POST", "/sessions/s1/messages", `{"text":"hi"}`,
			map[string]string{"Authorization": "Bearer " + testKey}, 415, wire.CodeUnsupportedMediaType, ""},
		{"empty message", "POST", "/sessions/s1/messages", `{"text":""}`, json, 422, wire.CodeValidationFailed, "/text"},
		{"whitespace message", "POST", "/sessions/s1/messages", `{"text":"  \n\t "}`, json, 422, wire.CodeValidationFailed, "/text"},
		{"empty body", "POST", "/sessions/s1/messages", ``, json, 400, wire.CodeInvalidJSON, ""},
		{"wrong field type", "POST", "/sessions/s1/messages", `{"text": 5}`, json, 422, wire.CodeValidationFailed, "/text"},
		{"unknown field", "POST", "/sessions/s1/messages", `{"txt": "hi"}`, json, 422, wire.CodeValidationFailed, "/txt"},
		{"bad source", "POST", "/sessions/s1/messages", `{"text":"hi","source":"bot"}`, json, 422, wire.CodeValidationFailed, "/source"},
		{"message to unknown session", "POST", "/sessions/nope/messages", `{"text":"hi"}`, json, 404, wire.CodeNotFound, ""},
		{"unknown session", "GET", "/sessions/nope", nil, json, 404, wire.CodeNotFound, ""},
		{"events of unknown session", "GET", "/sessions/nope/events?wait=0", nil, json, 404, wire.CodeNotFound, ""},
		{"invalid session id", "GET", "/sessions/" + strings.Repeat("x", 65), nil, json, 400, wire.CodeInvalidParameter, ""},
		{"invalid id in body", "POST", "/sessions", `{"id":"has space"}`, json, 422, wire.CodeValidationFailed, "/id"},
		{"several invalid fields", "POST", "/sessions", `{"id":"a b","mode":"auto-ish","webhook_url":"ftp://x"}`, json, 422, wire.CodeValidationFailed, "/webhook_url"},
		{"bad mode", "POST", "/sessions", `{"mode":"robot"}`, json, 422, wire.CodeValidationFailed, "/mode"},
		{"negative min_offset", "GET", "/sessions/s1/events?min_offset=-1", nil, json, 400, wire.CodeInvalidParameter, ""},
		{"non-numeric min_offset", "GET", "/sessions/s1/events?min_offset=abc", nil, json, 400, wire.CodeInvalidParameter, ""},
		{"huge min_offset", "GET", "/sessions/s1/events?min_offset=99999999999999999999", nil, json, 400, wire.CodeInvalidParameter, ""},
		{"min_offset past head", "GET", "/sessions/s1/events?min_offset=5", nil, json, 400, wire.CodeInvalidParameter, ""},
		{"negative wait", "GET", "/sessions/s1/events?wait=-3", nil, json, 400, wire.CodeInvalidParameter, ""},
		{"bad limit", "GET", "/sessions/s1/events?limit=0", nil, json, 400, wire.CodeInvalidParameter, ""},
		{"unknown kind", "GET", "/sessions/s1/events?kinds=agent_mesage", nil, json, 400, wire.CodeInvalidParameter, ""},
		{"no token", "GET", "/sessions/s1", nil, nil, 401, wire.CodeUnauthorized, ""},
		{"wrong token", "GET", "/sessions/s1", nil, map[string]string{"Authorization": "Bearer nope"}, 401, wire.CodeUnauthorized, ""},
		{"token prefix", "GET", "/sessions/s1", nil, map[string]string{"Authorization": "Bearer " + testKey[:5]}, 401, wire.CodeUnauthorized, ""},
		{"basic scheme", "GET", "/sessions/s1", nil, map[string]string{"Authorization": "Basic " + testKey}, 401, wire.CodeUnauthorized, ""},
		{"unknown route", "GET", "/nowhere", nil, json, 404, wire.CodeNotFound, ""},
		{"wrong method", "PUT", "/sessions/s1/messages", `{}`, json, 405, wire.CodeMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.doWith(tt.method, tt.path, tt.body, tt.headers)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			apiErr := r.errorCode(t)
			if apiErr.Code != tt.code {
				t.Errorf("code = %q, want %q", apiErr.Code, tt.code)
			}
			if apiErr.Message == "" {
				t.Error("error has no message")
			}
			if tt.field != "" && !hasDetail(apiErr, tt.field) {
				t.Errorf("details %+v do not name %q", apiErr.Details, tt.field)
			}
		})
	}
}

func hasDetail(e wire.APIError, path string) bool {
	for _, d := range e.Details {
		if d.Path == path {
			return true
		}
	}
	return false
}

func TestSeveralFieldsReportedTogether(t *testing.T) {
	e := setup(t, demoManifest, "")
	r := e.do("POST", "/sessions", `{"id":"a b","customer_id":"c d","mode":"x","webhook_url":"nope"}`)
	apiErr := r.errorCode(t)
	for _, f := range []string{"/id", "/customer_id", "/mode", "/webhook_url"} {
		if !hasDetail(apiErr, f) {
			t.Errorf("details %+v lack %q", apiErr.Details, f)
		}
	}
}

func TestBearerSchemeForms(t *testing.T) {
	e := setup(t, demoManifest, "")
	for _, h := range []string{"Bearer " + testKey, "bearer " + testKey, "BEARER  " + testKey} {
		if r := e.doWith("GET", "/sessions", nil, map[string]string{"Authorization": h}); r.status != http.StatusOK {
			t.Errorf("Authorization %q: %d, want 200", h[:8], r.status)
		}
	}
	for _, h := range []string{"Bearer", "Bearer ", "Token " + testKey, testKey} {
		if r := e.doWith("GET", "/sessions", nil, map[string]string{"Authorization": h}); r.status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", h, r.status)
		}
	}
}

func TestUnauthorizedHasNoDetail(t *testing.T) {
	e := setup(t, demoManifest, "")
	r := e.doWith("GET", "/sessions", nil, map[string]string{"Authorization": "Bearer wrong"})
	apiErr := r.errorCode(t)
	if apiErr.Message != "unauthorized" || len(apiErr.Details) != 0 {
		t.Errorf("401 body = %s; want the bare message", r.body)
	}
	if strings.Contains(string(r.body), testKey) {
		t.Error("401 body contains the key")
	}
}

func TestBodyLimit(t *testing.T) {
	yaml := strings.Replace(demoManifest, "    api_key:", "    max_body_bytes: 2048\n    api_key:", 1)
	e := setup(t, yaml, "")
	s := e.open(wire.CreateSessionRequest{})

	big := `{"text":"` + strings.Repeat("a", 2048) + `"}`
	r := e.do("POST", "/sessions/"+s.ID+"/messages", big)
	if r.status != http.StatusRequestEntityTooLarge || r.errorCode(t).Code != wire.CodeBodyTooLarge {
		t.Fatalf("oversized: %d %s, want 413 body_too_large", r.status, r.body)
	}
	// Nothing was stored for the rejected request.
	page := e.poll(s.ID, "wait=0")
	if len(page.Events) != 0 {
		t.Errorf("rejected body left events: %s", kinds(page.Events))
	}
	// A body just under the limit is accepted.
	fits := `{"text":"` + strings.Repeat("a", 2000) + `"}`
	if r := e.do("POST", "/sessions/"+s.ID+"/messages", fits); r.status != http.StatusCreated {
		t.Errorf("body under the limit: %d %s", r.status, r.body)
	}
}
