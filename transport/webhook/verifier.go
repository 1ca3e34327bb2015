package webhook

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Verifier checks the signatures of one inbound webhook. Create it with
// NewVerifier. It is safe for concurrent use.
type Verifier struct {
	scheme    string
	key       []byte
	header    string // canonical signature header of hmac-sha256 and stripe
	prefix    string
	encoding  string
	tolerance time.Duration
}

// Verify checks the signature headers in h against the raw body and
// returns the delivery id, which is the same each time the same delivery
// arrives again:
//
//   - standard: the webhook-id header, which the signature covers.
//   - hmac-sha256 and stripe: the hex SHA-256 of the scheme name and the
//     signed content (the body, or the timestamp and the body). It
//     depends on nothing else in the header, so a replay with the
//     signature written another way (letter case, base64 alphabet, extra
//     v1 entries) gets the same id. Two deliveries with the same body get
//     the same id under hmac-sha256, which signs no timestamp.
//
// now is the current time for the timestamp tolerance. The error wraps
// ErrMissingHeader, ErrMalformedHeader, ErrTimestamp, ErrInvalidSignature,
// or ErrInvalidSecret for a Verifier not made by NewVerifier. It never
// contains the key or a signature.
func (v *Verifier) Verify(h http.Header, body []byte, now time.Time) (deliveryID string, err error) {
	if v == nil || len(v.key) == 0 {
		return "", fmt.Errorf("%w: the verifier has no key; create it with NewVerifier", ErrInvalidSecret)
	}
	switch v.scheme {
	case SchemeHMACSHA256:
		return v.verifyHMAC(h, body)
	case SchemeStripe:
		return v.verifyStripe(h, body, now)
	default:
		return v.verifyStandard(h, body, now)
	}
}

// Sign returns the headers that a sender of the scheme sets for body at
// the time now, for self-tests. For standard they carry a new random
// message id "msg_<26 base32 characters>". v must come from NewVerifier.
func (v *Verifier) Sign(body []byte, now time.Time) http.Header {
	switch v.scheme {
	case SchemeHMACSHA256:
		return v.signHMAC(body)
	case SchemeStripe:
		return v.signStripe(body, now)
	default:
		return Headers([][]byte{v.key}, "msg_"+rand.Text(), now, body)
	}
}

// String describes v by its scheme and header, without the key.
func (v *Verifier) String() string {
	if v == nil {
		return "webhook.Verifier(nil)"
	}
	header := v.header
	if v.scheme == SchemeStandard {
		header = HeaderSignature
	}
	return fmt.Sprintf("webhook.Verifier{scheme: %s, header: %s}", v.scheme, header)
}

// Format writes String for every verb, so that printing a Verifier never
// prints its key.
func (v *Verifier) Format(f fmt.State, _ rune) {
	io.WriteString(f, v.String())
}

// verifyStandard verifies the Standard Webhooks headers.
func (v *Verifier) verifyStandard(h http.Header, body []byte, now time.Time) (string, error) {
	id, err := headerValue(h, HeaderID, MaxIDBytes)
	if err != nil {
		return "", err
	}
	timestamp, err := headerValue(h, HeaderTimestamp, MaxIDBytes)
	if err != nil {
		return "", err
	}
	signature, err := headerValue(h, HeaderSignature, MaxSignatureHeaderBytes)
	if err != nil {
		return "", err
	}
	if err := Verify([][]byte{v.key}, id, timestamp, signature, body, now, v.tolerance); err != nil {
		return "", err
	}
	return id, nil
}

// headerValue returns the only value of the header name, without spaces
// and tabs at either end. It rejects an absent or empty header with
// ErrMissingHeader, and a repeated header, a value over limit bytes or
// one with bytes other than printable ASCII with ErrMalformedHeader.
func headerValue(h http.Header, name string, limit int) (string, error) {
	values := h.Values(name)
	switch {
	case len(values) == 0:
		return "", fmt.Errorf("%w: %s is absent", ErrMissingHeader, name)
	case len(values) > 1:
		return "", fmt.Errorf("%w: %s appears %d times, want once", ErrMalformedHeader, name, len(values))
	}
	value := values[0]
	if len(value) > limit {
		return "", fmt.Errorf("%w: %s has %d bytes, more than the limit of %d",
			ErrMalformedHeader, name, len(value), limit)
	}
	value = strings.Trim(value, " \t") // the optional whitespace of HTTP
	if value == "" {
		return "", fmt.Errorf("%w: %s is empty", ErrMissingHeader, name)
	}
	for i := range len(value) {
		if value[i] < ' ' || value[i] > '~' {
			return "", fmt.Errorf("%w: %s has a byte other than printable ASCII at offset %d",
				ErrMalformedHeader, name, i)
		}
	}
	return value, nil
}

// contentID returns the hex SHA-256 of the scheme name, the signed
// timestamp ("" when the scheme has none) and the body, separated by NUL
// bytes. The scheme name and the timestamp contain no NUL.
func contentID(scheme, timestamp string, body []byte) string {
	h := sha256.New()
	io.WriteString(h, scheme)
	h.Write([]byte{0})
	io.WriteString(h, timestamp)
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
