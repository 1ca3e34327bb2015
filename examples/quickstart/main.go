// Command quickstart starts an agentry server in this process on the
// embedded default manifest, talks to it over real HTTP through the Go
// client, and prints the conversation as its events stream in.
//
// It runs offline with the built-in scripted model. With OPENAI_API_KEY
// set (or OPENAI_BASE_URL, for a local OpenAI-compatible server), it uses
// that model instead; OPENAI_MODEL picks the model (default gpt-4o-mini).
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/wire"
)

// script is the customer's messages, one per turn.
var script = []string{
	"Hello!",
	"My name is Ada and my order number is 4711.",
	"Can you remind me what my order number was?",
	"Thanks, that's all.",
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	apiKey := newAPIKey()
	m, err := loadManifest(apiKey)
	if err != nil {
		return err
	}

	// Serve on a free loopback port. Warnings and errors of the server go
	// to stderr; the conversation goes to out.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := agentry.New(m, agentry.Options{Logger: logger})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "agentry is serving %q with model %s on %s\n\n", m.Name, m.AgentConfig.LLMs.Default, base)

	c := client.New(base, apiKey)
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{
		Variables: map[string]any{"plan": "premium"},
	})
	if err != nil {
		return err
	}
	return converse(ctx, c, sess, out)
}

// converse prints the session's events from offset 0. It posts the first
// customer message once the events already in the log (the greeting, if
// one is configured) are printed, and each later one when the agent
// reports status ready.
func converse(ctx context.Context, c *client.Client, sess wire.Session, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	next := 0
	post := func() error {
		if next == len(script) {
			return io.EOF
		}
		text := script[next]
		next++
		fmt.Fprintf(out, "customer: %s\n", text)
		_, err := c.PostMessage(ctx, sess.ID, text)
		return err
	}

	// history is the number of events the session started with.
	history := sess.NextOffset
	if history == 0 {
		if err := post(); err != nil {
			return err
		}
	}
	for ev, err := range c.Events(ctx, sess.ID, 0, client.PollOptions{Wait: 30 * time.Second}) {
		if err != nil {
			return err
		}
		switch {
		case ev.Kind == wire.KindAgentMessage:
			fmt.Fprintf(out, "agent:    %s\n", ev.Text)
		case ev.Kind == wire.KindStatus && ev.Status == wire.StatusError:
			reason := "no reason given"
			if ev.Error != nil {
				reason = ev.Error.Message
			}
			fmt.Fprintf(out, "          (the turn failed: %s)\n", reason)
		}
		endsTurn := ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady
		if ev.Offset != history-1 && !endsTurn {
			continue
		}
		fmt.Fprintln(out)
		if err := post(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// loadManifest parses the embedded default manifest, switching to an
// OpenAI model when the environment names one.
func loadManifest(apiKey string) (*manifest.Manifest, error) {
	env := map[string]string{"AGENTRY_API_KEY": apiKey}
	m, err := manifest.ParseDefault(manifest.WithLookupEnv(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}))
	if err != nil {
		return nil, err
	}
	key, baseURL := os.Getenv("OPENAI_API_KEY"), os.Getenv("OPENAI_BASE_URL")
	if key == "" && baseURL == "" {
		return m, nil
	}
	model := os.Getenv("OPENAI_MODEL")
	if model == "" {
		model = "gpt-4o-mini"
	}
	llmCfg := &m.AgentConfig.LLMs
	llmCfg.Default = "openai/" + model
	llmCfg.Evaluation = llmCfg.Default
	llmCfg.Fallback, llmCfg.EvaluationFallback = nil, nil
	if llmCfg.Providers == nil {
		llmCfg.Providers = map[string]manifest.Provider{}
	}
	llmCfg.Providers["openai"] = manifest.Provider{APIKey: key, BaseURL: baseURL}
	return m, nil
}

// newAPIKey returns a random bearer token for this run.
func newAPIKey() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "agk_" + hex.EncodeToString(b[:])
}
