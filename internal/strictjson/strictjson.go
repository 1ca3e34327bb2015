package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxDepth is the maximum number of nested objects and arrays that Scan
// walks. encoding/json stops at 10000; a request body needs far fewer.
const MaxDepth = 1000

// Sentinel errors returned by Scan and Check, wrapped with detail.
var (
	// ErrInvalid is a syntax error or an empty input. An error that
	// matches it has the text of the syntax error alone, such as
	// "unexpected EOF"; a *json.SyntaxError is in its chain when
	// encoding/json reported one.
	ErrInvalid = errors.New("not valid JSON")
	// ErrTrailingData is anything but white space after the value.
	ErrTrailingData = errors.New("data after the JSON value")
	// ErrTooDeep is nesting past MaxDepth.
	ErrTooDeep = errors.New("nested too deep")
	// ErrDuplicateKey is an object key that occurs twice in one object.
	ErrDuplicateKey = errors.New("duplicate key")
)

// syntaxError is a syntax error or an empty input. Its text is the
// cause's alone, so a caller can write "not valid JSON: " before it.
type syntaxError struct{ cause error }

func (e *syntaxError) Error() string   { return e.cause.Error() }
func (e *syntaxError) Unwrap() []error { return []error{ErrInvalid, e.cause} }

// DuplicateKeyError is the first duplicated key that Check found.
type DuplicateKeyError struct {
	// Pointer is the JSON pointer (RFC 6901) of the key's second
	// occurrence, for example "/input/status".
	Pointer string
}

func (e *DuplicateKeyError) Error() string {
	return "duplicate key at " + strconv.Quote(e.Pointer)
}

// Is reports whether target is ErrDuplicateKey.
func (e *DuplicateKeyError) Is(target error) bool { return target == ErrDuplicateKey }

// Check returns nil when data is exactly one JSON value, optionally
// surrounded by white space, with no object key written twice. Otherwise
// it returns an error wrapping ErrInvalid, ErrTrailingData or ErrTooDeep,
// or a *DuplicateKeyError for the first duplicated key.
func Check(data []byte) error {
	dups, err := Scan(data)
	if err != nil {
		return err
	}
	if len(dups) > 0 {
		return &DuplicateKeyError{Pointer: dups[0]}
	}
	return nil
}

// Scan walks the single JSON value in data and returns the JSON pointer of
// every object key that repeats a key earlier in the same object, in
// document order. A key written three times is listed twice. Keys are
// compared after unescaping, so "a" and "\u0061" are the same key, as they
// are to encoding/json. The error wraps ErrInvalid, ErrTrailingData or
// ErrTooDeep; the pointers are valid only when the error is nil.
func Scan(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var w walker
	for done := false; !done; {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if w.started {
					return nil, &syntaxError{io.ErrUnexpectedEOF}
				}
				return nil, &syntaxError{errors.New("the input is empty")}
			}
			return nil, &syntaxError{decodeError(data, err)}
		}
		w.started = true
		if done, err = w.step(tok); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w, at byte offset %d", ErrTrailingData, dec.InputOffset())
	}
	return w.dups, nil
}

// decodeError returns the error json.Decoder.Decode reports for data,
// whose messages name what the parser looked for ("invalid character 'd'
// looking for beginning of object key string") where Token's omit it. It
// returns tokenErr if Decode finds no error.
func decodeError(data []byte, tokenErr error) error {
	var raw json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&raw); err != nil {
		return err
	}
	return tokenErr
}

// frame is one open object or array.
type frame struct {
	object    bool
	pointer   string
	expectKey bool                // object: the next token is a key or '}'
	key       string              // object: the key of the current member
	seen      map[string]struct{} // object: keys read so far
	index     int                 // array: the index of the next element
}

// walker follows the token stream of one value.
type walker struct {
	stack   []frame
	dups    []string
	started bool
}

// step consumes one token and reports whether the top-level value is
// complete.
func (w *walker) step(tok json.Token) (bool, error) {
	if n := len(w.stack); n > 0 && w.stack[n-1].object && w.stack[n-1].expectKey {
		top := &w.stack[n-1]
		if tok == json.Delim('}') {
			return w.pop(), nil
		}
		// json.Decoder only returns a string or '}' where a key belongs.
		key := tok.(string)
		if _, ok := top.seen[key]; ok {
			w.dups = append(w.dups, ChildPointer(top.pointer, key))
		} else {
			top.seen[key] = struct{}{}
		}
		top.key = key
		top.expectKey = false
		return false, nil
	}
	switch tok {
	case json.Delim('{'), json.Delim('['):
		if len(w.stack) >= MaxDepth {
			return false, fmt.Errorf("%w: more than %d levels", ErrTooDeep, MaxDepth)
		}
		f := frame{object: tok == json.Delim('{'), pointer: w.valuePointer()}
		if f.object {
			f.expectKey = true
			f.seen = make(map[string]struct{})
		}
		w.stack = append(w.stack, f)
		return false, nil
	case json.Delim(']'):
		return w.pop(), nil
	}
	return w.endValue(), nil
}

// pop closes the innermost container, which ends a value.
func (w *walker) pop() bool {
	w.stack = w.stack[:len(w.stack)-1]
	return w.endValue()
}

// endValue moves past a complete value and reports whether it was the
// top-level one.
func (w *walker) endValue() bool {
	n := len(w.stack)
	if n == 0 {
		return true
	}
	top := &w.stack[n-1]
	if top.object {
		top.expectKey = true
	} else {
		top.index++
	}
	return false
}

// valuePointer returns the pointer of the value that starts next.
func (w *walker) valuePointer() string {
	n := len(w.stack)
	if n == 0 {
		return ""
	}
	top := w.stack[n-1]
	if top.object {
		return ChildPointer(top.pointer, top.key)
	}
	return top.pointer + "/" + strconv.Itoa(top.index)
}

// ChildPointer returns the JSON pointer of member name of the object at
// parent, with "~" and "/" in name escaped as RFC 6901 requires.
func ChildPointer(parent, name string) string {
	name = strings.ReplaceAll(name, "~", "~0")
	name = strings.ReplaceAll(name, "/", "~1")
	return parent + "/" + name
}
