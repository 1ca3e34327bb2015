package webhook

import "errors"

var (
	// ErrInvalidSecret is wrapped when a secret is not "whsec_" followed
	// by non-empty standard base64, or when Verify gets no key.
	ErrInvalidSecret = errors.New("webhook: invalid signing secret")
	// ErrMissingHeader is wrapped when the id, timestamp or signature
	// header is empty.
	ErrMissingHeader = errors.New("webhook: missing header")
	// ErrTimestamp is wrapped when the timestamp is not Unix seconds, or
	// when it is outside the tolerance around the current time.
	ErrTimestamp = errors.New("webhook: invalid timestamp")
	// ErrInvalidSignature is wrapped when no v1 signature in the header
	// matches a key.
	ErrInvalidSignature = errors.New("webhook: invalid signature")
)
