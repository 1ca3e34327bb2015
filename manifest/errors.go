package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
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
	// File is the routine file that holds the offending value, as written
	// in the manifest's context.routines list; empty for the manifest
	// itself.
	File string
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

// String formats v as "path (line N): message", or as
// "path (file line N): message" when File is set.
func (v Violation) String() string {
	path := v.Path
	if path == "" {
		path = "(document)"
	}
	var where []string
	if v.File != "" {
		where = append(where, v.File)
	}
	if v.Line > 0 {
		where = append(where, "line "+strconv.Itoa(v.Line))
	}
	if len(where) == 0 {
		return fmt.Sprintf("%s: %s", path, v.Message)
	}
	return fmt.Sprintf("%s (%s): %s", path, strings.Join(where, " "), v.Message)
}

// ValidationError lists every problem found while loading one manifest:
// first those in the manifest, then those in each routine file, each
// group sorted by line.
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

// NewValidationError returns a *ValidationError for manifest file (empty
// when unknown) with vs sorted as [Load] sorts them. Servers use it to
// report problems found after loading, such as tool references that name
// no registered tool (see [Manifest.ToolReferences]), in the same format.
// It returns nil when vs is empty.
func NewValidationError(file string, vs []Violation) *ValidationError {
	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{File: file, Violations: sortViolations(vs)}
}

// problems collects violations; a path reported once is not reported again
// by a later, less specific check.
type problems struct {
	list   []Violation
	byPath map[string]bool
	// files maps the display path of a routine entry read from a file,
	// such as "agent_config.context.routines[1]", to that file's name as
	// written. Violations under that path name the file.
	files map[string]string
}

func (p *problems) add(path string, line int, format string, args ...any) {
	if p.byPath == nil {
		p.byPath = map[string]bool{}
	}
	p.byPath[path] = true
	p.list = append(p.list, Violation{
		File:    p.fileOf(path),
		Path:    path,
		Line:    line,
		Message: fmt.Sprintf(format, args...),
	})
}

// fileOf returns the routine file that holds the value at display path,
// or "" for the manifest itself.
func (p *problems) fileOf(path string) string {
	for prefix, file := range p.files {
		rest, ok := strings.CutPrefix(path, prefix)
		if ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			return file
		}
	}
	return ""
}

// addFile records that the value at display path was read from file.
func (p *problems) addFile(path, file string) {
	if p.files == nil {
		p.files = map[string]string{}
	}
	p.files[path] = file
}

// addOnce adds a violation unless path already has one.
func (p *problems) addOnce(path string, line int, format string, args ...any) {
	if p.byPath[path] {
		return
	}
	p.add(path, line, format, args...)
}

func (p *problems) empty() bool { return len(p.list) == 0 }

// err returns the collected violations sorted by file, line and path, with
// exact duplicates removed, or nil when there are none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Violations: sortViolations(p.list)}
}

// sortViolations returns a sorted copy of list without exact duplicates.
// The manifest's own violations (File "") come first.
func sortViolations(list []Violation) []Violation {
	list = append([]Violation(nil), list...)
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].File != list[j].File {
			return list[i].File < list[j].File
		}
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
	return out
}
