package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of Standard Webhooks.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// signatureVersion prefixes each signature in the signature header.
const signatureVersion = "v1,"

// Sign returns the signature "v1,<base64>" of body under key, for the
// message id and the time ts, which is truncated to whole seconds. The id
// must not contain '.'.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	return signatureVersion + base64.StdEncoding.EncodeToString(mac(key, id, ts.Unix(), body))
}

// SignHeader returns the value of the signature header: one signature per
// key, separated by spaces, in the order of keys (the current key first).
// It returns "" when keys is empty.
func SignHeader(keys [][]byte, id string, ts time.Time, body []byte) string {
	signatures := make([]string, len(keys))
	for i, key := range keys {
		signatures[i] = Sign(key, id, ts, body)
	}
	return strings.Join(signatures, " ")
}

// Headers returns the webhook-id, webhook-timestamp and webhook-signature
// headers of a message. It leaves out webhook-signature when keys is
// empty.
func Headers(keys [][]byte, id string, ts time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if len(keys) > 0 {
		h.Set(HeaderSignature, SignHeader(keys, id, ts, body))
	}
	return h
}

// mac returns the HMAC-SHA256 of "{id}.{unix}.{body}".
func mac(key []byte, id string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
