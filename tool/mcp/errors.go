package mcp

import (
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Sentinel errors. Test for them with errors.Is.
var (
	// ErrInvalidConfig is wrapped by the errors of Validate and NewManager
	// for an mcps[] entry they cannot use.
	ErrInvalidConfig = errors.New("mcp: invalid server configuration")
	// ErrUnavailable is wrapped by the error of a call to a server that
	// could not be connected, initialized or listed.
	ErrUnavailable = errors.New("mcp: server unavailable")
	// ErrTimeout is wrapped by the error of a call that did not finish
	// within the server's timeout.
	ErrTimeout = errors.New("mcp: tool call timed out")
	// ErrCallFailed is wrapped by the error of a call that returned a
	// JSON-RPC error, or that failed again after a reconnect.
	ErrCallFailed = errors.New("mcp: tool call failed")
	// ErrClosed is wrapped by the error of a call made after
	// Manager.Close.
	ErrClosed = errors.New("mcp: manager closed")
)

// redactedError keeps the chain of err for errors.Is and errors.As but
// prints msg, which has the server URL cut down to scheme and host.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactor removes a server URL from error text, because the path and
// query of an operator's URL may carry a token. Go's HTTP client writes the
// whole request URL into its errors.
type redactor struct {
	// forms are the spellings of the URL that errors contain: as written,
	// as url.URL prints it, and with the password masked the way
	// url.URL.Redacted and net/http's client errors mask it.
	forms []string
	short string // scheme://host
}

func newRedactor(rawURL string) redactor {
	u, err := url.Parse(rawURL)
	if err != nil || rawURL == "" {
		return redactor{}
	}
	r := redactor{short: u.Scheme + "://" + u.Host}
	forms := []string{rawURL, u.String(), u.Redacted()}
	if password, ok := u.User.Password(); ok {
		forms = append(forms, strings.Replace(u.String(), password+"@", "***@", 1))
	}
	for _, form := range forms {
		if form != r.short && !slices.Contains(r.forms, form) {
			r.forms = append(r.forms, form)
		}
	}
	// Longer spellings first, so that a shorter one that is a prefix of
	// another does not leave the rest of it behind.
	slices.SortFunc(r.forms, func(a, b string) int { return len(b) - len(a) })
	return r
}

// wrap returns err with the URL cut down in its text, or err itself when
// the text does not contain the URL.
func (r redactor) wrap(err error) error {
	if err == nil || len(r.forms) == 0 {
		return err
	}
	msg := err.Error()
	redacted := msg
	for _, form := range r.forms {
		redacted = strings.ReplaceAll(redacted, form, r.short)
	}
	if redacted == msg {
		return err
	}
	return &redactedError{msg: redacted, err: err}
}
