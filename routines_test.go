package agentry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// signingSecret signs the callbacks of the routine tests.
const signingSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// routineManifest has one autonomous routine, "decide", whose single tool
// node emits the scripted model's output. ALLOW is replaced with the
// runtime.outbound block and SCRIPT with the script file.
const routineManifest = `
id: routines
name: Routine test
agent_config:
  runtime:
    api_key: agent-key
    signing_secret: ` + signingSecret + `
    max_engine_iterations: 3
    delivery:
      retry_schedule: [100ms, 100ms, 100ms]
      timeout: 4s
ALLOW
  llms:
    default: scripted/test
    providers:
      scripted:
        script: SCRIPT
  context:
    routines:
      - id: decide
        title: KYC decision
        entry: emit
        autonomous:
          timeout_seconds: TIMEOUT
          callback_url_allowlist: [127.0.0.1, "*.example.com"]
          input_schema:
            type: object
            properties:
              applicant_id: {type: string, minLength: 3}
              status: {enum: [GREEN, AMBER, RED]}
              score: {type: integer}
            required: [applicant_id, status]
          output_schema:
            type: object
            properties:
              decision: {enum: [approved, rejected, escalate]}
            required: [decision]
        nodes:
          - id: emit
            tools: ["built-in:emit_output"]
            tool_instruction: Decide and emit the output.
      - id: chatty
        entry: hello
        nodes:
          - id: hello
            chat_state: Greet the customer.
`

// emitScript emits an approval, then ends with text.
const emitScript = `
- when: {after_tool: "built-in:emit_output"}
  reply: {text: "done"}
- when: {tool_offered: "built-in:emit_output"}
  reply:
    tool_call:
      name: built-in:emit_output
      arguments: {output_json: '{"decision": "approved"}'}
`

type routineOptions struct {
	script       string
	allowPrivate bool
	timeout      string
}

// serveRoutines starts the routine manifest and returns a client.
func serveRoutines(t *testing.T, o routineOptions) *client.Client {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "script.yaml")
	if o.script == "" {
		o.script = emitScript
	}
	if err := os.WriteFile(path, []byte(o.script), 0o600); err != nil {
		t.Fatal(err)
	}
	allow := ""
	if o.allowPrivate {
		allow = "    outbound: {allow_private_networks: true}"
	}
	if o.timeout == "" {
		o.timeout = "60"
	}
	yaml := strings.NewReplacer("SCRIPT", path, "ALLOW", allow, "TIMEOUT", o.timeout).Replace(routineManifest)
	return serve(t, yaml, nil)
}

// receiver records the callbacks it gets and responds with the statuses
// of respond, in order, then 200.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	calls   []receivedCall
	respond []func(w http.ResponseWriter)
	got     chan struct{}
}

type receivedCall struct {
	at     time.Time
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, respond ...func(w http.ResponseWriter)) *receiver {
	rc := &receiver{respond: respond, got: make(chan struct{}, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.calls)
		rc.calls = append(rc.calls, receivedCall{at: time.Now(), header: r.Header.Clone(), body: body})
		var f func(http.ResponseWriter)
		if n < len(rc.respond) {
			f = rc.respond[n]
		}
		rc.mu.Unlock()
		rc.got <- struct{}{}
		if f != nil {
			f(w)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() []receivedCall {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedCall(nil), rc.calls...)
}

// waitCalls waits until n callbacks arrived, failing after 30 s.
func (rc *receiver) waitCalls(t *testing.T, n int) []receivedCall {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for len(rc.received()) < n {
		select {
		case <-rc.got:
		case <-deadline:
			t.Fatalf("%d callbacks within 30s, want %d", len(rc.received()), n)
		}
	}
	return rc.received()
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code) }
}

func trigger(t *testing.T, c *client.Client, req wire.TriggerRequest) wire.TriggerResponse {
	t.Helper()
	resp, created, err := c.Trigger(context.Background(), "decide", req)
	if err != nil {
		t.Fatalf("trigger: %v", err)
	}
	if !created {
		t.Fatal("trigger did not create a run")
	}
	return resp
}

func waitRun(t *testing.T, c *client.Client, id string) wire.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.WaitRun(ctx, id)
	if err != nil {
		t.Fatalf("waiting for run %s: %v", id, err)
	}
	return run
}

// waitCallbackState polls the run until its callback reaches state.
func waitCallbackState(t *testing.T, c *client.Client, id, state string) wire.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		run, err := c.GetRun(context.Background(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if run.Callback != nil && run.Callback.State == state {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("callback state %+v, want %s within 30s", run.Callback, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const goodInput = `{"applicant_id": "app-123", "status": "GREEN", "score": 9007199254740993}`

func TestRoutineRunDeliversSignedCallback(t *testing.T) {
	rc := newReceiver(t)
	c := serveRoutines(t, routineOptions{allowPrivate: true})
	resp := trigger(t, c, wire.TriggerRequest{
		Input:       []byte(goodInput),
		CallbackURL: rc.URL + "/kyc",
		Metadata:    map[string]any{"case": "c-1"},
	})
	if resp.Status != wire.RunQueued || !strings.HasPrefix(resp.RunID, "run_") {
		t.Errorf("trigger response = %+v", resp)
	}

	run := waitRun(t, c, resp.RunID)
	if run.Status != wire.RunSucceeded {
		t.Fatalf("run = %+v", run)
	}
	if compact(t, run.Output) != `{"decision":"approved"}` {
		t.Errorf("output = %s", run.Output)
	}
	if !strings.Contains(string(run.Input), "9007199254740993") {
		t.Errorf("input lost precision: %s", run.Input)
	}

	call := rc.waitCalls(t, 1)[0]
	h := call.header
	if h.Get("webhook-id") != resp.RunID {
		t.Errorf("webhook-id = %q, want the run id", h.Get("webhook-id"))
	}
	if h.Get("Authorization") != "Bearer agent-key" {
		t.Errorf("Authorization = %q", h.Get("Authorization"))
	}
	key, _ := webhook.ParseSecret(signingSecret)
	if err := webhook.Verify([][]byte{key}, h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"), call.body, time.Now(), time.Minute); err != nil {
		t.Errorf("callback signature does not verify: %v", err)
	}
	var body wire.RunCallback
	if err := jsonUnmarshal(call.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.RunID != resp.RunID || body.RoutineID != "decide" || body.Status != wire.RunSucceeded {
		t.Errorf("callback body = %s", call.body)
	}
	if body.Trigger.Source != "api" || body.Metadata["case"] != "c-1" || body.StartedAt == nil {
		t.Errorf("callback body = %s", call.body)
	}
	run = waitCallbackState(t, c, resp.RunID, "delivered")
	if run.Callback.Attempts != 1 || run.Callback.LastStatus != 200 {
		t.Errorf("callback state = %+v", run.Callback)
	}
}

func TestTriggerRejectsBadInput(t *testing.T) {
	c := serveRoutines(t, routineOptions{})
	ctx := context.Background()
	tests := []struct {
		name  string
		req   wire.TriggerRequest
		paths []string
	}{
		{"several violations", wire.TriggerRequest{Input: []byte(`{"applicant_id": "a", "status": "BLUE", "score": 1.5}`)},
			[]string{"/input/applicant_id", "/input/status", "/input/score"}},
		{"missing required", wire.TriggerRequest{Input: []byte(`{}`)}, []string{"/input/applicant_id", "/input/status"}},
		{"not an object", wire.TriggerRequest{Input: []byte(`["GREEN"]`)}, []string{"/input"}},
		{"missing input", wire.TriggerRequest{}, []string{"/input"}},
		{"null input", wire.TriggerRequest{Input: []byte(`null`)}, []string{"/input"}},
		{"host not allowed", wire.TriggerRequest{Input: []byte(goodInput), CallbackURL: "https://evil.test/hook"}, []string{"/callback_url"}},
		{"private address", wire.TriggerRequest{Input: []byte(goodInput), CallbackURL: "http://127.0.0.1:9/hook"}, []string{"/callback_url"}},
		{"not http", wire.TriggerRequest{Input: []byte(goodInput), CallbackURL: "ftp://a.example.com/x"}, []string{"/callback_url"}},
		{"bad idempotency key", wire.TriggerRequest{Input: []byte(goodInput), IdempotencyKey: "has space"}, []string{"/idempotency_key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.Trigger(ctx, "decide", tt.req)
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnprocessableEntity || ae.Code != wire.CodeValidationFailed {
				t.Fatalf("err = %v, want 422 validation_failed", err)
			}
			for _, p := range tt.paths {
				found := false
				for _, d := range ae.Details {
					found = found || d.Path == p
				}
				if !found {
					t.Errorf("details %+v lack %s", ae.Details, p)
				}
			}
		})
	}
}

func TestTriggerUnknownRoutine(t *testing.T) {
	c := serveRoutines(t, routineOptions{})
	for _, id := range []string{"nope", "chatty"} {
		_, _, err := c.Trigger(context.Background(), id, wire.TriggerRequest{Input: []byte(goodInput)})
		if !client.IsNotFound(err) {
			t.Errorf("trigger %s: %v, want 404", id, err)
		}
	}
	list, err := c.Routines(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != "decide" || len(list[0].InputSchema) == 0 {
		t.Errorf("routines = %+v, want only the autonomous one with schemas", list)
	}
	if !strings.Contains(string(list[0].OutputSchema), `"additionalProperties":false`) &&
		!strings.Contains(string(list[0].OutputSchema), `"additionalProperties": false`) {
		t.Errorf("output schema not tightened: %s", list[0].OutputSchema)
	}
}

func TestTriggerIdempotency(t *testing.T) {
	c := serveRoutines(t, routineOptions{})
	ctx := context.Background()
	first, created, err := c.Trigger(ctx, "decide", wire.TriggerRequest{Input: []byte(goodInput), IdempotencyKey: "evt-1"})
	if err != nil || !created {
		t.Fatalf("first trigger: created=%v err=%v", created, err)
	}
	// The same input, formatted differently, returns the same run.
	same := `{"status":"GREEN","score":9007199254740993,"applicant_id":"app-123"}`
	again, created, err := c.Trigger(ctx, "decide", wire.TriggerRequest{Input: []byte(same), IdempotencyKey: "evt-1"})
	if err != nil || created || again.RunID != first.RunID {
		t.Fatalf("repeat: %+v created=%v err=%v, want run %s with 200", again, created, err, first.RunID)
	}
	_, _, err = c.Trigger(ctx, "decide", wire.TriggerRequest{Input: []byte(`{"applicant_id": "app-999", "status": "RED"}`), IdempotencyKey: "evt-1"})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusConflict {
		t.Fatalf("different input: %v, want 409", err)
	}
}

func TestTriggerIdempotencyHeader(t *testing.T) {
	c := serveRoutines(t, routineOptions{})
	srvURL := clientURL(t, c)
	post := func() (int, string) {
		req, _ := http.NewRequest("POST", srvURL+"/routines/decide/trigger", strings.NewReader(`{"input": `+goodInput+`}`))
		req.Header.Set("Authorization", "Bearer agent-key")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "hdr-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out wire.TriggerResponse
		_ = jsonDecode(resp.Body, &out)
		return resp.StatusCode, out.RunID
	}
	s1, id1 := post()
	s2, id2 := post()
	if s1 != http.StatusAccepted || s2 != http.StatusOK || id1 != id2 {
		t.Errorf("statuses %d, %d and runs %s, %s; want 202 then 200 for one run", s1, s2, id1, id2)
	}
}

func TestModelThatNeverEmitsFails(t *testing.T) {
	script := `
- when: {tool_offered: "built-in:emit_output"}
  reply: {text: "I think it is approved."}
`
	c := serveRoutines(t, routineOptions{script: script})
	resp := trigger(t, c, wire.TriggerRequest{Input: []byte(goodInput)})
	run := waitRun(t, c, resp.RunID)
	if run.Status != wire.RunFailed || run.Error == nil || run.Error.Code != "iteration_limit" {
		t.Fatalf("run = %+v, want failed with iteration_limit", run)
	}
	if run.Callback != nil {
		t.Errorf("a run without callback URL shows callback %+v", run.Callback)
	}
}

func TestRunTimeout(t *testing.T) {
	script := `
- when: {tool_offered: "built-in:emit_output"}
  reply: {text: "thinking"}
  delay: 30s
`
	c := serveRoutines(t, routineOptions{script: script, timeout: "1"})
	resp := trigger(t, c, wire.TriggerRequest{Input: []byte(goodInput)})
	run := waitRun(t, c, resp.RunID)
	if run.Status != wire.RunFailed || run.Error == nil || run.Error.Code != "timeout" {
		t.Fatalf("run = %+v, want failed with timeout", run)
	}
}

func TestCancelRun(t *testing.T) {
	script := `
- when: {tool_offered: "built-in:emit_output"}
  reply: {text: "thinking"}
  delay: 30s
`
	rc := newReceiver(t)
	c := serveRoutines(t, routineOptions{script: script, allowPrivate: true})
	resp := trigger(t, c, wire.TriggerRequest{Input: []byte(goodInput), CallbackURL: rc.URL})
	time.Sleep(200 * time.Millisecond)
	if _, err := c.CancelRun(context.Background(), resp.RunID); err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, c, resp.RunID)
	if run.Status != wire.RunFailed || run.Error == nil || run.Error.Code != "cancelled" {
		t.Fatalf("run = %+v, want failed with cancelled", run)
	}
	var body wire.RunCallback
	if err := jsonUnmarshal(rc.waitCalls(t, 1)[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Error == nil || body.Error.Code != "cancelled" {
		t.Errorf("callback of a cancelled run = %+v", body)
	}
}

func TestCallbackRetries(t *testing.T) {
	hang := func(w http.ResponseWriter) { time.Sleep(5 * time.Second) }
	hijackClose := func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("partial"))
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ := hj.Hijack()
			conn.Close()
		}
	}
	closeAtOnce := func(w http.ResponseWriter) {
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ := hj.Hijack()
			conn.Close()
		}
	}
	tests := []struct {
		name     string
		respond  []func(http.ResponseWriter)
		state    string
		attempts int
	}{
		{"500 three times then 200", []func(http.ResponseWriter){status(500), status(500), status(500)}, "delivered", 4},
		{"410 disables", []func(http.ResponseWriter){status(410)}, "disabled", 1},
		{"times out then 200", []func(http.ResponseWriter){hang}, "delivered", 2},
		{"closes mid-response then 200", []func(http.ResponseWriter){hijackClose}, "delivered", 2},
		{"closes before responding then 200", []func(http.ResponseWriter){closeAtOnce}, "delivered", 2},
		{"fails every attempt", []func(http.ResponseWriter){status(503), status(503), status(503), status(503)}, "failed", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, tt.respond...)
			c := serveRoutines(t, routineOptions{allowPrivate: true})
			resp := trigger(t, c, wire.TriggerRequest{Input: []byte(goodInput), CallbackURL: rc.URL})
			run := waitCallbackState(t, c, resp.RunID, tt.state)
			if run.Callback.Attempts != tt.attempts {
				t.Errorf("attempts = %d, want %d", run.Callback.Attempts, tt.attempts)
			}
			calls := rc.received()
			if len(calls) != tt.attempts {
				t.Errorf("receiver got %d calls, want %d", len(calls), tt.attempts)
			}
			for i, call := range calls {
				if string(call.body) != string(calls[0].body) || call.header.Get("webhook-id") != resp.RunID {
					t.Errorf("attempt %d differs: body %s, webhook-id %q", i, call.body, call.header.Get("webhook-id"))
				}
			}
		})
	}
}

func TestCallbackHonoursRetryAfter(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	c := serveRoutines(t, routineOptions{allowPrivate: true})
	resp := trigger(t, c, wire.TriggerRequest{Input: []byte(goodInput), CallbackURL: rc.URL})
	waitCallbackState(t, c, resp.RunID, "delivered")
	calls := rc.received()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	if gap := calls[1].at.Sub(calls[0].at); gap < 900*time.Millisecond {
		t.Errorf("second attempt %v after the 429, want at least the 1s Retry-After", gap)
	}
}

func TestRedeliverCallback(t *testing.T) {
	rc := newReceiver(t, status(410))
	c := serveRoutines(t, routineOptions{allowPrivate: true})
	resp := trigger(t, c, wire.TriggerRequest{Input: []byte(goodInput), CallbackURL: rc.URL})
	waitCallbackState(t, c, resp.RunID, "disabled")
	if _, err := c.RedeliverRun(context.Background(), resp.RunID); err != nil {
		t.Fatal(err)
	}
	run := waitCallbackState(t, c, resp.RunID, "delivered")
	if run.Callback.Attempts != 1 {
		t.Errorf("attempts after redelivery = %d, want 1", run.Callback.Attempts)
	}
	if n := len(rc.received()); n != 2 {
		t.Errorf("receiver got %d calls, want 2", n)
	}
}

func TestGetRunUnknown(t *testing.T) {
	c := serveRoutines(t, routineOptions{})
	if _, err := c.GetRun(context.Background(), "run_nothing", 0); !client.IsNotFound(err) {
		t.Errorf("unknown run: %v, want 404", err)
	}
}

func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compacting %s: %v", raw, err)
	}
	return b.String()
}
