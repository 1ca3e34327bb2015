package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors. Every *ValidationError matches ErrInvalid with
// [errors.Is].
var (
	// ErrInvalid marks a manifest that failed to parse or validate.
	ErrInvalid = errors.New("invalid manifest")
	// ErrTooLarge marks a manifest file above [MaxSize] bytes.
	ErrTooLarge = errors.New("manifest too large")
)

// Violation is one problem found in a manifest.
type Violation struct {
	// Path is the YAML path of the offending value, such as
	// "agent_config.runtime.api_key" or "agent_config.llms.fallback[1]";
	// empty for the whole document.
	Path string
	// Line is the 1-based line in the YAML source, or 0 when unknown.
	Line int
	// Message describes the problem and, where it helps, what to write
	// instead.
	Message string
}

// String formats v as "path (line N): message".
func (v Violation) String() string {
	path := v.Path
	if path == "" {
		path = "(document)"
	}
	if v.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", path, v.Line, v.Message)
	}
	return fmt.Sprintf("%s: %s", path, v.Message)
}

// ValidationError lists every problem found while loading one manifest,
// sorted by line.
type ValidationError struct {
	// File is the manifest's path when it was read by [Load].
	File string
	// Violations is never empty.
	Violations []Violation
}

// Error returns a header line followed by one line per violation.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid manifest")
	if e.File != "" {
		b.WriteString(" ")
		b.WriteString(e.File)
	}
	if n := len(e.Violations); n == 1 {
		b.WriteString(" (1 problem):")
	} else {
		fmt.Fprintf(&b, " (%d problems):", n)
	}
	for _, v := range e.Violations {
		b.WriteString("\n")
		b.WriteString(v.String())
	}
	return b.String()
}

// Is reports whether target is [ErrInvalid].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// problems collects violations; a path reported once is not reported again
// by a later, less specific check.
type problems struct {
	list   []Violation
	byPath map[string]bool
}

func (p *problems) add(path string, line int, format string, args ...any) {
	if p.byPath == nil {
		p.byPath = map[string]bool{}
	}
	p.byPath[path] = true
	p.list = append(p.list, Violation{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
}

// addOnce adds a violation unless path already has one.
func (p *problems) addOnce(path string, line int, format string, args ...any) {
	if p.byPath[path] {
		return
	}
	p.add(path, line, format, args...)
}

func (p *problems) empty() bool { return len(p.list) == 0 }

// err returns the collected violations sorted by line and path, with exact
// duplicates removed, or nil when there are none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	list := append([]Violation(nil), p.list...)
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Line != list[j].Line {
			return list[i].Line < list[j].Line
		}
		if list[i].Path != list[j].Path {
			return list[i].Path < list[j].Path
		}
		return list[i].Message < list[j].Message
	})
	out := list[:0]
	for _, v := range list {
		if len(out) > 0 && v == out[len(out)-1] {
			continue
		}
		out = append(out, v)
	}
	return &ValidationError{Violations: out}
}
