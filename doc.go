// Package agentry runs an AI agent as an HTTP server that Go services
// embed.
//
// An agent is described by a YAML manifest (package manifest). [New] turns
// a loaded manifest into a [Server]: an [http.Handler] that serves the
// agent's API (sessions, messages, an ordered event log read by long-poll
// or server-sent events) plus the background work that replies to customer
// messages through the configured language models.
//
//	m, err := manifest.Load("agent.yaml")
//	if err != nil {
//		log.Fatal(err) // lists every problem of the manifest
//	}
//	srv, err := agentry.New(m, agentry.Options{})
//	if err != nil {
//		log.Fatal(err)
//	}
//	if err := srv.Start(ctx); err != nil {
//		log.Fatal(err)
//	}
//	defer srv.Shutdown(context.Background())
//	http.Handle("/agent/", http.StripPrefix("/agent", srv))
//
// Applications built with go.uber.org/fx use [Module] instead, which ties
// Start and Shutdown to the application's lifecycle.
//
// The pieces live in their own packages: store (persistence and its
// in-memory default), llm (model lanes over langchaingo), agent (the
// engine that runs turns), transport (the HTTP handler) and transport/wire
// (the JSON contract, shared with the Go client in package client).
package agentry
