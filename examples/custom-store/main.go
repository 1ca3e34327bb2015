// Command custom-store runs an agentry server on a store of its own: the
// SQLite store wrapped in SealedStore, which encrypts every event payload
// with AES-256-GCM before it is written. It posts a customer message,
// prints the conversation, shows the ciphertext that reached the database
// file, then closes everything, opens the file again and prints the
// history read back through the wrapper.
//
//	go run ./examples/custom-store
//
// SEALED_STORE_KEY (64 hex digits) sets the key; without it the program
// makes a random one for this run. The database is a file in a new
// temporary directory, removed at exit.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/sqlite"
	"github.com/agentry/agentry/transport/wire"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom-store:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	key, err := loadKey()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "agentry-custom-store-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "agentry.db")

	// Store and server warnings and errors go to stderr.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sessionID, err := converse(ctx, path, key, logger, out)
	if err != nil {
		return err
	}
	return reread(ctx, path, key, logger, sessionID, out)
}

// converse serves the demo agent on the sealed store, holds one exchange
// and prints the stored form of the customer's message.
func converse(ctx context.Context, path string, key []byte, logger *slog.Logger, out io.Writer) (string, error) {
	inner, err := sqlite.Open(ctx, path, sqlite.WithLogger(logger))
	if err != nil {
		return "", err
	}
	defer inner.Close()
	sealed, err := Seal(inner, key)
	if err != nil {
		return "", err
	}

	apiKey := hex.EncodeToString(randomBytes(16))
	m, err := manifest.ParseDefault(manifest.WithLookupEnv(func(k string) (string, bool) {
		return apiKey, k == "AGENTRY_API_KEY"
	}))
	if err != nil {
		return "", err
	}
	srv, err := agentry.New(m, agentry.Options{Store: sealed, Logger: logger})
	if err != nil {
		return "", err
	}
	if err := srv.Start(ctx); err != nil {
		return "", err
	}
	defer srv.Shutdown(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	c := client.New("http://"+ln.Addr().String(), apiKey)
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{})
	if err != nil {
		return "", err
	}
	// The greeting, if the manifest has one, is already in the log.
	greeting, err := c.Poll(ctx, sess.ID, 0, client.PollOptions{})
	if err != nil {
		return "", err
	}
	for _, ev := range greeting.Events {
		if ev.Kind == wire.KindAgentMessage {
			fmt.Fprintf(out, "agent:    %s\n", ev.Text)
		}
	}
	const text = "Hi, my card number is 4111 1111 1111 1111."
	posted, err := c.PostMessage(ctx, sess.ID, text)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(out, "customer: %s\n", text)
	if err := printReply(ctx, c, sess.ID, posted.Offset+1, out); err != nil {
		return "", err
	}

	stored, err := inner.ListEvents(ctx, sess.ID, posted.Offset, 1)
	if err != nil {
		return "", err
	}
	if len(stored) == 0 {
		return "", fmt.Errorf("the customer message at offset %d is not in the store", posted.Offset)
	}
	fmt.Fprintf(out, "\nstored in %s:\n  %.72s...\n", filepath.Base(path), stored[0].Payload)
	return sess.ID, nil
}

// printReply prints the agent's messages from offset from until the turn
// ends.
func printReply(ctx context.Context, c *client.Client, sessionID string, from int64, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for ev, err := range c.Events(ctx, sessionID, from, client.PollOptions{Wait: 10 * time.Second}) {
		if err != nil {
			return err
		}
		if ev.Kind == wire.KindAgentMessage {
			fmt.Fprintf(out, "agent:    %s\n", ev.Text)
		}
		if ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady {
			return nil
		}
	}
	return ctx.Err()
}

// reread opens the database file again, as a restarted process would,
// and prints the session's history through the wrapper.
func reread(ctx context.Context, path string, key []byte, logger *slog.Logger, sessionID string, out io.Writer) error {
	inner, err := sqlite.Open(ctx, path, sqlite.WithLogger(logger))
	if err != nil {
		return err
	}
	defer inner.Close()
	sealed, err := Seal(inner, key)
	if err != nil {
		return err
	}
	events, err := sealed.ListEvents(ctx, sessionID, 0, store.MaxListLimit)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nafter reopening, session %s has %d events:\n", sessionID, len(events))
	for _, ev := range events {
		fmt.Fprintf(out, "  %d %-14s %s\n", ev.Offset, ev.Kind, ev.Payload)
	}
	return nil
}

// loadKey returns the key of SEALED_STORE_KEY, or a random one.
func loadKey() ([]byte, error) {
	s := os.Getenv("SEALED_STORE_KEY")
	if s == "" {
		return randomBytes(32), nil
	}
	key, err := hex.DecodeString(s)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("SEALED_STORE_KEY must be 64 hex digits (32 bytes)")
	}
	return key, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}
