// Command kyc runs the autonomous routine kyc-decision of agent.yaml for
// three applicants and receives its results as signed callbacks.
//
// The program starts a callback receiver and an agentry server in this
// process, both on loopback. It triggers one run per applicant over HTTP
// through the Go client, with the receiver as callback_url. For each run
// it waits for the callback, checks its Standard Webhooks signature, and
// prints the decision. It exits with status 1 when a run fails, a
// callback is missing or unsigned, or a decision differs from the one
// the verification status calls for.
//
// It runs offline on the scripted model of script.yaml. With
// OPENAI_API_KEY set (or OPENAI_BASE_URL, for a local OpenAI-compatible
// server), it uses that model instead; OPENAI_MODEL picks the model
// (default gpt-4o-mini).
//
//	go run ./examples/kyc
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// routineID is the routine of agent.yaml that the program triggers.
const routineID = "kyc-decision"

// applicant is one trigger's input and the decision it calls for.
type applicant struct {
	ID      string
	Status  string
	Reasons []string
	Want    string
}

// applicants are the inputs of the program's three runs.
var applicants = []applicant{
	{ID: "app-1001", Status: "GREEN", Want: "approved"},
	{ID: "app-1002", Status: "AMBER", Reasons: []string{"proof of address is older than three months"}, Want: "escalate"},
	{ID: "app-1003", Status: "RED", Reasons: []string{"document number fails its check digit", "face does not match the document photo"}, Want: "rejected"},
}

// input returns the routine input for a.
func (a applicant) input() json.RawMessage {
	type verification struct {
		Status  string   `json:"status"`
		Reasons []string `json:"reasons,omitempty"`
	}
	in, _ := json.Marshal(struct {
		ApplicantID  string       `json:"applicant_id"`
		Verification verification `json:"verification"`
	}{a.ID, verification{a.Status, a.Reasons}})
	return in
}

// outcome is the result of one run, as its callback reported it.
type outcome struct {
	Applicant   applicant
	RunID       string
	Decision    string
	Explanation string
	// Verified is true when the callback's signature verified.
	Verified bool
	// Attempts is the number of POSTs the callback took.
	Attempts int
}

func main() {
	if _, err := run(context.Background(), os.Stdout, applicants); err != nil {
		fmt.Fprintln(os.Stderr, "kyc:", err)
		os.Exit(1)
	}
}

// run starts the receiver and the server, triggers a run for each of
// list, and prints each callback's decision to out. It returns the
// outcomes in the order of list, up to the first run that failed in any
// way, and that failure as an error.
func run(ctx context.Context, out io.Writer, list []applicant) ([]outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	apiKey, secret := newAPIKey(), newSigningSecret()
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	rcv, err := startReceiver([][]byte{key})
	if err != nil {
		return nil, err
	}
	defer rcv.Close()

	dir, err := os.MkdirTemp("", "agentry-kyc-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	m, err := loadManifest(dir, apiKey, secret)
	if err != nil {
		return nil, err
	}

	// Warnings and errors of the server go to stderr; the decisions go to
	// out.
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
	fmt.Fprintf(out, "agentry is serving %q with model %s on %s\n", m.Name, m.AgentConfig.LLMs.Default, base)
	fmt.Fprintf(out, "callbacks go to %s\n\n", rcv.url)

	c := client.New(base, apiKey)
	runIDs := make([]string, len(list))
	for i, a := range list {
		resp, _, err := c.Trigger(ctx, routineID, wire.TriggerRequest{
			Input:          a.input(),
			CallbackURL:    rcv.url,
			IdempotencyKey: "kyc-" + a.ID,
		})
		if err != nil {
			return nil, fmt.Errorf("trigger %s for applicant %s: %w", routineID, a.ID, err)
		}
		runIDs[i] = resp.RunID
	}

	outcomes := make([]outcome, 0, len(list))
	for i, a := range list {
		o, err := receive(ctx, rcv, a, runIDs[i])
		if err != nil {
			return outcomes, err
		}
		// The receiver has the callback before the server has read the
		// response. Shutting the server down now would cancel that POST
		// and leave the callback to be sent again, so wait until the
		// server records it as delivered.
		if o.Attempts, err = waitDelivered(ctx, c, o.RunID); err != nil {
			return outcomes, fmt.Errorf("applicant %s: %w", a.ID, err)
		}
		printOutcome(out, o)
		outcomes = append(outcomes, o)
	}
	return outcomes, nil
}

// receive waits for the callback of run runID and checks it: a verified
// signature, a succeeded run, and the decision a calls for.
func receive(ctx context.Context, rcv *receiver, a applicant, runID string) (outcome, error) {
	o := outcome{Applicant: a, RunID: runID}
	cb, err := rcv.wait(ctx, runID)
	if err != nil {
		return o, fmt.Errorf("applicant %s: %w", a.ID, err)
	}
	if cb.VerifyErr != nil {
		return o, fmt.Errorf("applicant %s: the callback of run %s was rejected: %w", a.ID, runID, cb.VerifyErr)
	}
	o.Verified = true

	var body wire.RunCallback
	if err := json.Unmarshal(cb.Body, &body); err != nil {
		return o, fmt.Errorf("applicant %s: decode the callback of run %s: %w", a.ID, runID, err)
	}
	if body.RunID != runID {
		return o, fmt.Errorf("applicant %s: the callback with webhook-id %s carries run_id %q", a.ID, runID, body.RunID)
	}
	if body.Status != wire.RunSucceeded {
		reason := "no error given"
		if body.Error != nil {
			reason = body.Error.Code + ": " + body.Error.Message
		}
		return o, fmt.Errorf("applicant %s: run %s ended %s (%s)", a.ID, runID, body.Status, reason)
	}
	var result struct {
		Decision    string `json:"decision"`
		Explanation string `json:"explanation"`
	}
	if err := json.Unmarshal(body.Output, &result); err != nil {
		return o, fmt.Errorf("applicant %s: decode the output of run %s: %w", a.ID, runID, err)
	}
	o.Decision, o.Explanation = result.Decision, result.Explanation
	if o.Decision != a.Want {
		return o, fmt.Errorf("applicant %s (%s): run %s decided %q, want %q", a.ID, a.Status, runID, o.Decision, a.Want)
	}
	return o, nil
}

// waitDelivered polls run runID until the server records its callback as
// delivered, and returns the number of attempts it took.
func waitDelivered(ctx context.Context, c *client.Client, runID string) (int, error) {
	for {
		run, err := c.GetRun(ctx, runID, 0)
		if err != nil {
			return 0, err
		}
		if run.Callback == nil {
			return 0, fmt.Errorf("run %s has no callback", runID)
		}
		switch run.Callback.State {
		case store.CallbackDelivered:
			return run.Callback.Attempts, nil
		case store.CallbackFailed, store.CallbackDisabled:
			return 0, fmt.Errorf("the callback of run %s is %s after %d attempts: %s",
				runID, run.Callback.State, run.Callback.Attempts, run.Callback.LastError)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("the callback of run %s is still %s: %w", runID, run.Callback.State, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func printOutcome(out io.Writer, o outcome) {
	a := o.Applicant
	status := a.Status
	if len(a.Reasons) > 0 {
		status += " (" + strings.Join(a.Reasons, "; ") + ")"
	}
	fmt.Fprintf(out, "%s %s\n  -> %s: %s\n", a.ID, status, o.Decision, o.Explanation)
	fmt.Fprintf(out, "  run %s: callback signature verified, delivered on attempt %d\n\n", o.RunID, o.Attempts)
}
