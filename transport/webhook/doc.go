// Package webhook signs and verifies webhooks. It has pure functions only:
// no I/O and no clock of its own. The one exception is Verifier.Sign,
// which draws a random message id from crypto/rand.
//
// Sign, SignHeader, Headers and Verify implement the Standard Webhooks v1
// format. A sender sets three headers on each request:
//
//	webhook-id: a unique message id, the same on every retry
//	webhook-timestamp: Unix time of the attempt, in seconds
//	webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">
//
// The HMAC key is the base64-decoded part of a "whsec_..." secret. During
// key rotation the signature header carries several space-separated
// signatures, one per key, and a receiver accepts the request when any
// one of them is valid.
//
// A message id must not contain '.', because '.' separates the fields of
// the signed content. The specification recommends random keys of at
// least 24 bytes. ParseSecret accepts shorter keys, because senders of
// inbound webhooks choose their own.
//
// The format follows the Standard Webhooks specification 1.0.0
// (spec/standard-webhooks.md in github.com/standard-webhooks/standard-webhooks),
// and the tests check Sign and Verify against the npm package
// standardwebhooks 1.3.0.
//
// # Inbound webhooks
//
// A Verifier, made by NewVerifier from an Inbound configuration, checks
// requests that third parties send, in one of three schemes:
//
//   - standard: Standard Webhooks, as above.
//   - hmac-sha256: the HMAC-SHA256 of the raw body under the secret's
//     bytes, hex or base64, in one configured header, optionally after a
//     prefix such as "sha256=" (GitHub's X-Hub-Signature-256 is one).
//   - stripe: a header "t=<unix>,v1=<hex>[,v1=<hex>...]" whose v1 values
//     are HMAC-SHA256 of "{t}.{body}" under the secret's bytes, as in
//     Stripe's Stripe-Signature. Any one matching v1 entry is enough.
//
// Verifier.Verify compares signatures in constant time and rejects
// timestamps outside the tolerance on either side of the current time.
// It bounds the size of every header it parses. It returns a delivery id
// that stays the same when the same delivery is sent again.
package webhook
