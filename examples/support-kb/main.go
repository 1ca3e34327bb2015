// Command support-kb runs a support agent that answers questions about a
// fictional thermostat from the Markdown files in docs/, and prints each
// question, the reply and the document sections the reply cites.
//
// The program starts an agentry server in this process on loopback and
// talks to it over HTTP through the Go client. The manifest's search
// block is of type memory: the server splits the files on headings and
// paragraphs, embeds the sections with the offline lexical embedder and
// searches them before each reply. After the first question, the
// evaluation lane rewrites each follow-up into a standalone search query.
//
// It runs offline on the scripted model of script.yaml, whose replies
// restate the sections the search finds. With OPENAI_API_KEY set (or
// OPENAI_BASE_URL, for a local OpenAI-compatible server), it uses that
// model instead; OPENAI_MODEL picks the model (default gpt-4o-mini).
//
//	go run ./examples/support-kb
package main

import (
	"context"
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
	"github.com/agentry/agentry/transport/wire"
)

// questions are the customer messages of the program's conversation, in
// order. The last one shares no word but stop words with the document
// that answers it, so only the query rewrite finds that document.
var questions = []string{
	"How do I pair the thermostat with my phone?",
	"The screen shows E42. What should I do?",
	"Can I send it back if I change my mind?",
}

// exchange is one question, its reply and the reply's citations, with
// citation IDs relative to the manifest's directory.
type exchange struct {
	Question  string
	Reply     string
	Citations []wire.Citation
}

func main() {
	if _, err := run(context.Background(), os.Stdout, questions); err != nil {
		fmt.Fprintln(os.Stderr, "support-kb:", err)
		os.Exit(1)
	}
}

// run starts the server, asks each of list in one session and prints
// every exchange to out. It returns the exchanges, up to the first
// question that got no reply, and that failure as an error.
func run(ctx context.Context, out io.Writer, list []string) ([]exchange, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "agentry-support-kb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	apiKey := newAPIKey()
	m, err := loadManifest(dir, apiKey)
	if err != nil {
		return nil, err
	}

	// Warnings and errors of the server, such as a failed search, go to
	// stderr, and the conversation goes to out.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := agentry.New(m, agentry.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	defer srv.Shutdown(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "agentry is serving %q with model %s on %s\n\n", m.Name, m.AgentConfig.LLMs.Default, base)

	c := client.New(base, apiKey)
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{})
	if err != nil {
		return nil, err
	}
	exchanges := make([]exchange, 0, len(list))
	for _, q := range list {
		x, err := ask(ctx, c, sess.ID, q)
		if err != nil {
			return exchanges, err
		}
		for i := range x.Citations {
			x.Citations[i].ID = relativeID(dir, x.Citations[i].ID)
		}
		printExchange(out, x)
		exchanges = append(exchanges, x)
	}
	return exchanges, nil
}

// ask posts question to session sid and waits for the end of its turn.
// It returns the turn's agent_message with its citations.
func ask(ctx context.Context, c *client.Client, sid, question string) (exchange, error) {
	x := exchange{Question: question}
	posted, err := c.PostMessage(ctx, sid, question)
	if err != nil {
		return x, fmt.Errorf("post %q: %w", question, err)
	}
	replied := false
	for ev, err := range c.Events(ctx, sid, posted.Offset+1, client.PollOptions{Wait: 30 * time.Second}) {
		if err != nil {
			return x, fmt.Errorf("read the events after %q: %w", question, err)
		}
		switch {
		case ev.Kind == wire.KindAgentMessage:
			x.Reply, x.Citations, replied = ev.Text, ev.Citations, true
		case ev.Kind == wire.KindStatus && ev.Status == wire.StatusError:
			reason := "no reason given"
			if ev.Error != nil {
				reason = ev.Error.Message
			}
			return x, fmt.Errorf("the turn for %q failed: %s", question, reason)
		case ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady:
			if !replied {
				return x, fmt.Errorf("the turn for %q ended without a reply", question)
			}
			return x, nil
		}
	}
	return x, fmt.Errorf("no reply to %q: %w", question, ctx.Err())
}

// relativeID returns a chunk ID of the form "/dir/docs/file.md#2" as
// "docs/file.md#2", and any other ID unchanged.
func relativeID(dir, id string) string {
	rel, err := filepath.Rel(dir, id)
	if err != nil || strings.HasPrefix(rel, "..") {
		return id
	}
	return filepath.ToSlash(rel)
}

func printExchange(out io.Writer, x exchange) {
	fmt.Fprintf(out, "customer: %s\n", x.Question)
	fmt.Fprintf(out, "agent:    %s\n", x.Reply)
	if len(x.Citations) == 0 {
		fmt.Fprintln(out, "          (no sections cited)")
	}
	for _, cit := range x.Citations {
		fmt.Fprintf(out, "          cites %s %q (score %.3f)\n", cit.ID, cit.Title, cit.Score)
	}
	fmt.Fprintln(out)
}
