// Command car-rental runs a car-rental agent whose booking routine walks
// a customer from the request to a confirmed booking: a chat node asks
// for the city and the days, a tool node searches and quotes with native
// Go tools, a chat node asks for the go-ahead in approved wording (a
// macro), and a tool node books. Two policies add a young-driver
// surcharge and forbid promises of upgrades.
//
// The program starts an agentry server on a loopback port, has a
// three-message conversation and prints every message, routine event
// and tool event as it streams.
//
// It runs offline on the scripted model of script.yaml. With
// OPENAI_API_KEY set (or OPENAI_BASE_URL, for a local OpenAI-compatible
// server), it uses that model instead; OPENAI_MODEL picks the model
// (default gpt-4o-mini).
//
//	go run ./examples/car-rental
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/wire"
)

// files holds the manifest and its model script, so the program runs
// from any working directory.
//
//go:embed agent.yaml script.yaml
var files embed.FS

// messages are the customer's messages, one per turn.
var messages = []string{
	"Hi, I'd like to rent a car. I am 23.",
	"Lisbon, for 3 days.",
	"Yes, please book it.",
	"Thanks, that is all.",
}

func main() {
	if _, _, err := run(context.Background(), os.Stdout, messages); err != nil {
		fmt.Fprintln(os.Stderr, "car-rental:", err)
		os.Exit(1)
	}
}

// run starts the server, sends msgs as the customer's messages, one per
// turn, and prints the conversation to out. It returns the session's
// events up to the last turn's end and the bookings made.
func run(ctx context.Context, out io.Writer, msgs []string) ([]wire.Event, []booking, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	dir, err := os.MkdirTemp("", "agentry-car-rental-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	apiKey := newToken("agk_")
	m, err := loadManifest(dir, apiKey)
	if err != nil {
		return nil, nil, err
	}
	system := &rentals{}
	tools, err := system.tools()
	if err != nil {
		return nil, nil, err
	}
	srv, err := agentry.New(m, agentry.Options{Tools: tools, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, nil, err
	}
	defer srv.Shutdown(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "agentry is serving %q with model %s on %s\n\n", m.Name, m.AgentConfig.LLMs.Default, base)

	c := client.New(base, apiKey)
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{})
	if err != nil {
		return nil, nil, err
	}
	events, err := converse(ctx, c, sess.ID, msgs, out)
	return events, system.all(), err
}

// converse posts each customer message once the previous turn ended
// (and the first once the greeting arrived), prints the events, and
// returns them after the last turn's status ready.
func converse(ctx context.Context, c *client.Client, sessionID string, msgs []string, out io.Writer) ([]wire.Event, error) {
	var events []wire.Event
	next := 0
	for ev, err := range c.Events(ctx, sessionID, 0, client.PollOptions{Wait: 30 * time.Second}) {
		if err != nil {
			return events, err
		}
		events = append(events, ev)
		printEvent(out, ev)
		greeting := ev.Kind == wire.KindAgentMessage && ev.TurnID == ""
		ready := ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady
		if !greeting && !ready {
			continue
		}
		if next == len(msgs) {
			return events, nil
		}
		fmt.Fprintln(out)
		if _, err := c.PostMessage(ctx, sessionID, msgs[next]); err != nil {
			return events, err
		}
		next++
	}
	return events, ctx.Err()
}

// printEvent prints messages, routine events, tool events and failed
// turns; other status events are left out.
func printEvent(out io.Writer, ev wire.Event) {
	switch ev.Kind {
	case wire.KindUserMessage:
		fmt.Fprintf(out, "customer: %s\n", ev.Text)
	case wire.KindAgentMessage:
		fmt.Fprintf(out, "agent:    %s\n", ev.Text)
	case wire.KindRoutine:
		fmt.Fprintf(out, "  routine %s %s at %s\n", ev.RoutineID, ev.State, ev.NodeID)
	case wire.KindToolCall:
		fmt.Fprintf(out, "  call    %s %s\n", ev.Tool, compactJSON(ev.Arguments))
	case wire.KindToolResult:
		if ev.Error != nil {
			fmt.Fprintf(out, "  result  %s failed (%s): %s\n", ev.Tool, ev.Error.Code, ev.Error.Message)
			return
		}
		fmt.Fprintf(out, "  result  %s %s\n", ev.Tool, compactJSON(ev.Result))
	case wire.KindStatus:
		if ev.Status == wire.StatusError && ev.Error != nil {
			fmt.Fprintf(out, "  (the turn failed: %s: %s)\n", ev.Error.Code, ev.Error.Message)
		}
	}
}

// loadManifest writes the script to dir and parses the embedded manifest
// as if it were in dir. With OPENAI_API_KEY or OPENAI_BASE_URL set, both
// lanes use OpenAI's OPENAI_MODEL (default gpt-4o-mini).
func loadManifest(dir, apiKey string) (*manifest.Manifest, error) {
	yaml, err := files.ReadFile("agent.yaml")
	if err != nil {
		return nil, err
	}
	script, err := files.ReadFile("script.yaml")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "script.yaml"), script, 0o600); err != nil {
		return nil, fmt.Errorf("writing the model script to %s: %w", dir, err)
	}
	env := map[string]string{"AGENTRY_API_KEY": apiKey}
	m, err := manifest.Parse(yaml, manifest.WithDir(dir), manifest.WithLookupEnv(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}))
	if err != nil {
		return nil, fmt.Errorf("examples/car-rental/agent.yaml: %w", err)
	}
	key, baseURL := os.Getenv("OPENAI_API_KEY"), os.Getenv("OPENAI_BASE_URL")
	if key == "" && baseURL == "" {
		return m, nil
	}
	model := os.Getenv("OPENAI_MODEL")
	if model == "" {
		model = "gpt-4o-mini"
	}
	lanes := &m.AgentConfig.LLMs
	lanes.Default = "openai/" + model
	lanes.Evaluation = lanes.Default
	lanes.Fallback, lanes.EvaluationFallback = nil, nil
	lanes.Providers = map[string]manifest.Provider{"openai": {APIKey: key, BaseURL: baseURL}}
	return m, nil
}

// newToken returns a random bearer token with the given prefix.
func newToken(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// compactJSON returns raw without insignificant spaces, or raw itself
// when it is not valid JSON.
func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return strings.TrimSpace(string(raw))
	}
	return b.String()
}
