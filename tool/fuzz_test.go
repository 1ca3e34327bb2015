package tool

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzValidateArgs(f *testing.F) {
	f.Add(customerSchema, `{"name":"Ada","age":"x","phone":1}`)
	f.Add(noParamsSchema, `""`)
	f.Add(`{"type":"object","properties":{"a":{"$ref":"#/$defs/a"}},"$defs":{"a":{"$ref":"#/$defs/a"}}}`, `{"a":1}`)
	f.Add(`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object"}`, `null`)
	f.Add(`{"properties":{"a":{"pattern":"^(?=x)"}}}`, `{"a":"x"} `)
	f.Add(`true`, `[`)
	f.Fuzz(func(t *testing.T, schema, args string) {
		tl := schemaTool{name: "fuzz:tool", schema: schema}
		out, vs := ValidateArgs(tl, json.RawMessage(args))
		if len(out) == 0 {
			t.Fatal("ValidateArgs returned no arguments")
		}
		if len(vs) == 0 && !json.Valid(out) {
			t.Fatalf("ValidateArgs accepted invalid JSON %q", out)
		}
		_ = SchemaError(tl)
	})
}

func FuzzTruncate(f *testing.F) {
	f.Add(`"`+strings.Repeat(`\"é🎉\u0001`, 50)+`"`, 64)
	f.Add(`{"a":[1,2,3]}`, 5)
	f.Add(`"\ud800"`, 3)
	f.Fuzz(func(t *testing.T, content string, limit int) {
		limit %= 1 << 16
		r := Result{Content: json.RawMessage(content)}
		got, cut := Truncate(r, limit)
		if !cut {
			if string(got.Content) != content {
				t.Fatal("content changed without a cut")
			}
			return
		}
		var s string
		if err := json.Unmarshal(got.Content, &s); err != nil {
			t.Fatalf("content %q is not a JSON string: %v", got.Content, err)
		}
		if !utf8.ValidString(s) {
			t.Fatalf("content %q is not valid UTF-8", s)
		}
		marker := encodeString("\n… [truncated: 0000000000 bytes, limit 00000]")
		if limit >= len(marker) && len(got.Content) > limit {
			t.Fatalf("content is %d bytes, over the limit %d", len(got.Content), limit)
		}
	})
}
