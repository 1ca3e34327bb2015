package agentry_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// syncBuffer is a bytes.Buffer that several goroutines may write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// newWhsec returns a random Standard Webhooks secret.
func newWhsec(t *testing.T) string {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// secretForms returns s and its base64 encodings, standard and URL-safe,
// padded and not.
func secretForms(s string) []string {
	b := []byte(s)
	return []string{
		s,
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
	}
}

// logLine is one JSON log record.
type logLine map[string]any

func (l logLine) str(key string) string {
	s, _ := l[key].(string)
	return s
}

func parseLogLines(t *testing.T, data []byte) []logLine {
	t.Helper()
	var lines []logLine
	for _, raw := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var l logLine
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, raw)
		}
		lines = append(lines, l)
	}
	return lines
}

// TestLogsCarryIDsAndNoSecrets runs every flow that handles a secret
// with debug logs and trace export on, then searches the logs and the
// exported spans for each secret.
func TestLogsCarryIDsAndNoSecrets(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t, dbURL)
	parsed, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	dbPassword, _ := parsed.User.Password()

	secrets := map[string]string{
		"api key":              "agent-key-3f9c1e7d5b2a",
		"signing secret":       newWhsec(t),
		"event webhook secret": newWhsec(t),
		"inbound secret":       newWhsec(t),
		"provider api key":     "sk-provider-8c7b6a5d4e3f",
		"trace api key":        "trace-key-1a2b3c4d5e6f",
		"callback token":       "callback-token-77aa88bb",
	}
	if len(dbPassword) >= 6 {
		secrets["database password"] = dbPassword
	} else {
		t.Logf("the test database URL has no password of 6 or more characters to search for")
	}

	otlp := newOTLPReceiver(t)
	hooks := newReceiver(t)
	callbacks := newReceiver(t)
	logs := &syncBuffer{}
	env := startObserved(t, observedConfig{
		apiKey:        secrets["api key"],
		signingSecret: secrets["signing secret"],
		inboundSecret: secrets["inbound secret"],
		eventWebhook: "    event_webhook:\n      url: " + hooks.URL + "/events\n" +
			"      signing_secret: " + secrets["event webhook secret"],
		providers: "      openai:\n        api_key: " + secrets["provider api key"] + "\n        base_url: http://127.0.0.1:9/v1",
		traces:    tracesBlock(otlp.URL+"/v1/traces", secrets["trace api key"], "bearer"),
		database:  "  database:\n    url: " + dbURL + "\n    schema: " + schema + "\n",
		logs:      logs,
	})
	ctx := context.Background()

	// A turn with a tool call, and an event webhook for its events.
	if reply := env.converseOnce(t, "s-secrets", "a refund please"); !strings.Contains(reply, "refunded") {
		t.Fatalf("reply %q, want the refund result", reply)
	}
	hooks.waitCalls(t, 1)

	// A run with a signed callback whose URL carries a token.
	resp := trigger(t, env.client, wire.TriggerRequest{
		Input:       []byte(`{"applicant_id": "app-1"}`),
		CallbackURL: callbacks.URL + "/kyc?token=" + secrets["callback token"],
	})
	waitCallbackState(t, env.client, resp.RunID, "delivered")

	// An inbound webhook signed with its secret, and one with a bad
	// signature.
	key, err := webhook.ParseSecret(secrets["inbound secret"])
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"applicant_id": "app-2"}`)
	headers := webhook.Headers([][]byte{key}, "msg_obs_1", time.Now(), body)
	if status := postWebhook(t, env.url, body, headers); status != http.StatusAccepted {
		t.Fatalf("signed inbound webhook: status %d, want 202", status)
	}
	headers.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString([]byte("not the signature")))
	headers.Set("webhook-id", "msg_obs_2")
	if status := postWebhook(t, env.url, body, headers); status != http.StatusUnauthorized {
		t.Fatalf("badly signed inbound webhook: status %d, want 401", status)
	}

	// A login with the API key, and a request with a wrong one.
	form := url.Values{"api_key": {secrets["api key"]}}
	login, err := http.PostForm(env.url+"/auth/login", form)
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	for _, c := range login.Cookies() {
		secrets["login cookie"] = c.Value
	}
	if _, err := env.client.GetSession(ctx, "s-secrets"); err != nil {
		t.Fatal(err)
	}
	env.shutdown(t)

	data := logs.Bytes()
	lines := parseLogLines(t, data)
	if len(lines) < 10 {
		t.Fatalf("%d log lines, want the debug logs of the whole flow", len(lines))
	}
	otlp.mu.Lock()
	spans := bytes.Join(otlp.bodies, nil)
	otlp.mu.Unlock()
	if len(spans) == 0 {
		t.Fatal("no spans exported")
	}
	for name, secret := range secrets {
		for _, form := range secretForms(secret) {
			if bytes.Contains(data, []byte(form)) {
				t.Errorf("the logs contain the %s (as %q)", name, form)
			}
			if bytes.Contains(spans, []byte(form)) {
				t.Errorf("the exported spans contain the %s (as %q)", name, form)
			}
		}
		if key, ok := strings.CutPrefix(secret, "whsec_"); ok && bytes.Contains(data, []byte(key)) {
			t.Errorf("the logs contain the key of the %s", name)
		}
	}

	// Every line about a turn, a model call or a tool names its session
	// and turn; every line about a run or a callback names its run.
	counts := map[string]int{}
	for _, l := range lines {
		msg := l.str("msg")
		switch {
		case strings.HasPrefix(msg, "run workers"):
			// The worker pool, not one run.
		case strings.HasPrefix(msg, "turn "), strings.HasPrefix(msg, "tool "):
			counts["turn"]++
			if l.str("session_id") == "" || l.str("turn_id") == "" {
				t.Errorf("log line %q lacks session_id or turn_id: %v", msg, l)
			}
		case strings.HasPrefix(msg, "model call"):
			counts["model"]++
			if l.str("run_id") == "" && (l.str("session_id") == "" || l.str("turn_id") == "") {
				t.Errorf("log line %q lacks run_id, or session_id and turn_id: %v", msg, l)
			}
		case strings.HasPrefix(msg, "run "), strings.HasPrefix(msg, "callback "), strings.HasPrefix(msg, "routine node"):
			counts["run"]++
			if l.str("run_id") == "" {
				t.Errorf("log line %q lacks run_id: %v", msg, l)
			}
		case strings.HasPrefix(msg, "event "):
			counts["event"]++
			if l.str("session_id") == "" {
				t.Errorf("log line %q lacks session_id: %v", msg, l)
			}
		}
	}
	for _, kind := range []string{"turn", "model", "run", "event"} {
		if counts[kind] == 0 {
			t.Errorf("no %s log lines; the flow should have logged some", kind)
		}
	}
}

func postWebhook(t *testing.T, base string, body []byte, headers http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/webhooks/kyc-result", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = headers.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
