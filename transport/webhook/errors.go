package webhook

import "errors"

var (
	// ErrInvalidSecret is wrapped when a secret is not "whsec_" followed
	// by non-empty standard base64, or when Verify gets no key. For the
	// hmac-sha256 and stripe schemes it is wrapped when the secret is
	// empty or starts or ends with whitespace.
	ErrInvalidSecret = errors.New("webhook: invalid signing secret")
	// ErrInvalidConfig is wrapped when an Inbound names an unknown scheme
	// or encoding, an invalid header name, a negative tolerance, or a
	// field that its scheme does not use.
	ErrInvalidConfig = errors.New("webhook: invalid inbound configuration")
	// ErrMissingHeader is wrapped when the id, timestamp or signature
	// header is absent or empty.
	ErrMissingHeader = errors.New("webhook: missing header")
	// ErrMalformedHeader is wrapped when a header that Verifier.Verify
	// reads is repeated, too large, contains bytes other than printable
	// ASCII, or is not in the form its scheme defines. It usually means
	// that the sender uses another scheme, prefix or encoding than the
	// configured one.
	ErrMalformedHeader = errors.New("webhook: malformed header")
	// ErrTimestamp is wrapped when the timestamp is not Unix seconds, is
	// missing from or repeated in a stripe signature header, or is
	// outside the tolerance around the current time.
	ErrTimestamp = errors.New("webhook: invalid timestamp")
	// ErrInvalidSignature is wrapped when no signature in the header
	// matches the body under the key.
	ErrInvalidSignature = errors.New("webhook: invalid signature")
)
