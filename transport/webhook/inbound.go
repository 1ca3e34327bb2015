package webhook

import (
	"fmt"
	"net/textproto"
	"strings"
	"time"
)

// Signature schemes of inbound webhooks: the values of Inbound.Scheme.
const (
	// SchemeStandard is Standard Webhooks: the webhook-id,
	// webhook-timestamp and webhook-signature headers and a whsec_ secret.
	SchemeStandard = "standard"
	// SchemeHMACSHA256 is an HMAC-SHA256 of the raw body in one header,
	// hex or base64, with an optional prefix such as "sha256=".
	SchemeHMACSHA256 = "hmac-sha256"
	// SchemeStripe is a "t=<unix>,v1=<hex>" header whose HMAC-SHA256
	// covers "{t}.{body}".
	SchemeStripe = "stripe"
)

// Encodings of the hmac-sha256 signature: the values of Inbound.Encoding.
const (
	// EncodingHex is hexadecimal in either letter case.
	EncodingHex = "hex"
	// EncodingBase64 is base64 in the standard or the URL-safe alphabet,
	// with or without padding, because senders differ and every form
	// decodes to the same 32 bytes. Verifier.Sign writes the standard
	// alphabet with padding.
	EncodingBase64 = "base64"
)

// DefaultStripeHeader is the signature header of the stripe scheme when
// Inbound.Header is empty.
const DefaultStripeHeader = "Stripe-Signature"

// Limits on the headers that Verifier.Verify reads. A longer value is
// rejected with ErrMalformedHeader before it is decoded.
const (
	// MaxSignatureHeaderBytes bounds a signature header. It leaves room
	// for 60 stripe v1 entries or 85 standard signatures.
	MaxSignatureHeaderBytes = 4 << 10
	// MaxIDBytes bounds the webhook-id and webhook-timestamp headers of
	// the standard scheme.
	MaxIDBytes = 256
)

// Inbound configures the verification of one inbound webhook.
type Inbound struct {
	// Scheme is SchemeStandard (default), SchemeHMACSHA256 or
	// SchemeStripe.
	Scheme string
	// Secret is the shared signing secret as configured. For the standard
	// scheme it is a whsec_ secret, and the HMAC key is the base64 after
	// "whsec_". For the other schemes the HMAC key is the secret's bytes,
	// a "whsec_" prefix included: Stripe's secrets start with "whsec_",
	// and Stripe signs with the whole string.
	Secret string
	// Header is the signature header: required for hmac-sha256 (for
	// example X-Hub-Signature-256), DefaultStripeHeader by default for
	// stripe, and empty for standard, whose header names are fixed.
	Header string
	// Prefix starts the hmac-sha256 header value and is removed before
	// decoding, for example "sha256=". A value without it is rejected.
	// Default: no prefix. hmac-sha256 only.
	Prefix string
	// Encoding of the hmac-sha256 signature: EncodingHex (default) or
	// EncodingBase64. hmac-sha256 only.
	Encoding string
	// Tolerance is how far a signed timestamp may lie from the current
	// time, in either direction. Default: DefaultTolerance. hmac-sha256
	// signs no timestamp and ignores it.
	Tolerance time.Duration
}

// NewVerifier checks cfg and parses its secret once. The error wraps
// ErrInvalidConfig or ErrInvalidSecret and never contains the secret.
func NewVerifier(cfg Inbound) (*Verifier, error) {
	if cfg.Tolerance < 0 {
		return nil, fmt.Errorf("%w: tolerance %s is negative; use 0 for the default of %s",
			ErrInvalidConfig, cfg.Tolerance, DefaultTolerance)
	}
	v := &Verifier{scheme: cfg.Scheme, tolerance: cfg.Tolerance}
	if v.scheme == "" {
		v.scheme = SchemeStandard
	}
	if v.tolerance == 0 {
		v.tolerance = DefaultTolerance
	}

	var err error
	switch v.scheme {
	case SchemeStandard:
		if err := rejectFields(v.scheme, cfg, "header", "prefix", "encoding"); err != nil {
			return nil, err
		}
		v.key, err = ParseSecret(cfg.Secret)
		if err != nil {
			return nil, fmt.Errorf("scheme %s: %w", v.scheme, err)
		}
	case SchemeHMACSHA256:
		if cfg.Header == "" {
			return nil, fmt.Errorf("%w: scheme %s needs the name of its signature header, "+
				"for example X-Hub-Signature-256", ErrInvalidConfig, v.scheme)
		}
		if v.header, err = headerName(cfg.Header); err != nil {
			return nil, err
		}
		if v.prefix, err = signaturePrefix(cfg.Prefix); err != nil {
			return nil, err
		}
		if v.encoding, err = encoding(cfg.Encoding); err != nil {
			return nil, err
		}
		if v.key, err = rawKey(v.scheme, cfg.Secret); err != nil {
			return nil, err
		}
	case SchemeStripe:
		if err := rejectFields(v.scheme, cfg, "prefix", "encoding"); err != nil {
			return nil, err
		}
		if cfg.Header == "" {
			cfg.Header = DefaultStripeHeader
		}
		if v.header, err = headerName(cfg.Header); err != nil {
			return nil, err
		}
		if v.key, err = rawKey(v.scheme, cfg.Secret); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: unknown scheme %q; want %s, %s or %s",
			ErrInvalidConfig, v.scheme, SchemeStandard, SchemeHMACSHA256, SchemeStripe)
	}
	return v, nil
}

// rejectFields returns an error when cfg sets one of the named fields,
// which the scheme does not use.
func rejectFields(scheme string, cfg Inbound, names ...string) error {
	values := map[string]string{"header": cfg.Header, "prefix": cfg.Prefix, "encoding": cfg.Encoding}
	for _, name := range names {
		if values[name] != "" {
			return fmt.Errorf("%w: scheme %s does not use %s (set to %q); remove it",
				ErrInvalidConfig, scheme, name, values[name])
		}
	}
	return nil
}

// headerName returns the canonical form of a header name, which must be
// an HTTP token.
func headerName(name string) (string, error) {
	for i := range len(name) {
		if !isTokenByte(name[i]) {
			return "", fmt.Errorf("%w: header name %q contains %q, which HTTP does not allow in a header name",
				ErrInvalidConfig, name, name[i])
		}
	}
	return textproto.CanonicalMIMEHeaderKey(name), nil
}

// isTokenByte reports whether b may appear in an HTTP token (RFC 9110,
// section 5.6.2).
func isTokenByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

// signaturePrefix checks the prefix of the hmac-sha256 scheme, which is
// compared with header values and so must be printable ASCII.
func signaturePrefix(prefix string) (string, error) {
	if len(prefix) > 64 {
		return "", fmt.Errorf("%w: prefix has %d bytes, want at most 64", ErrInvalidConfig, len(prefix))
	}
	for i := range len(prefix) {
		if prefix[i] <= ' ' || prefix[i] > '~' {
			return "", fmt.Errorf("%w: prefix %q contains %q; want printable ASCII without spaces",
				ErrInvalidConfig, prefix, prefix[i])
		}
	}
	return prefix, nil
}

// encoding checks the encoding of the hmac-sha256 scheme and applies its
// default.
func encoding(name string) (string, error) {
	switch name {
	case "":
		return EncodingHex, nil
	case EncodingHex, EncodingBase64:
		return name, nil
	}
	return "", fmt.Errorf("%w: unknown encoding %q; want %s or %s",
		ErrInvalidConfig, name, EncodingHex, EncodingBase64)
}

// rawKey returns the bytes of a secret that is used as the HMAC key as
// it is. Whitespace at either end is rejected, because it is almost
// always left over from a file or an environment variable and would make
// every signature fail.
func rawKey(scheme, secret string) ([]byte, error) {
	if secret == "" {
		return nil, fmt.Errorf("%w: scheme %s needs a non-empty secret", ErrInvalidSecret, scheme)
	}
	if strings.TrimSpace(secret) != secret {
		return nil, fmt.Errorf("%w: scheme %s: the secret starts or ends with whitespace; remove it",
			ErrInvalidSecret, scheme)
	}
	return []byte(secret), nil
}
