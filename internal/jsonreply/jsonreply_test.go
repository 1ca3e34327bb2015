package jsonreply

import (
	"encoding/json"
	"testing"
)

func TestExtract(t *testing.T) {
	cases := []struct{ text, want string }{
		{`{"a": 1}`, `{"a": 1}`},
		{"```json\n{\"a\": 2}\n```", `{"a": 2}`},
		{`Here it is: {"a": [3]} and more text`, `{"a": [3]}`},
	}
	for _, tc := range cases {
		raw, v, err := Extract(tc.text)
		if err != nil {
			t.Fatalf("Extract(%q): %v", tc.text, err)
		}
		if string(raw) != tc.want {
			t.Errorf("Extract(%q) = %s, want %s", tc.text, raw, tc.want)
		}
		if _, ok := v.(map[string]any); !ok {
			t.Errorf("Extract(%q) value %T, want an object", tc.text, v)
		}
	}
	for _, text := range []string{"", "no json here", `{"a": 1, "a": 2}`} {
		if _, _, err := Extract(text); err == nil {
			t.Errorf("Extract(%q) succeeded, want an error", text)
		}
	}
}

func TestDecodeKeepsDigits(t *testing.T) {
	v, err := Decode([]byte(`{"n": 9007199254740993}`))
	if err != nil {
		t.Fatal(err)
	}
	if n := v.(map[string]any)["n"]; n != json.Number("9007199254740993") {
		t.Errorf("n = %v, want 9007199254740993 exactly", n)
	}
	if _, err := Decode([]byte(`{} {}`)); err == nil {
		t.Error("Decode of two values succeeded, want an error")
	}
}
