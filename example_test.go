package agentry_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"go.uber.org/fx"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/wire"
)

const exampleManifest = `
id: example
name: Example agent
agent_config:
  runtime:
    api_key: example-key
  llms:
    default: scripted/demo
  context:
    greeting: Hello! How can I help?
`

// New serves an agent under a path prefix of an application's own mux.
func ExampleNew() {
	m, err := manifest.Parse([]byte(exampleManifest))
	if err != nil {
		log.Fatal(err)
	}
	srv, err := agentry.New(m, agentry.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := srv.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown(ctx)

	mux := http.NewServeMux()
	mux.Handle("/agent/", http.StripPrefix("/agent", srv))
	hs := httptest.NewServer(mux)
	defer hs.Close()

	c := client.New(hs.URL+"/agent", "example-key")
	s, err := c.OpenSession(ctx, wire.CreateSessionRequest{ID: "example-session"})
	if err != nil {
		log.Fatal(err)
	}
	page, err := c.Poll(ctx, s.ID, 0, client.PollOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, ev := range page.Events {
		fmt.Println(ev.Offset, ev.Kind, ev.Text)
	}
	// Output:
	// 0 agent_message Hello! How can I help?
}

// Module wires the server into an fx application, which starts and stops
// it with its own lifecycle.
func ExampleModule() {
	m, err := manifest.Parse([]byte(exampleManifest))
	if err != nil {
		log.Fatal(err)
	}
	var srv *agentry.Server
	app := fx.New(
		fx.NopLogger,
		fx.Supply(m),
		agentry.Module,
		fx.Populate(&srv),
	)
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer app.Stop(ctx)

	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/health/ready", nil))
	fmt.Println(rec.Code)
	// Output:
	// 200
}
