package webhook

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// ParseSecret returns the HMAC key of a signing secret: the standard
// base64 (with padding) after SecretPrefix, decoded. The error wraps
// ErrInvalidSecret and never contains the secret.
func ParseSecret(s string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: the secret must start with %q", ErrInvalidSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		// base64.CorruptInputError gives only an offset, never the input.
		return nil, fmt.Errorf("%w: the text after %q is not valid standard base64 (%v)",
			ErrInvalidSecret, SecretPrefix, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: the key after %q is empty", ErrInvalidSecret, SecretPrefix)
	}
	return key, nil
}
