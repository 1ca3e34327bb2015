// Package sink is where pushed session events go. A [Sink] delivers one
// event to one destination and reports the outcome: delivered, retry
// later (optionally after a wait the receiver requested), or gone for
// good. The framework's deliverer (package transport) owns everything
// around it: the per-session cursor in the store, offset order, the retry
// schedule and the bound on concurrent deliveries per receiver. A sink
// keeps no state of its own about progress.
//
// [Webhook] is the built-in sink: one HTTP POST per event to the session's
// webhook_url, or else to the manifest's runtime.event_webhook.url, signed
// with the Standard Webhooks scheme. An application adds its own sinks (a
// message queue, a chat platform) through agentry.Options.Sinks or the fx
// value group that agentry.AsSink feeds. Every sink receives every event
// of every session, with a cursor of its own, so a failing sink never
// holds back another.
//
// The package imports only the leaf packages transport/wire,
// transport/outbound and transport/webhook, so an application can
// implement a sink without importing the server.
package sink
