package webhook

import (
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a timestamp may be from the current time,
// in either direction, when Verify gets a tolerance of 0 or less.
const DefaultTolerance = 5 * time.Minute

// maxTimestampDigits bounds the timestamp header, because Unix seconds
// have 10 digits until the year 2286.
const maxTimestampDigits = 12

// Verify checks the headers of a received message against body. id,
// timestamp and signatureHeader are the values of the webhook-id,
// webhook-timestamp and webhook-signature headers. The message is valid
// when timestamp, in Unix seconds, is within tolerance of now on either
// side, and at least one "v1," signature in the space-separated header
// matches any of keys. Other signature versions (such as "v1a,") are
// skipped. Signatures are compared in constant time.
//
// The error wraps ErrMissingHeader for an empty id, timestamp or
// signature header, ErrTimestamp for a timestamp that is not Unix seconds
// or is outside tolerance, ErrInvalidSignature when no signature matches,
// and ErrInvalidSecret when keys is empty. It never contains a key or a
// signature.
func Verify(keys [][]byte, id, timestamp, signatureHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: %s is empty", ErrMissingHeader, HeaderID)
	case timestamp == "":
		return fmt.Errorf("%w: %s is empty", ErrMissingHeader, HeaderTimestamp)
	case strings.TrimSpace(signatureHeader) == "":
		return fmt.Errorf("%w: %s is empty", ErrMissingHeader, HeaderSignature)
	case len(keys) == 0:
		return fmt.Errorf("%w: no verification key is configured", ErrInvalidSecret)
	}
	unix, err := parseTimestamp(HeaderTimestamp, timestamp)
	if err != nil {
		return err
	}
	if err := checkTolerance(HeaderTimestamp, unix, now, tolerance); err != nil {
		return err
	}

	expected := make([][]byte, len(keys))
	for i, key := range keys {
		expected[i] = mac(key, id, unix, body)
	}
	for _, signature := range strings.Fields(signatureHeader) {
		encoded, ok := strings.CutPrefix(signature, signatureVersion)
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.Strict().DecodeString(encoded)
		if err != nil {
			continue
		}
		for _, want := range expected {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no v1 signature in %s matches a key; check that the "+
		"sender signs the raw body with the same secret", ErrInvalidSignature, HeaderSignature)
}

// parseTimestamp parses Unix seconds written as decimal digits only. field
// names the timestamp in error messages.
func parseTimestamp(field, timestamp string) (int64, error) {
	if len(timestamp) > maxTimestampDigits {
		return 0, fmt.Errorf("%w: %s has %d characters, want Unix seconds of at most %d digits",
			ErrTimestamp, field, len(timestamp), maxTimestampDigits)
	}
	for i := range len(timestamp) {
		if timestamp[i] < '0' || timestamp[i] > '9' {
			return 0, fmt.Errorf("%w: %s %q is not Unix seconds", ErrTimestamp, field, timestamp)
		}
	}
	unix, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q is not Unix seconds", ErrTimestamp, field, timestamp)
	}
	return unix, nil
}

// checkTolerance rejects a timestamp more than tolerance before or after
// now. field names the timestamp in error messages.
func checkTolerance(field string, unix int64, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	limit := int64(tolerance / time.Second)
	skew := now.Unix() - unix
	switch {
	case skew > limit:
		return fmt.Errorf("%w: %s is %ds old, more than the tolerance of %s; "+
			"check the sender's clock, or whether this is a replayed message",
			ErrTimestamp, field, skew, tolerance)
	case -skew > limit:
		return fmt.Errorf("%w: %s is %ds in the future, more than the tolerance of %s; "+
			"check the sender's clock",
			ErrTimestamp, field, -skew, tolerance)
	}
	return nil
}
