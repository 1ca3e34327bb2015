package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// stripeSignature is a parsed stripe signature header.
type stripeSignature struct {
	timestamp string   // value of the t entry, not yet parsed
	v1        []string // values of the v1 entries, not yet decoded
}

// parseStripeSignature splits the header value "t=<unix>,v1=<hex>,..."
// into its entries. Entries other than t and v1 (such as v0) are
// skipped, and so are empty ones. Exactly one t entry is required.
func parseStripeSignature(name, value string) (stripeSignature, error) {
	var sig stripeSignature
	seenT := false
	for entry := range strings.SplitSeq(value, ",") {
		entry = strings.Trim(entry, " \t")
		if entry == "" {
			continue
		}
		key, val, ok := strings.Cut(entry, "=")
		if !ok {
			return stripeSignature{}, fmt.Errorf("%w: %s has an entry without '='; want t=<unix>,v1=<hex>",
				ErrMalformedHeader, name)
		}
		switch key {
		case "t":
			if seenT {
				return stripeSignature{}, fmt.Errorf("%w: %s has more than one t entry", ErrTimestamp, name)
			}
			seenT = true
			sig.timestamp = val
		case "v1":
			sig.v1 = append(sig.v1, val)
		}
	}
	if !seenT {
		return stripeSignature{}, fmt.Errorf("%w: %s has no t entry", ErrTimestamp, name)
	}
	return sig, nil
}

// verifyStripe verifies the stripe scheme. The header is valid when its t
// entry is within tolerance of now and any one of its v1 entries is the
// HMAC of "{t}.{body}". A v1 entry that is not 64 hex digits is skipped,
// as a signature for a key that this Verifier does not have would be.
func (v *Verifier) verifyStripe(h http.Header, body []byte, now time.Time) (string, error) {
	value, err := headerValue(h, v.header, MaxSignatureHeaderBytes)
	if err != nil {
		return "", err
	}
	sig, err := parseStripeSignature(v.header, value)
	if err != nil {
		return "", err
	}
	field := v.header + " entry t"
	unix, err := parseTimestamp(field, sig.timestamp)
	if err != nil {
		return "", err
	}
	if err := checkTolerance(field, unix, now, v.tolerance); err != nil {
		return "", err
	}
	if len(sig.v1) == 0 {
		return "", fmt.Errorf("%w: %s has no v1 entry", ErrInvalidSignature, v.header)
	}

	want := stripeMAC(v.key, unix, body)
	for _, encoded := range sig.v1 {
		if len(encoded) != hex.EncodedLen(sha256.Size) {
			continue
		}
		got, err := hex.DecodeString(encoded)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return contentID(SchemeStripe, strconv.FormatInt(unix, 10), body), nil
		}
	}
	return "", fmt.Errorf("%w: no v1 entry in %s matches; check that the sender "+
		"signs the raw body with the same secret", ErrInvalidSignature, v.header)
}

// signStripe returns the stripe header for body at the time now.
func (v *Verifier) signStripe(body []byte, now time.Time) http.Header {
	unix := now.Unix()
	h := http.Header{}
	h.Set(v.header, "t="+strconv.FormatInt(unix, 10)+",v1="+hex.EncodeToString(stripeMAC(v.key, unix, body)))
	return h
}

// stripeMAC returns the HMAC-SHA256 of "{unix}.{body}". The timestamp is
// written in decimal without leading zeros whatever the header held, as
// stripe-go's webhook package does.
func stripeMAC(key []byte, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
