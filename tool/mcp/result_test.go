package mcp

import (
	"encoding/json"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

func TestToResult(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wire    string // a tools/call result as a server sends it
		content string
		isError bool
	}{
		{"one text", `{"content":[{"type":"text","text":"hello"}]}`, `"hello"`, false},
		{"texts joined", `{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}`, `"a\nb"`, false},
		{"no content", `{"content":[]}`, `""`, false},
		{"structured wins", `{"content":[{"type":"text","text":"{\"n\":1}"}],"structuredContent":{"n":1,"big":9007199254740993}}`, `{"n":1,"big":9007199254740993}`, false},
		{"structured null", `{"content":[{"type":"text","text":"t"}],"structuredContent":null}`, `"t"`, false},
		{"error text", `{"content":[{"type":"text","text":"locked"}],"isError":true}`, `"locked"`, true},
		{"error structured", `{"content":[],"structuredContent":{"code":"E1"},"isError":true}`, `{"code":"E1"}`, true},
		{"image mixed", `{"content":[{"type":"text","text":"pic"},{"type":"image","data":"AAAA","mimeType":"image/png"}]}`,
			`[{"type":"text","text":"pic"},{"type":"image","data":"AAAA","mimeType":"image/png"}]`, false},
		// mcp-go v1.2.1 encodes a link's empty description and mimeType.
		{"resource link", `{"content":[{"type":"resource_link","uri":"file:///a.txt","name":"a.txt"}]}`,
			`[{"type":"resource_link","uri":"file:///a.txt","name":"a.txt","description":"","mimeType":""}]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := json.RawMessage(tc.wire)
			r, err := mcp.ParseCallToolResult(&raw)
			if err != nil {
				t.Fatalf("parse %s: %v", tc.wire, err)
			}
			res, err := toResult(r)
			if err != nil {
				t.Fatalf("toResult: %v", err)
			}
			if !jsonEqual(t, res.Content, []byte(tc.content)) {
				t.Errorf("content = %s, want %s", res.Content, tc.content)
			}
			if res.IsError != tc.isError {
				t.Errorf("IsError = %v, want %v", res.IsError, tc.isError)
			}
		})
	}
}

func TestInputSchema(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema string // inputSchema as a server sends it
		want   string
	}{
		{"empty", `{}`, `{"type":"object"}`},
		{"object without properties", `{"type":"object","properties":{}}`, `{"type":"object"}`},
		{"draft-07 marker", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{}}`, `{"type":"object"}`},
		{"properties", `{"type":"object","properties":{"q":{"type":"string","minLength":1}},"required":["q"]}`,
			`{"type":"object","properties":{"q":{"type":"string","minLength":1}},"required":["q"]}`},
		{"no type", `{"properties":{"n":{"type":"integer"}}}`, `{"type":"object","properties":{"n":{"type":"integer"}}}`},
		{"closed", `{"type":"object","properties":{},"additionalProperties":false}`,
			`{"type":"object","properties":{},"additionalProperties":false}`},
		{"nested kept whole", `{"type":"object","properties":{"when":{"anyOf":[{"type":"string","format":"date"},{"type":"null"}]}}}`,
			`{"type":"object","properties":{"when":{"anyOf":[{"type":"string","format":"date"},{"type":"null"}]}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tl mcp.Tool
			if err := json.Unmarshal([]byte(`{"name":"t","inputSchema":`+tc.schema+`}`), &tl); err != nil {
				t.Fatal(err)
			}
			got, err := inputSchema(tl)
			if err != nil {
				t.Fatalf("inputSchema: %v", err)
			}
			if !jsonEqual(t, got, []byte(tc.want)) {
				t.Errorf("schema = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNormalizeArgs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, `{}`},
		{`  `, `{}`},
		{`null`, `{}`},
		{`""`, `{}`},
		{`{}`, `{}`},
		{` {"a":1} `, `{"a":1}`},
	} {
		if got := string(normalizeArgs(json.RawMessage(tc.in))); got != tc.want {
			t.Errorf("normalizeArgs(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// jsonEqual reports whether a and b encode the same JSON value, keeping
// numbers exact.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	canonical := func(raw []byte) string {
		var v any
		dec := json.NewDecoder(bytesReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("invalid JSON %s: %v", raw, err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	return canonical(a) == canonical(b)
}
