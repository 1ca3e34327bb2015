package client_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/wire"
)

// exampleManifest runs the offline demo model.
const exampleManifest = `
id: example
name: Example agent
agent_config:
  runtime:
    api_key: example-key
  llms:
    default: scripted/demo
  context:
    system_prompt:
      text: You are a friendly shop assistant.
    greeting: Welcome to the shop!
`

// startExample serves the example agent on loopback and returns its URL
// and a function that stops it.
func startExample() (string, func()) {
	m, err := manifest.Parse([]byte(exampleManifest))
	if err != nil {
		panic(err)
	}
	srv, err := agentry.New(m, agentry.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		panic(err)
	}
	hs := httptest.NewServer(srv)
	return hs.URL, func() {
		hs.Close()
		_ = srv.Shutdown(context.Background())
	}
}

// Events reads a session's log from offset 0: the greeting, the posted
// message and the reply. Status events mark the turn's progress, and
// status ready ends it.
func ExampleClient_Events() {
	url, stop := startExample()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c := client.New(url, "example-key")
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{ID: "example-1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.PostMessage(ctx, sess.ID, "My name is Ada and my order number is 4711."); err != nil {
		fmt.Println(err)
		return
	}
	for ev, err := range c.Events(ctx, sess.ID, 0, client.PollOptions{Wait: 5 * time.Second}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		switch {
		case ev.Kind == wire.KindUserMessage || ev.Kind == wire.KindAgentMessage:
			fmt.Printf("%s: %s\n", ev.Kind, ev.Text)
		case ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady:
			fmt.Println("ready")
			return
		}
	}
	// Output:
	// agent_message: Welcome to the shop!
	// user_message: My name is Ada and my order number is 4711.
	// agent_message: Hello! Nice to meet you, Ada.
	// ready
}
