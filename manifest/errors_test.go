package manifest

import (
	"errors"
	"slices"
	"testing"
)

func TestViolationString(t *testing.T) {
	cases := []struct {
		name string
		v    Violation
		want string
	}{
		{"line", Violation{Path: "id", Line: 1, Message: "m"}, "id (line 1): m"},
		{"no line", Violation{Path: "id", Message: "m"}, "id: m"},
		{"document", Violation{Message: "m"}, "(document): m"},
		{"file and line", Violation{File: "routines/kyc.yaml", Path: "agent_config.context.routines[1]", Line: 4, Message: "m"},
			"agent_config.context.routines[1] (routines/kyc.yaml line 4): m"},
		{"file only", Violation{File: "r.yaml", Path: "agent_config.context.routines[0]", Message: "m"},
			"agent_config.context.routines[0] (r.yaml): m"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.v.String(); got != c.want {
				t.Errorf("String() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestNewValidationError(t *testing.T) {
	in := []Violation{
		{File: "r.yaml", Path: "b", Line: 2, Message: "m"},
		{Path: "c", Line: 9, Message: "m"},
		{Path: "a", Line: 3, Message: "m"},
		{Path: "a", Line: 3, Message: "m"},
	}
	keep := slices.Clone(in)
	err := NewValidationError("agent.yaml", in)
	want := []Violation{in[2], in[1], in[0]}
	if !slices.Equal(err.Violations, want) {
		t.Errorf("Violations = %+v, want %+v", err.Violations, want)
	}
	if err.File != "agent.yaml" {
		t.Errorf("File = %q, want agent.yaml", err.File)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("errors.Is(err, ErrInvalid) = false")
	}
	if !slices.Equal(in, keep) {
		t.Error("NewValidationError reordered its argument")
	}
	if e := NewValidationError("agent.yaml", nil); e != nil {
		t.Errorf("NewValidationError(nil) = %v, want nil", e)
	}
}
