package manifest

import (
	"errors"
	"strings"
	"testing"
)

// env returns a lookup function over a fixed map, so tests never read the
// developer's environment.
func env(vars map[string]string) Option {
	return WithLookupEnv(func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	})
}

// noEnv is a lookup function for which no variable is set.
var noEnv = env(nil)

// validYAML is a minimal manifest that passes every check.
const validYAML = `id: support
name: Support agent
agent_config:
  runtime:
    api_key: test-key
  llms:
    default: scripted/demo
`

// parseOK parses src and fails the test on any error.
func parseOK(t *testing.T, src string, opts ...Option) *Manifest {
	t.Helper()
	m, err := Parse([]byte(src), append([]Option{noEnv}, opts...)...)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// violations parses src, which must be invalid, and returns the violations.
func violations(t *testing.T, src string, opts ...Option) []Violation {
	t.Helper()
	_, err := Parse([]byte(src), append([]Option{noEnv}, opts...)...)
	if err == nil {
		t.Fatalf("Parse succeeded; want a validation error")
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse error %T %v; want *ValidationError", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false")
	}
	return ve.Violations
}

// findViolation returns the violation at path, failing the test when there
// is none.
func findViolation(t *testing.T, list []Violation, path string) Violation {
	t.Helper()
	for _, v := range list {
		if v.Path == path {
			return v
		}
	}
	t.Fatalf("no violation at %q; got:\n%s", path, formatViolations(list))
	return Violation{}
}

// wantViolation checks that list has a violation at path and line whose
// message contains msg.
func wantViolation(t *testing.T, list []Violation, path string, line int, msg string) {
	t.Helper()
	v := findViolation(t, list, path)
	if v.Line != line {
		t.Errorf("%s: line %d, want %d", path, v.Line, line)
	}
	if !strings.Contains(v.Message, msg) {
		t.Errorf("%s: message %q, want it to contain %q", path, v.Message, msg)
	}
}

func formatViolations(list []Violation) string {
	var b strings.Builder
	for _, v := range list {
		b.WriteString("  " + v.String() + "\n")
	}
	return b.String()
}
