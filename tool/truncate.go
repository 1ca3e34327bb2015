package tool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Truncate limits the content of r to maxBytes. A result that fits, or
// any result when maxBytes is 0 or less, comes back unchanged with false.
// Otherwise the content becomes a JSON string that holds the start of the
// content and a marker such as "… [truncated: 123456 bytes, limit 65536]",
// so the model learns that the result is incomplete, and Truncate returns
// true. Content that is a JSON string is cut as text, so the model
// reads its characters rather than their escaped form; other content is
// cut as JSON text. The new content is at most maxBytes long unless
// maxBytes is too small for the marker alone. IsError is kept.
func Truncate(r Result, maxBytes int) (Result, bool) {
	if maxBytes <= 0 || len(r.Content) <= maxBytes {
		return r, false
	}
	text := string(r.Content)
	if trimmed := bytes.TrimSpace(r.Content); len(trimmed) > 0 && trimmed[0] == '"' {
		var s string
		if json.Unmarshal(trimmed, &s) == nil {
			text = s
		}
	}
	marker := fmt.Sprintf("\n… [truncated: %d bytes, limit %d]", len(r.Content), maxBytes)

	// Each byte removed from the head shortens the encoded string by at
	// least one byte, so cutting the excess converges in a few rounds.
	n := min(len(text), maxBytes)
	for {
		head := cutUTF8(text, n)
		content := encodeString(head + marker)
		if len(content) <= maxBytes || len(head) == 0 {
			return Result{Content: content, IsError: r.IsError}, true
		}
		n = max(len(head)-(len(content)-maxBytes), 0)
	}
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does
// not split a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// encodeString returns s as a JSON string without HTML escaping, which
// would make the content longer for no reader's benefit.
func encodeString(s string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
