package transport_test

import (
	"net/http"
	"testing"

	"github.com/agentry/agentry/transport/wire"
)

func TestStrictBodyCreatesNothing(t *testing.T) {
	e := setup(t, demoManifest, "")
	cases := []struct {
		name   string
		body   string
		status int
		code   string
		paths  []string // details paths that must be reported
		ids    []string // session ids that must not exist afterwards
	}{
		{"closing bracket after", `{"id":"x"}]garbage`, 400, wire.CodeInvalidJSON, nil, []string{"x"}},
		{"duplicate id", `{"id":"a","id":"b"}`, 422, wire.CodeValidationFailed, []string{"/id"}, []string{"a", "b"}},
		{"every wrong type", `{"id":"w","mode":"foo","variables":[1],"metadata":"x","customer_id":5}`,
			422, wire.CodeValidationFailed, []string{"/variables", "/metadata", "/customer_id"}, []string{"w"}},
		{"every unknown field", `{"id":"u","idd":"x","modee":"foo"}`,
			422, wire.CodeValidationFailed, []string{"/idd", "/modee"}, []string{"u"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/sessions", tc.body)
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tc.status, r.body)
			}
			apiErr := r.errorCode(t)
			if apiErr.Code != tc.code {
				t.Errorf("code = %q, want %q", apiErr.Code, tc.code)
			}
			for _, p := range tc.paths {
				if !hasDetail(apiErr, p) {
					t.Errorf("details %+v do not name %q", apiErr.Details, p)
				}
			}
			if len(apiErr.Details) != len(tc.paths) {
				t.Errorf("details %+v, want %d", apiErr.Details, len(tc.paths))
			}
			for _, id := range tc.ids {
				if got := e.do("GET", "/sessions/"+id, nil); got.status != http.StatusNotFound {
					t.Errorf("session %q: GET status %d, want 404", id, got.status)
				}
			}
		})
	}
}

func TestStrictBodyDuplicateMessage(t *testing.T) {
	e := setup(t, demoManifest, "")
	s := e.open(wire.CreateSessionRequest{})
	r := e.do("POST", "/sessions/"+s.ID+"/messages", `{"text":"hi","text":"bye"}`)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("status = %d, want 422; body %s", r.status, r.body)
	}
	apiErr := r.errorCode(t)
	want := wire.FieldDetail{Path: "/text", Message: "duplicate key; send each key once"}
	if len(apiErr.Details) != 1 || apiErr.Details[0] != want {
		t.Errorf("details = %+v, want [%+v]", apiErr.Details, want)
	}
	if page := e.poll(s.ID, "wait=0"); len(page.Events) != 0 {
		t.Errorf("rejected message left events: %s", kinds(page.Events))
	}
}
