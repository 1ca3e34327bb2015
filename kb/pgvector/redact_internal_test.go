package pgvector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/agentry/agentry/kb"
)

func TestRedact(t *testing.T) {
	secrets := passwordForms("p@ss word")
	cause := errors.New("dial postgres://u:p%40ss+word@h/db: refused")
	err := fmt.Errorf("%w: connect: %w (%w)", kb.ErrUnavailable, cause, context.Canceled)

	got := redact(err, secrets)
	if strings.Contains(got.Error(), "p%40ss+word") || strings.Contains(got.Error(), "p@ss word") {
		t.Errorf("message still contains the password: %s", got)
	}
	if !strings.Contains(got.Error(), "u:"+passwordMask+"@h") {
		t.Errorf("message %q does not show the mask where the password was", got)
	}
	if !errors.Is(got, kb.ErrUnavailable) || !errors.Is(got, context.Canceled) {
		t.Errorf("redacted error %v no longer matches kb.ErrUnavailable and context.Canceled", got)
	}
	if errors.Is(got, cause) {
		t.Error("the original error, which contains the password, is reachable through the redacted one")
	}
}

func TestRedactUnchanged(t *testing.T) {
	err := fmt.Errorf("connect: %w", errors.New("refused"))
	if got := redact(err, passwordForms("secret")); got != err {
		t.Errorf("redact returned %v, want the same error when no password occurs", got)
	}
	if got := redact(nil, passwordForms("secret")); got != nil {
		t.Errorf("redact(nil) = %v", got)
	}
}

func TestFormatVector(t *testing.T) {
	tests := []struct {
		in   []float32
		want string
	}{
		{[]float32{1, -2.5, 0}, "[1,-2.5,0]"},
		{[]float32{0.1, 3e-5}, "[0.1,3e-05]"},
		{[]float32{}, "[]"},
	}
	for _, tt := range tests {
		if got := formatVector(tt.in); got != tt.want {
			t.Errorf("formatVector(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	tests := []struct {
		version string
		want    bool
	}{
		{"0.8.0", true},
		{"0.8.1", true},
		{"0.10.0", true},
		{"1.0.0", true},
		{"0.7.4", false},
		{"0.5", false},
		{"garbage", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := versionAtLeast(tt.version, 0, 8); got != tt.want {
			t.Errorf("versionAtLeast(%q, 0, 8) = %v, want %v", tt.version, got, tt.want)
		}
	}
}
