package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// verifyHMAC verifies the hmac-sha256 scheme: one signature, the HMAC of
// the body, after the configured prefix. A header with several
// signatures is rejected, because the senders of this scheme send one.
func (v *Verifier) verifyHMAC(h http.Header, body []byte) (string, error) {
	value, err := headerValue(h, v.header, MaxSignatureHeaderBytes)
	if err != nil {
		return "", err
	}
	encoded, ok := strings.CutPrefix(value, v.prefix)
	if !ok {
		return "", fmt.Errorf("%w: %s does not start with the configured prefix %q",
			ErrMalformedHeader, v.header, v.prefix)
	}
	got, err := decodeMAC(v.encoding, encoded)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w; check the configured encoding and prefix",
			ErrMalformedHeader, v.header, err)
	}
	if !hmac.Equal(got, bodyMAC(v.key, body)) {
		return "", fmt.Errorf("%w: %s does not match the body; check that the sender "+
			"signs the raw body with the same secret", ErrInvalidSignature, v.header)
	}
	return contentID(SchemeHMACSHA256, "", body), nil
}

// signHMAC returns the hmac-sha256 header for body.
func (v *Verifier) signHMAC(body []byte) http.Header {
	mac := bodyMAC(v.key, body)
	encoded := hex.EncodeToString(mac)
	if v.encoding == EncodingBase64 {
		encoded = base64.StdEncoding.EncodeToString(mac)
	}
	h := http.Header{}
	h.Set(v.header, v.prefix+encoded)
	return h
}

// bodyMAC returns the HMAC-SHA256 of body.
func bodyMAC(key, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(body)
	return h.Sum(nil)
}

// decodeMAC decodes one HMAC-SHA256 written in the encoding. The error
// never contains s.
func decodeMAC(encoding, s string) ([]byte, error) {
	if encoding == EncodingHex {
		if len(s) != hex.EncodedLen(sha256.Size) {
			return nil, fmt.Errorf("signature has %d characters, want %d hex digits",
				len(s), hex.EncodedLen(sha256.Size))
		}
		mac, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("signature is not hex")
		}
		return mac, nil
	}

	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if !strings.HasSuffix(s, "=") {
		enc = enc.WithPadding(base64.NoPadding)
	}
	if len(s) != enc.EncodedLen(sha256.Size) {
		return nil, fmt.Errorf("signature has %d characters, want the %d of a base64 SHA-256",
			len(s), enc.EncodedLen(sha256.Size))
	}
	mac, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("signature is not base64")
	}
	return mac, nil
}
