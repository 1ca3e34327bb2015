package pgvector

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/agentry/agentry/kb"
)

// passwordMask replaces a password in error messages.
const passwordMask = "xxxxx"

// passwordForms returns the password as written and in the escaped forms
// that a URL can contain, or nil for an empty password.
func passwordForms(password string) []string {
	if password == "" {
		return nil
	}
	return []string{password, url.QueryEscape(password), url.PathEscape(password)}
}

// mask returns msg with every secret replaced by passwordMask.
func mask(msg string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, passwordMask)
		}
	}
	return msg
}

// redactedError is an error whose message had a password masked. It
// wraps only the sentinel errors that the original matched, so the
// original, which contains the password, cannot be reached through it.
type redactedError struct {
	msg       string
	sentinels []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.sentinels }

// redactSentinels are the errors a redactedError keeps matching.
var redactSentinels = []error{
	kb.ErrUnavailable, kb.ErrInvalidQuery, context.Canceled, context.DeadlineExceeded,
	ErrInvalidConfig, ErrTableNotFound, ErrInvalidTable, ErrDimensionMismatch,
	ErrInvalidVector, ErrInvalidDocument,
}

// redact returns err unchanged when its message contains none of the
// secrets, and otherwise a redactedError with them masked.
func redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	masked := mask(msg, secrets)
	if masked == msg {
		return err
	}
	re := &redactedError{msg: masked}
	for _, s := range redactSentinels {
		if errors.Is(err, s) {
			re.sentinels = append(re.sentinels, s)
		}
	}
	return re
}
