// Command tools runs an order-support agent that calls tools: the native
// Go tool orders:status and the tool lookup of an MCP server, crm.
//
// The program starts, in this process and on loopback ports, an MCP
// server for the CRM (streamable HTTP, bearer token required) and an
// agentry server on agent.yaml, whose mcps entry points at the CRM's URL
// through ${CRM_MCP_URL}. It opens a session, injects a CRM export into
// it with POST /sessions/{id}/tool_events, and has a short conversation
// in which the model calls both tools and one call fails. It prints every
// event of the session as it streams: messages, tool calls and tool
// results.
//
// It runs offline on the scripted model of script.yaml. With CRM_MCP_URL
// set, it connects to that MCP server instead of starting its own, and
// sends CRM_MCP_TOKEN, which must then be set too, as the bearer token.
// With OPENAI_API_KEY set (or OPENAI_BASE_URL, for a local
// OpenAI-compatible server), it uses that model instead of the script;
// OPENAI_MODEL picks the model (default gpt-4o-mini).
//
//	go run ./examples/tools
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/tool"
	"github.com/agentry/agentry/transport/wire"
)

// messages are the customer's messages, one per turn.
var messages = []string{
	"Hi! Where is my order A-1001?",
	"Which plan am I on?",
	"And what about order A-9999?",
}

func main() {
	if _, err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tools:", err)
		os.Exit(1)
	}
}

// run starts the CRM MCP server (unless CRM_MCP_URL is set) and the
// agentry server, has the conversation and prints it to out. It returns
// every event of the session up to the end of the last turn.
func run(ctx context.Context, out io.Writer) ([]wire.Event, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// Warnings and errors of the servers go to stderr, and the
	// conversation goes to out.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	apiKey := newToken("agk_")
	env := map[string]string{"AGENTRY_API_KEY": apiKey}
	if url := os.Getenv("CRM_MCP_URL"); url != "" {
		env["CRM_MCP_URL"] = url
		if token, ok := os.LookupEnv("CRM_MCP_TOKEN"); ok {
			env["CRM_MCP_TOKEN"] = token
		}
	} else {
		token := newToken("crm_")
		crm, err := startCRM(token, logger)
		if err != nil {
			return nil, err
		}
		defer crm.Close()
		env["CRM_MCP_URL"], env["CRM_MCP_TOKEN"] = crm.URL, token
	}

	dir, err := os.MkdirTemp("", "agentry-tools-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	m, err := loadManifest(dir, env)
	if err != nil {
		return nil, err
	}
	orderStatus, err := newOrderStatusTool()
	if err != nil {
		return nil, err
	}

	// New connects to the manifest's MCP servers in parallel and returns
	// once each has connected or failed its first attempt.
	srv, err := agentry.New(m, agentry.Options{Tools: []tool.Tool{orderStatus}, Logger: logger})
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
	fmt.Fprintf(out, "agentry is serving %q with model %s on %s\n", m.Name, m.AgentConfig.LLMs.Default, base)
	if err := printReadiness(ctx, out, base); err != nil {
		return nil, err
	}

	c := client.New(base, apiKey)
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{})
	if err != nil {
		return nil, err
	}
	injected, err := injectContext(ctx, base, apiKey, sess.ID, "crm:export", map[string]any{"customer_id": "c-1042"}, crmExport)
	if err != nil {
		return nil, err
	}
	return converse(ctx, c, sess.ID, injected.Offset+1, out)
}

// printReadiness prints the checks of GET /health/ready: each MCP server
// appears as "mcp:<id>", "ok" or "degraded: <reason>".
func printReadiness(ctx context.Context, out io.Writer, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health/ready", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET /health/ready: %w", err)
	}
	defer resp.Body.Close()
	var h wire.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return fmt.Errorf("decode the body of GET /health/ready: %w", err)
	}
	names := make([]string, 0, len(h.Checks))
	for name := range h.Checks {
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Fprintf(out, "ready: %s (%d)\n", h.Status, resp.StatusCode)
	for _, name := range names {
		fmt.Fprintf(out, "  %s: %s\n", name, h.Checks[name])
	}
	fmt.Fprintln(out)
	return nil
}

// injectContext stores result in the session as the result of a call of
// toolName with args that the agent did not make, through POST
// /sessions/{id}/tool_events, and returns the stored event. It starts no
// turn. The model receives the result from the next turn on.
func injectContext(ctx context.Context, base, apiKey, sessionID, toolName string, args, result any) (wire.Event, error) {
	var ev wire.Event
	argsJSON, err := json.Marshal(args)
	if err != nil {
		return ev, err
	}
	resultJSON, err := json.Marshal(result)
	if err != nil {
		return ev, err
	}
	body, err := json.Marshal(wire.ToolEventRequest{Tool: toolName, Arguments: argsJSON, Result: resultJSON})
	if err != nil {
		return ev, err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/sessions/"+sessionID+"/tool_events", bytes.NewReader(body))
	if err != nil {
		return ev, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ev, fmt.Errorf("POST tool_events: %w", err)
	}
	defer resp.Body.Close()

	respBody, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return ev, fmt.Errorf("read the response of POST tool_events: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return ev, fmt.Errorf("POST tool_events: status %d, want 201: %s", resp.StatusCode, respBody)
	}
	if err := json.Unmarshal(respBody, &ev); err != nil {
		return ev, fmt.Errorf("decode the response of POST tool_events: %w", err)
	}
	return ev, nil
}

// converse prints the session's events from offset 0 and returns them.
// It posts the first customer message once the first history events are
// printed (the greeting and the injected context), and each later one
// when the agent reports status ready. It returns after the last turn's
// ready.
func converse(ctx context.Context, c *client.Client, sessionID string, history int64, out io.Writer) ([]wire.Event, error) {
	var events []wire.Event
	next := 0
	post := func() error {
		if next == len(messages) {
			return io.EOF
		}
		text := messages[next]
		next++
		_, err := c.PostMessage(ctx, sessionID, text)
		return err
	}

	for ev, err := range c.Events(ctx, sessionID, 0, client.PollOptions{Wait: 30 * time.Second}) {
		if err != nil {
			return events, err
		}
		events = append(events, ev)
		printEvent(out, ev)
		endsTurn := ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady
		if ev.Offset != history-1 && !endsTurn {
			continue
		}
		fmt.Fprintln(out)
		if err := post(); errors.Is(err, io.EOF) {
			return events, nil
		} else if err != nil {
			return events, err
		}
	}
	return events, ctx.Err()
}

// printEvent prints one event: messages, tool calls and tool results,
// and failed turns. Other status events are left out.
func printEvent(out io.Writer, ev wire.Event) {
	switch ev.Kind {
	case wire.KindUserMessage:
		fmt.Fprintf(out, "customer: %s\n", ev.Text)
	case wire.KindAgentMessage:
		fmt.Fprintf(out, "agent:    %s\n", ev.Text)
	case wire.KindToolCall:
		fmt.Fprintf(out, "  call    %s %s\n", ev.Tool, compactJSON(ev.Arguments))
	case wire.KindToolResult:
		label := "  result  "
		if ev.Injected {
			label = "context:  "
		}
		switch {
		case ev.Error != nil:
			fmt.Fprintf(out, "%s%s failed (%s): %s\n", label, ev.Tool, ev.Error.Code, ev.Error.Message)
		case ev.Injected:
			fmt.Fprintf(out, "%s%s %s %s (injected)\n", label, ev.Tool, compactJSON(ev.Arguments), compactJSON(ev.Result))
		default:
			fmt.Fprintf(out, "%s%s %s\n", label, ev.Tool, compactJSON(ev.Result))
		}
	case wire.KindStatus:
		if ev.Status == wire.StatusError {
			reason := "no reason given"
			if ev.Error != nil {
				reason = ev.Error.Code + ": " + ev.Error.Message
			}
			fmt.Fprintf(out, "  (the turn failed: %s)\n", reason)
		}
	}
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
