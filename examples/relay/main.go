// Command relay is the receiving end of agentry's event webhook, the way a
// Zendesk or Slack bridge would run it. It starts an agentry server in
// this process on the embedded demo manifest (offline, scripted model)
// and a webhook receiver on 127.0.0.1 that checks each POST with the Go
// client's Receiver. Then it opens a session whose webhook_url points at
// the receiver, posts a few customer messages, and prints the events that
// arrive over the webhook, in order.
//
//	go run ./examples/relay
//
// Delivery is at least once: a POST that failed or timed out is sent
// again with the same body. The relay keeps the next offset it expects
// per session and drops events it has already relayed.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// script lists the customer's messages, one per turn.
var script = []string{
	"Hello!",
	"My name is Ada and my order number is 4711.",
	"Thanks, that's all.",
}

// turnTimeout bounds the wait for the agent's reply to one message.
const turnTimeout = 30 * time.Second

func main() {
	if _, err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
}

// summary is the count of events a run relayed, for the test.
type summary struct {
	SessionID string
	// Relayed is the number of distinct events relayed, Duplicates the
	// number of repeated deliveries dropped.
	Relayed, Duplicates int
	// NextOffset is the session's next offset after the last turn.
	NextOffset int64
}

func run(ctx context.Context, out io.Writer) (summary, error) {
	apiKey, secret := newAPIKey(), newSecret()
	m, err := manifest.ParseDefault(manifest.WithLookupEnv(func(k string) (string, bool) {
		return apiKey, k == "AGENTRY_API_KEY"
	}))
	if err != nil {
		return summary{}, err
	}
	rt := &m.AgentConfig.Runtime
	rt.SigningSecret = secret
	// Webhook URLs from API calls may not reach loopback addresses unless
	// the manifest allows them.
	rt.Outbound.AllowHosts = append(rt.Outbound.AllowHosts, "127.0.0.1")

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := agentry.New(m, agentry.Options{Logger: logger})
	if err != nil {
		return summary{}, err
	}
	if err := srv.Start(ctx); err != nil {
		return summary{}, err
	}
	defer srv.Shutdown(context.Background())
	apiURL, stopAPI, err := serve(srv)
	if err != nil {
		return summary{}, err
	}
	defer stopAPI()

	r := newRelay(out)
	receiver := &client.Receiver{Token: apiKey, Secrets: []string{secret}}
	mux := http.NewServeMux()
	mux.Handle("POST /agentry/events", receiver.Handler(r.handle))
	hookURL, stopHooks, err := serve(mux)
	if err != nil {
		return summary{}, err
	}
	defer stopHooks()

	// The greeting may arrive before OpenSession returns, so the header
	// goes first.
	fmt.Fprintf(out, "relaying session events from %s to %s\n\n", apiURL, hookURL)
	c := client.New(apiURL, apiKey, client.WithWebhookURL(hookURL+"/agentry/events"))
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{})
	if err != nil {
		return summary{}, err
	}
	for _, text := range script {
		if _, err := c.PostMessage(ctx, sess.ID, text); err != nil {
			return summary{}, err
		}
		if err := r.waitReady(ctx, sess.ID); err != nil {
			return summary{}, err
		}
	}

	final, err := c.GetSession(ctx, sess.ID)
	if err != nil {
		return summary{}, err
	}
	s := r.summary(sess.ID)
	s.NextOffset = final.NextOffset
	fmt.Fprintf(out, "\nrelayed %d events in order, dropped %d repeated deliveries\n", s.Relayed, s.Duplicates)
	return s, nil
}

// relay prints a session's events in offset order, once each, the way a
// bridge posts them to a ticket or channel.
type relay struct {
	out io.Writer

	mu         sync.Mutex
	next       map[string]int64
	duplicates map[string]int
	ready      map[string]chan struct{}
}

func newRelay(out io.Writer) *relay {
	return &relay{out: out, next: map[string]int64{}, duplicates: map[string]int{}, ready: map[string]chan struct{}{}}
}

// handle relays one verified event. A repeated delivery of an event
// already relayed is acknowledged and dropped. An event past the next
// expected offset fails, so the server sends it again. Because agentry
// delivers a session's events in order, that happens only when an
// earlier event was lost on this side.
func (r *relay) handle(ctx context.Context, ev wire.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := r.next[ev.SessionID]
	switch {
	case ev.Offset < next:
		r.duplicates[ev.SessionID]++
		return nil
	case ev.Offset > next:
		return fmt.Errorf("event %d of session %s arrived before event %d", ev.Offset, ev.SessionID, next)
	}
	r.next[ev.SessionID] = next + 1

	switch {
	case ev.Kind == wire.KindUserMessage:
		fmt.Fprintf(r.out, "#%-3d customer: %s\n", ev.Offset, ev.Text)
	case ev.Kind == wire.KindAgentMessage:
		fmt.Fprintf(r.out, "#%-3d agent:    %s\n", ev.Offset, ev.Text)
	case ev.Kind == wire.KindStatus && ev.Status == wire.StatusError && ev.Error != nil:
		fmt.Fprintf(r.out, "#%-3d (the turn failed: %s)\n", ev.Offset, ev.Error.Message)
	case ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady:
		select {
		case r.readyChan(ev.SessionID) <- struct{}{}:
		default:
		}
	}
	return nil
}

// readyChan returns the channel that signals the session's status ready
// events. The caller holds r.mu.
func (r *relay) readyChan(sessionID string) chan struct{} {
	ch := r.ready[sessionID]
	if ch == nil {
		ch = make(chan struct{}, 1)
		r.ready[sessionID] = ch
	}
	return ch
}

// waitReady waits until the session's next status ready event arrived.
func (r *relay) waitReady(ctx context.Context, sessionID string) error {
	r.mu.Lock()
	ch := r.readyChan(sessionID)
	r.mu.Unlock()
	timer := time.NewTimer(turnTimeout)
	defer timer.Stop()
	select {
	case <-ch:
		return nil
	case <-timer.C:
		return errors.New("no status ready event arrived over the webhook within " + turnTimeout.String())
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *relay) summary(sessionID string) summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return summary{SessionID: sessionID, Relayed: int(r.next[sessionID]), Duplicates: r.duplicates[sessionID]}
}

// serve serves h on a free port of 127.0.0.1 and returns its base URL and
// a function that stops it.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }, nil
}

// newAPIKey returns a random bearer token for this run.
func newAPIKey() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "agk_" + hex.EncodeToString(b[:])
}

// newSecret returns a random signing secret for this run.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return webhook.SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}
