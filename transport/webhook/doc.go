// Package webhook signs and verifies webhooks in the Standard Webhooks v1
// format. It has pure functions only: no I/O and no clock of its own.
//
// A sender sets three headers on each request:
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
package webhook
