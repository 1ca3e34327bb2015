package transport

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/agentry/agentry/transport/wire"
)

func TestDecodeBody(t *testing.T) {
	dup := "duplicate key; send each key once"
	cases := []struct {
		name    string
		body    string
		into    func() any
		status  int
		code    string
		details []wire.FieldDetail // the exact details, in order
	}{
		{"valid", `{"id":"a","mode":"auto","metadata":{"n":1}}`,
			func() any { return &wire.CreateSessionRequest{} }, 0, "", nil},
		{"closing bracket after", `{"id":"x"}]garbage`,
			func() any { return &wire.CreateSessionRequest{} }, 400, wire.CodeInvalidJSON, nil},
		{"closing brace after", `{"text":"a"}}`,
			func() any { return &wire.PostMessageRequest{} }, 400, wire.CodeInvalidJSON, nil},
		{"second value", `{"text":"a"} {"text":"b"}`,
			func() any { return &wire.PostMessageRequest{} }, 400, wire.CodeInvalidJSON, nil},
		{"trailing data into a map", `{"a":1}]`,
			func() any { return &map[string]any{} }, 400, wire.CodeInvalidJSON, nil},
		{"syntax", `{"text" "a"}`,
			func() any { return &wire.PostMessageRequest{} }, 400, wire.CodeInvalidJSON, nil},
		{"array body", `["hi"]`,
			func() any { return &wire.PostMessageRequest{} }, 400, wire.CodeInvalidJSON, nil},
		{"too deep", `{"metadata":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + `}`,
			func() any { return &wire.PostMessageRequest{} }, 400, wire.CodeInvalidJSON, nil},
		{"duplicate id", `{"id":"a","id":"b"}`,
			func() any { return &wire.CreateSessionRequest{} }, 422, wire.CodeValidationFailed,
			[]wire.FieldDetail{{Path: "/id", Message: dup}}},
		{"duplicate in input", `{"input":{"status":"GREEN","status":"RED"}}`,
			func() any { return &wire.TriggerRequest{} }, 422, wire.CodeValidationFailed,
			[]wire.FieldDetail{{Path: "/input/status", Message: dup}}},
		{"duplicate written three times", `{"text":"a","text":"b","text":"c"}`,
			func() any { return &wire.PostMessageRequest{} }, 422, wire.CodeValidationFailed,
			[]wire.FieldDetail{{Path: "/text", Message: dup}}},
		{"duplicate into a map", `{"variables":{"a":1,"a":2}}`,
			func() any { return &map[string]any{} }, 422, wire.CodeValidationFailed,
			[]wire.FieldDetail{{Path: "/variables/a", Message: dup}}},
		{"every wrong type", `{"mode":"foo","variables":[1],"metadata":"x","customer_id":5}`,
			func() any { return &wire.CreateSessionRequest{} }, 422, wire.CodeValidationFailed,
			[]wire.FieldDetail{
				{Path: "/customer_id", Message: "must be a string, not number"},
				{Path: "/metadata", Message: "must be an object, not string"},
				{Path: "/variables", Message: "must be an object, not array"},
			}},
		{"every unknown field", `{"idd":"x","mode":"foo","a/b":1}`,
			func() any { return &wire.CreateSessionRequest{} }, 422, wire.CodeValidationFailed,
			[]wire.FieldDetail{{Path: "/a~1b", Message: "unknown field"}, {Path: "/idd", Message: "unknown field"}}},
		{"field name case", `{"Text":"hi"}`,
			func() any { return &wire.PostMessageRequest{} }, 422, wire.CodeValidationFailed,
			[]wire.FieldDetail{{Path: "/Text", Message: "unknown field"}}},
		{"all kinds together", `{"text":5,"txt":"hi","source":"a","source":"b"}`,
			func() any { return &wire.PostMessageRequest{} }, 422, wire.CodeValidationFailed,
			[]wire.FieldDetail{
				{Path: "/source", Message: dup},
				{Path: "/text", Message: "must be a string, not number"},
				{Path: "/txt", Message: "unknown field"},
			}},
		{"pointer field", `{"mode":1,"webhook_url":null}`,
			func() any { return &wire.PatchSessionRequest{} }, 422, wire.CodeValidationFailed,
			[]wire.FieldDetail{{Path: "/mode", Message: "must be a string, not number"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeBody([]byte(tc.body), tc.into())
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("decodeBody(%s) = %v, want nil", tc.body, err)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("decodeBody(%.60s) = %v, want an API error", tc.body, err)
			}
			if ae.status != tc.status || ae.code != tc.code {
				t.Errorf("status, code = %d %s, want %d %s (%s)", ae.status, ae.code, tc.status, tc.code, ae.message)
			}
			if !slices.Equal(ae.details, tc.details) {
				t.Errorf("details = %v, want %v", ae.details, tc.details)
			}
		})
	}
}

func TestDecodeBodyTrailingMessage(t *testing.T) {
	var ae *apiError
	if !errors.As(decodeBody([]byte(`{"id":"x"}]garbage`), &wire.CreateSessionRequest{}), &ae) {
		t.Fatal("no API error for trailing data")
	}
	if ae.message != "the body has data after the JSON value" {
		t.Errorf("message = %q, want %q", ae.message, "the body has data after the JSON value")
	}
}

func TestDecodeBodyKeepsNumbers(t *testing.T) {
	var req wire.CreateSessionRequest
	if err := decodeBody([]byte(`{"variables":{"n":9007199254740993}}`), &req); err != nil {
		t.Fatal(err)
	}
	if got := req.Variables["n"]; got != any(json.Number("9007199254740993")) {
		t.Errorf("variables.n = %#v, want the exact json.Number", got)
	}
}

func TestSelectInput(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		pointer string
		want    string // the selected input, when valid
		status  int
		detail  string // a details path that must be reported
	}{
		{"whole body", `{"a":{"b":1}}`, "body", `{"a":{"b":1}}`, 0, ""},
		{"pointer", `{"a":{"b":1}}`, "/a", `{"b":1}`, 0, ""},
		{"closing bracket after", `{"a":1}]garbage`, "", "", http.StatusBadRequest, ""},
		{"second value", `{"a":1} {}`, "body", "", http.StatusBadRequest, ""},
		{"syntax", `{"a":`, "body", "", http.StatusBadRequest, ""},
		{"duplicate selected", `{"a":{"s":"GREEN","s":"RED"}}`, "/a", "", http.StatusUnprocessableEntity, "/a/s"},
		{"duplicate elsewhere", `{"a":{"s":1},"b":[{"k":1,"k":2}]}`, "/a", "", http.StatusUnprocessableEntity, "/b/0/k"},
		{"pointer not found", `{"a":1}`, "/b", "", http.StatusUnprocessableEntity, "/b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := selectInput([]byte(tc.body), tc.pointer)
			if tc.status == 0 {
				if err != nil || string(got) != tc.want {
					t.Fatalf("selectInput = %s, %v; want %s", got, err, tc.want)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("selectInput = %s, %v; want an API error", got, err)
			}
			if ae.status != tc.status {
				t.Errorf("status = %d, want %d (%s)", ae.status, tc.status, ae.message)
			}
			if tc.detail != "" && !slices.ContainsFunc(ae.details, func(d wire.FieldDetail) bool { return d.Path == tc.detail }) {
				t.Errorf("details %v do not name %q", ae.details, tc.detail)
			}
		})
	}
}
