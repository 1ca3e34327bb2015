// Package client is the Go SDK for agentry servers: open sessions, post
// messages and read a session's events from any offset.
//
// Events are an ordered log per session. A reader keeps the offset of the
// last event it handled and resumes from the next one; [Client.Events]
// does that for you across dropped connections, so every event is seen
// exactly once per iteration.
//
// A service can also have the server push a session's events to it, one
// POST per event ([WithWebhookURL] sets the URL of the sessions a client
// opens). [Receiver] checks such a POST's bearer token and signature and
// decodes its event; [VerifyEvent] does the same in one call.
//
// The package depends only on transport/wire, the JSON contract, and
// transport/webhook, the signature scheme, and not on the server.
package client
