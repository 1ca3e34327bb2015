package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"scalar", `5`, nil},
		{"empty object", ` {} `, nil},
		{"distinct keys", `{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}`, nil},
		{"same key in siblings", `[{"id":1},{"id":2}]`, nil},
		{"top level", `{"id":"a","id":"b"}`, []string{"/id"}},
		{"three times", `{"a":1,"a":2,"a":3}`, []string{"/a", "/a"}},
		{"nested", `{"input":{"status":"GREEN","status":"RED"}}`, []string{"/input/status"}},
		{"in array", `{"x":[0,{"k":1,"k":2}]}`, []string{"/x/1/k"}},
		{"escaped equal", `{"a":1,"\u0061":2}`, []string{"/a"}},
		{"pointer escaping", `{"a/b":{"c~d":1,"c~d":2}}`, []string{"/a~1b/c~0d"}},
		{"empty key", `{"":1,"":2}`, []string{"/"}},
		{"document order", `{"z":{"q":1,"q":2},"z":0,"a":1,"a":2}`, []string{"/z/q", "/z", "/a"}},
		{"after nested value", `{"o":{"p":[1,[2]]},"o":null}`, []string{"/o"}},
		{"trailing space", "{\"a\":1}\n\t ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Scan([]byte(tt.in))
			if err != nil {
				t.Fatalf("Scan(%s) error: %v", tt.in, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Scan(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestScanErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", ``, ErrInvalid},
		{"white space", "  \n", ErrInvalid},
		{"truncated object", `{"text": "hi"`, ErrInvalid},
		{"truncated array", `[1,`, ErrInvalid},
		{"bad token", `{"a": x}`, ErrInvalid},
		{"missing colon", `{"a" 1}`, ErrInvalid},
		{"number key", `{1: 2}`, ErrInvalid},
		{"closing bracket after", `{"id":"x"}]garbage`, ErrTrailingData},
		{"closing brace after", `{"id":"x"}}`, ErrTrailingData},
		{"second value", `{"text":"a"} {"text":"b"}`, ErrTrailingData},
		{"garbage after", `1 x`, ErrTrailingData},
		{"opening bracket after", `"a"[`, ErrTrailingData},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Scan([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Errorf("Scan(%.40q) error = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestScanMaxDepth(t *testing.T) {
	in := strings.Repeat(`{"a":`, MaxDepth-1) + `[1]` + strings.Repeat("}", MaxDepth-1)
	if _, err := Scan([]byte(in)); err != nil {
		t.Errorf("Scan at depth %d: %v", MaxDepth, err)
	}
}

func TestCheck(t *testing.T) {
	if err := Check([]byte(`{"a":{"b":1}}`)); err != nil {
		t.Errorf("Check(valid) = %v", err)
	}
	err := Check([]byte(`{"a":{"b":1,"b":2},"c":1,"c":2}`))
	var de *DuplicateKeyError
	if !errors.As(err, &de) {
		t.Fatalf("Check error = %v, want *DuplicateKeyError", err)
	}
	if de.Pointer != "/a/b" {
		t.Errorf("Pointer = %q, want the first duplicate /a/b", de.Pointer)
	}
	if !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("error %v does not match ErrDuplicateKey", err)
	}
	if err := Check([]byte(`{}]`)); !errors.Is(err, ErrTrailingData) {
		t.Errorf("Check(trailing) = %v, want ErrTrailingData", err)
	}
}

func TestChildPointer(t *testing.T) {
	tests := []struct{ parent, name, want string }{
		{"", "a", "/a"},
		{"/x", "a/b", "/x/a~1b"},
		{"", "~1", "/~01"},
		{"", "", "/"},
	}
	for _, tt := range tests {
		if got := ChildPointer(tt.parent, tt.name); got != tt.want {
			t.Errorf("ChildPointer(%q, %q) = %q, want %q", tt.parent, tt.name, got, tt.want)
		}
	}
}

// FuzzScan checks Scan against encoding/json: both accept the same inputs
// (within MaxDepth), and every reported pointer names a key that exists in
// the decoded value.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","id":"b"}`, `{"id":"x"}]garbage`, `[{"a":[1,{"b":2,"b":3}]}]`,
		`{"a/b":{"c~d":1,"c~d":2}}`, `"x"`, ``, `{"a":1,"\u0061":2}`, `[1,2,3] `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dups, err := Scan(data)
		if errors.Is(err, ErrTooDeep) {
			return
		}
		if valid := json.Valid(data); valid != (err == nil) {
			t.Fatalf("json.Valid = %v but Scan error = %v for %q", valid, err, data)
		}
		if err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("Unmarshal of an input Scan accepted: %v", err)
		}
		for _, p := range dups {
			if !resolves(doc, p) {
				t.Fatalf("pointer %q from Scan does not resolve in %q", p, data)
			}
		}
	})
}

// resolves reports whether pointer names a value in doc.
func resolves(doc any, pointer string) bool {
	if pointer == "" {
		return true
	}
	cur := doc
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch node := cur.(type) {
		case map[string]any:
			next, ok := node[tok]
			if !ok {
				return false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(node) {
				return false
			}
			cur = node[i]
		default:
			return false
		}
	}
	return true
}

func TestScanSyntaxMessage(t *testing.T) {
	_, err := Scan([]byte(`{decision: approve}`))
	want := "invalid character 'd' looking for beginning of object key string"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("error %v has no *json.SyntaxError", err)
	}
	if _, err := Scan([]byte(`[1,`)); err == nil || err.Error() != "unexpected EOF" {
		t.Errorf("truncated: error = %v, want unexpected EOF", err)
	}
}
