package client_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

var (
	receiverKey    = []byte("receiver-key-receiver-key-0123456")
	receiverSecret = webhook.SecretPrefix + base64.StdEncoding.EncodeToString(receiverKey)
	oldKey         = []byte("old-key-old-key-old-key-012345678")
	oldSecret      = webhook.SecretPrefix + base64.StdEncoding.EncodeToString(oldKey)
)

const receiverToken = "receiver-token-0123"

const eventBody = `{"session_id":"s-1","offset":3,"kind":"agent_message","created_at":"2026-12-04T10:00:02Z","text":"Your card shipped.","citations":[]}`

// eventRequest builds a webhook POST of body signed with keys at ts.
func eventRequest(body string, keys [][]byte, ts time.Time, edit func(r *http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	for k, v := range webhook.Headers(keys, "evt_s-1_3", ts, []byte(body)) {
		r.Header[k] = v
	}
	r.Header.Set("Authorization", "Bearer "+receiverToken)
	r.Header.Set("x-session-id", "s-1")
	r.Header.Set("Content-Type", "application/json")
	if edit != nil {
		edit(r)
	}
	return r
}

func TestReceiverVerify(t *testing.T) {
	now := time.Now()
	keys := [][]byte{receiverKey}
	rc := &client.Receiver{Token: receiverToken, Secrets: []string{oldSecret, receiverSecret}, MaxBodyBytes: 1024}
	tests := []struct {
		name string
		req  *http.Request
		rc   *client.Receiver
		want error
	}{
		{"valid", eventRequest(eventBody, keys, now, nil), rc, nil},
		{"rotated key", eventRequest(eventBody, [][]byte{oldKey}, now, nil), rc, nil},
		{"token only", eventRequest(eventBody, nil, now, nil), &client.Receiver{Token: receiverToken}, nil},
		{"signature only", eventRequest(eventBody, keys, now, func(r *http.Request) { r.Header.Del("Authorization") }),
			&client.Receiver{Secrets: []string{receiverSecret}}, nil},
		{"wrong token", eventRequest(eventBody, keys, now, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+receiverToken+"x")
		}), rc, client.ErrUnauthorized},
		{"no token", eventRequest(eventBody, keys, now, func(r *http.Request) { r.Header.Del("Authorization") }),
			rc, client.ErrUnauthorized},
		{"unknown key", eventRequest(eventBody, [][]byte{[]byte("another-key-another-key-01234567")}, now, nil),
			rc, client.ErrUnauthorized},
		{"unsigned", eventRequest(eventBody, nil, now, nil), rc, client.ErrUnauthorized},
		{"old timestamp", eventRequest(eventBody, keys, now.Add(-10*time.Minute), nil), rc, client.ErrUnauthorized},
		{"future timestamp", eventRequest(eventBody, keys, now.Add(10*time.Minute), nil), rc, client.ErrUnauthorized},
		{"tampered body", eventRequest(eventBody, keys, now, func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(eventBody, "shipped", "lost", 1)))
		}), rc, client.ErrUnauthorized},
		{"nothing to check", eventRequest(eventBody, keys, now, nil), &client.Receiver{}, client.ErrUnauthorized},
		{"invalid secret", eventRequest(eventBody, keys, now, nil), &client.Receiver{Secrets: []string{"whsec_!!"}},
			client.ErrUnauthorized},
		{"body too large", eventRequest(eventBody+strings.Repeat(" ", 1024), keys, now, nil), rc, client.ErrBodyTooLarge},
		{"body at the limit", eventRequest(eventBody+strings.Repeat(" ", 1024-len(eventBody)), keys, now, nil), rc, nil},
		{"one byte over", eventRequest(eventBody+strings.Repeat(" ", 1025-len(eventBody)), keys, now, nil), rc,
			client.ErrBodyTooLarge},
		{"GET", eventRequest(eventBody, keys, now, func(r *http.Request) { r.Method = http.MethodGet }),
			rc, client.ErrInvalidEvent},
		{"other session header", eventRequest(eventBody, keys, now, func(r *http.Request) {
			r.Header.Set("x-session-id", "s-2")
		}), rc, client.ErrInvalidEvent},
		{"other event id", eventRequest(eventBody, keys, now, func(r *http.Request) {
			r.Header.Set(webhook.HeaderID, "evt_s-1_4")
			r.Header.Set(webhook.HeaderSignature, webhook.Sign(receiverKey, "evt_s-1_4", now, []byte(eventBody)))
		}), rc, client.ErrInvalidEvent},
		{"not an event", eventRequest(`[1,2]`, keys, now, func(r *http.Request) {
			r.Header.Set(webhook.HeaderSignature, webhook.Sign(receiverKey, "evt_s-1_3", now, []byte(`[1,2]`)))
		}), rc, client.ErrInvalidEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := tt.rc.Verify(tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil {
				if strings.Contains(err.Error(), receiverToken) || strings.Contains(err.Error(), receiverSecret) {
					t.Errorf("error %q contains a secret", err)
				}
				return
			}
			if ev.SessionID != "s-1" || ev.Offset != 3 || ev.Text != "Your card shipped." {
				t.Errorf("event = %+v, want s-1 at offset 3 with its text", ev)
			}
		})
	}
}

func TestVerifyEvent(t *testing.T) {
	ev, err := client.VerifyEvent(eventRequest(eventBody, [][]byte{receiverKey}, time.Now(), nil), receiverToken, receiverSecret)
	if err != nil {
		t.Fatalf("VerifyEvent: %v", err)
	}
	if ev.Kind != wire.KindAgentMessage || ev.Offset != 3 {
		t.Errorf("event = %s at %d, want agent_message at 3", ev.Kind, ev.Offset)
	}
	_, err = client.VerifyEvent(eventRequest(eventBody, [][]byte{receiverKey}, time.Now(), nil), "other-token", receiverSecret)
	if !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("VerifyEvent with another token = %v, want ErrUnauthorized", err)
	}
}

func TestReceiverHandler(t *testing.T) {
	rc := &client.Receiver{Token: receiverToken, Secrets: []string{receiverSecret}, MaxBodyBytes: 1024}
	fail := errors.New("database down")
	tests := []struct {
		name      string
		req       *http.Request
		handleErr error
		want      int
	}{
		{"accepted", eventRequest(eventBody, [][]byte{receiverKey}, time.Now(), nil), nil, http.StatusNoContent},
		{"handler failed", eventRequest(eventBody, [][]byte{receiverKey}, time.Now(), nil), fail, http.StatusInternalServerError},
		{"unauthorized", eventRequest(eventBody, nil, time.Now(), nil), nil, http.StatusUnauthorized},
		{"too large", eventRequest(eventBody+strings.Repeat(" ", 1024), [][]byte{receiverKey}, time.Now(), nil), nil,
			http.StatusRequestEntityTooLarge},
		{"invalid", eventRequest(eventBody, [][]byte{receiverKey}, time.Now(), func(r *http.Request) {
			r.Header.Set("x-session-id", "s-2")
		}), nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []wire.Event
			h := rc.Handler(func(ctx context.Context, ev wire.Event) error {
				got = append(got, ev)
				return tt.handleErr
			})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tt.req)
			if w.Code != tt.want {
				t.Errorf("status = %d, want %d", w.Code, tt.want)
			}
			if tt.want == http.StatusUnauthorized && w.Body.Len() != 0 {
				t.Errorf("401 body = %q, want empty", w.Body.String())
			}
			wantCalls := 0
			if tt.want == http.StatusNoContent || tt.want == http.StatusInternalServerError {
				wantCalls = 1
			}
			if len(got) != wantCalls {
				t.Errorf("handle called %d times, want %d", len(got), wantCalls)
			}
		})
	}
}

// webhookManifest signs events with receiverSecret and lets session
// webhook URLs reach 127.0.0.1.
const webhookManifest = `
id: webhook-test
name: Webhook test agent
agent_config:
  runtime:
    api_key: ` + testKey + `
    signing_secret: SECRET
    outbound:
      allow_hosts: ["127.0.0.1"]
  llms:
    default: scripted/demo
  context:
    greeting: Welcome!
`

// TestReceiverWithServer opens a session through WithWebhookURL and
// receives its events from a real server through a Receiver.
func TestReceiverWithServer(t *testing.T) {
	yaml := strings.ReplaceAll(webhookManifest, "SECRET", receiverSecret)
	m, err := manifest.Parse([]byte(yaml), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := agentry.New(m, agentry.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	api := httptest.NewServer(srv)
	t.Cleanup(api.Close)

	var mu sync.Mutex
	var got []wire.Event
	rc := &client.Receiver{Token: testKey, Secrets: []string{receiverSecret}}
	hooks := httptest.NewServer(rc.Handler(func(ctx context.Context, ev wire.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev)
		return nil
	}))
	t.Cleanup(hooks.Close)

	c := client.New(api.URL, testKey, client.WithWebhookURL(hooks.URL+"/events"))
	ctx := testContext(t, 20*time.Second)
	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if sess.WebhookURL != hooks.URL+"/events" || sess.Webhook == nil {
		t.Fatalf("session webhook = %q %+v, want the client's URL and a delivery state", sess.WebhookURL, sess.Webhook)
	}
	if _, err := c.PostMessage(ctx, sess.ID, "Hello!"); err != nil {
		t.Fatal(err)
	}

	var polled []wire.Event
	for ev, err := range c.Events(ctx, sess.ID, 0, client.PollOptions{Wait: 5 * time.Second}) {
		if err != nil {
			t.Fatal(err)
		}
		polled = append(polled, ev)
		if ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady {
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(polled) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(polled) {
		t.Fatalf("receiver got %d events, long-poll %d", len(got), len(polled))
	}
	for i := range polled {
		want, _ := jsonOf(polled[i])
		have, _ := jsonOf(got[i])
		if !bytes.Equal(want, have) {
			t.Errorf("event %d: webhook %s, long-poll %s", i, have, want)
		}
	}
	s, err := c.GetSession(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Webhook == nil || s.Webhook.State != wire.DeliveryActive {
		t.Errorf("webhook state = %+v, want active", s.Webhook)
	}
}

func jsonOf(ev wire.Event) ([]byte, error) { return ev.MarshalJSON() }
