package pgurl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var errSentinel = errors.New("sentinel")

func TestRedact(t *testing.T) {
	red := &Redactor{}
	red.add("p@ss word")
	cause := errors.New("dial postgres://u:p%40ss+word@h/db: refused")
	err := fmt.Errorf("%w: connect: %w (%w)", errSentinel, cause, context.Canceled)

	got := red.Redact(err, errSentinel, context.Canceled, context.DeadlineExceeded)
	if strings.Contains(got.Error(), "p%40ss+word") || strings.Contains(got.Error(), "p@ss word") {
		t.Errorf("message still contains the password: %s", got)
	}
	if !strings.Contains(got.Error(), "u:"+passwordMask+"@h") {
		t.Errorf("message %q does not show the mask where the password was", got)
	}
	if !errors.Is(got, errSentinel) || !errors.Is(got, context.Canceled) {
		t.Errorf("redacted error %v no longer matches the sentinel and context.Canceled", got)
	}
	if errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("redacted error %v matches context.DeadlineExceeded, which the original did not", got)
	}
	if errors.Is(got, cause) {
		t.Error("the original error, which contains the password, is reachable through the redacted one")
	}
}

func TestRedactUnchanged(t *testing.T) {
	red := &Redactor{}
	red.add("secret")
	err := fmt.Errorf("connect: %w", errors.New("refused"))
	if got := red.Redact(err); got != err {
		t.Errorf("Redact returned %v, want the same error when no password occurs", got)
	}
	if got := red.Redact(nil); got != nil {
		t.Errorf("Redact(nil) = %v", got)
	}
}

func TestPoolConfigHostFields(t *testing.T) {
	s := Settings{Host: "127.0.0.1", User: "app", Password: "p@ss/word", DBName: "agents", SSLMode: "disable"}
	pc, red, err := s.PoolConfig("agentry-test")
	if err != nil {
		t.Fatalf("PoolConfig: %v", err)
	}
	if got, want := Describe(pc), "host 127.0.0.1:5432, database agents, user app"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if got := pc.ConnConfig.Password; got != "p@ss/word" {
		t.Errorf("password = %q, want the one set", got)
	}
	if got := pc.ConnConfig.RuntimeParams["application_name"]; got != "agentry-test" {
		t.Errorf("application_name = %q, want agentry-test", got)
	}
	if got := red.Mask("auth failed for p%40ss%2Fword"); strings.Contains(got, "ss%2F") {
		t.Errorf("Mask left the escaped password in %q", got)
	}
}

func TestPoolConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
	}{
		{"url and host", Settings{URL: "postgres://u@h/db", Host: "h"}},
		{"nothing set", Settings{}},
		{"port out of range", Settings{Host: "h", Port: 70000}},
		{"not a postgres url", Settings{URL: "mysql://u:hunter2secret@h/db"}},
		{"bad query parameter", Settings{URL: "postgres://u:hunter2secret@h/db?connect_timeout=abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.s.PoolConfig("agentry")
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("PoolConfig error = %v, want ErrInvalid", err)
			}
			if strings.Contains(err.Error(), "hunter2secret") {
				t.Errorf("error contains the password: %v", err)
			}
		})
	}
}
