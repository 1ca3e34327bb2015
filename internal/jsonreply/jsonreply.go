// Package jsonreply reads JSON values out of language model replies. It
// serves every caller that requests structured output in the prompt and
// validates it afterwards: the routine executor's think and route steps
// and the engine's policy matching. Requesting JSON in the prompt works
// on every provider, while the langchaingo v0.1.14 Anthropic client
// ignores llms.WithJSONMode.
package jsonreply

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/agentry/agentry/internal/strictjson"
)

// Decode decodes exactly one JSON value with UseNumber, so numbers keep
// every digit (9007199254740993 stays exact) and an integer written as
// 1.0 or 1e2 still validates as "integer". A key written twice in one
// object is an error, because the decoded value would keep the last one
// while the raw text holds both.
func Decode(raw []byte) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("the value is empty")
	}
	if err := strictjson.Check(raw); err != nil {
		if errors.Is(err, strictjson.ErrTrailingData) {
			return nil, errors.New("unexpected data after the JSON value")
		}
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// Extract finds the JSON value in a model's reply: the whole reply, the
// content of a ``` code fence, or else the first object or array in the
// text. It returns the value's text and the value decoded by [Decode].
func Extract(text string) (json.RawMessage, any, error) {
	t := strings.TrimSpace(text)
	if t == "" {
		return nil, nil, errors.New("the reply is empty")
	}
	if v, err := Decode([]byte(t)); err == nil {
		return json.RawMessage(t), v, nil
	}
	if fenced, ok := fenceContent(t); ok {
		if v, err := Decode([]byte(fenced)); err == nil {
			return json.RawMessage(fenced), v, nil
		}
		t = fenced
	}
	start := strings.IndexAny(t, "{[")
	if start < 0 {
		return nil, nil, errors.New("no JSON object or array found")
	}
	dec := json.NewDecoder(strings.NewReader(t[start:]))
	dec.UseNumber()
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, err
	}
	v, err := Decode(raw)
	if err != nil {
		return nil, nil, err
	}
	return raw, v, nil
}

// fenceContent returns the text inside the first ``` code fence of t,
// without the fence's language tag.
func fenceContent(t string) (string, bool) {
	_, after, ok := strings.Cut(t, "```")
	if !ok {
		return "", false
	}
	// The rest of the opening line is the language tag, such as "json".
	nl := strings.IndexByte(after, '\n')
	if nl < 0 {
		return "", false
	}
	body, _, ok := strings.Cut(after[nl+1:], "```")
	if !ok {
		return "", false
	}
	return strings.TrimSpace(body), true
}
