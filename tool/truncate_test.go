package tool

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateFits(t *testing.T) {
	r := Result{Content: json.RawMessage(`{"a":1}`)}
	for _, limit := range []int{len(r.Content), 100, 0, -1} {
		got, cut := Truncate(r, limit)
		if cut {
			t.Errorf("limit %d: truncated a result of %d bytes", limit, len(r.Content))
		}
		if string(got.Content) != string(r.Content) {
			t.Errorf("limit %d: content = %s, want it unchanged", limit, got.Content)
		}
	}
}

func TestTruncate(t *testing.T) {
	rows := make([]string, 2000)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"id":%d,"note":"<\"quoted\"> & ünïcödé 🎉"}`, i)
	}
	object := "[" + strings.Join(rows, ",") + "]"
	text, _ := json.Marshal(strings.Repeat("line with \"quotes\", tabs\t and ✓ marks\n", 3000))
	cases := []struct {
		name    string
		content string
		limit   int
		head    string // the decoded content starts with this
	}{
		{"json array", object, 4096, `[{"id":0,"note":"<\"quoted\"> & ünïcödé 🎉"}`},
		{"json string", string(text), 4096, "line with \"quotes\", tabs\t and ✓ marks\nline"},
		{"odd limit", string(text), 1001, "line with"},
		{"small limit", object, 60, "["},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, cut := Truncate(Result{Content: json.RawMessage(c.content), IsError: true}, c.limit)
			if !cut {
				t.Fatal("Truncate reported no cut")
			}
			if !got.IsError {
				t.Error("IsError was dropped")
			}
			if len(got.Content) > c.limit {
				t.Errorf("content is %d bytes, over the limit %d", len(got.Content), c.limit)
			}
			var s string
			if err := json.Unmarshal(got.Content, &s); err != nil {
				t.Fatalf("content is not a JSON string: %v", err)
			}
			if !utf8.ValidString(s) {
				t.Error("content splits a UTF-8 sequence")
			}
			if !strings.HasPrefix(s, c.head) {
				t.Errorf("content starts %q, want %q", s[:min(len(s), 60)], c.head)
			}
			marker := fmt.Sprintf("… [truncated: %d bytes, limit %d]", len(c.content), c.limit)
			if !strings.HasSuffix(s, marker) {
				t.Errorf("content ends %q, want the marker %q", s[max(0, len(s)-60):], marker)
			}
		})
	}
}

func TestTruncateTinyLimit(t *testing.T) {
	got, cut := Truncate(Result{Content: json.RawMessage(`"` + strings.Repeat("x", 100) + `"`)}, 10)
	if !cut {
		t.Fatal("Truncate reported no cut")
	}
	var s string
	if err := json.Unmarshal(got.Content, &s); err != nil {
		t.Fatalf("content is not a JSON string: %v", err)
	}
	if want := "\n… [truncated: 102 bytes, limit 10]"; s != want {
		t.Errorf("content = %q, want only the marker %q", s, want)
	}
}
