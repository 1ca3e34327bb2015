// Package ids makes the server's random ids: a prefix such as "ses_" or
// "run_" followed by 16 characters from [a-z2-7], which fit the id
// alphabet of the HTTP API.
package ids

import (
	"crypto/rand"
	"encoding/base32"
)

var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// New returns prefix followed by 16 random characters (80 bits).
func New(prefix string) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return prefix + encoding.EncodeToString(b[:])
}
