package sink_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/transport/outbound"
	"github.com/agentry/agentry/transport/sink"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

var testKey = []byte("sink-test-key-sink-test-key-01234")

func newTestWebhook(t *testing.T) *sink.Webhook {
	t.Helper()
	client, err := outbound.NewClient(outbound.Config{AllowHosts: []string{"127.0.0.1"}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := sink.NewWebhook(sink.WebhookConfig{Client: client, BearerToken: "tok", SigningKeys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	return hook
}

func TestEventID(t *testing.T) {
	tests := []struct {
		session string
		offset  int64
		want    string
	}{
		{"s-1", 0, "evt_s-1_0"},
		{"ses_abc", 42, "evt_ses_abc_42"},
		{"a_1", 2, "evt_a_1_2"},
	}
	for _, tt := range tests {
		if got := sink.EventID(tt.session, tt.offset); got != tt.want {
			t.Errorf("EventID(%q, %d) = %q, want %q", tt.session, tt.offset, got, tt.want)
		}
	}
}

func TestWebhookReceiverKey(t *testing.T) {
	hook := newTestWebhook(t)
	tests := []struct {
		url  string
		want string
	}{
		{"https://Hooks.Example.com/a?token=x", "https://hooks.example.com"},
		{"https://hooks.example.com:8443/b", "https://hooks.example.com:8443"},
		{"http://127.0.0.1:9000/c", "http://127.0.0.1:9000"},
	}
	for _, tt := range tests {
		if got := hook.ReceiverKey(sink.Target{URL: tt.url}); got != tt.want {
			t.Errorf("ReceiverKey(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestWebhookDeliverOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		kind       outbound.Kind
		status     int
		retryAfter time.Duration
		errPart    string
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) },
			outbound.Delivered, http.StatusAccepted, 0, ""},
		{"gone", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) },
			outbound.Gone, http.StatusGone, 0, "410"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) },
			outbound.Retry, http.StatusFound, 0, "redirects are not followed"},
		{"unavailable", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
		}, outbound.Retry, http.StatusServiceUnavailable, 7 * time.Second, "503"},
		{"unauthorized", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) },
			outbound.Retry, http.StatusUnauthorized, 0, "401"},
		{"cut response", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("short"))
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, outbound.Retry, http.StatusOK, 0, "closed before the response was complete"},
	}
	hook := newTestWebhook(t)
	ev := wire.Event{SessionID: "s-1", Offset: 3, Kind: wire.KindStatus, Status: wire.StatusReady}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			res := hook.Deliver(context.Background(), sink.Target{SessionID: "s-1", URL: srv.URL}, ev, []byte(`{}`))
			if res.Kind != tt.kind || res.StatusCode != tt.status || res.RetryAfter != tt.retryAfter {
				t.Errorf("Deliver = kind %v status %d retry-after %s, want %v %d %s",
					res.Kind, res.StatusCode, res.RetryAfter, tt.kind, tt.status, tt.retryAfter)
			}
			if !strings.Contains(res.Error, tt.errPart) {
				t.Errorf("Deliver error = %q, want it to contain %q", res.Error, tt.errPart)
			}
		})
	}
}

func TestWebhookDeliverHeaders(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	hook := newTestWebhook(t)
	ev := wire.Event{SessionID: "s-9", Offset: 12, Kind: wire.KindStatus, Status: wire.StatusReady}
	payload := []byte(`{"session_id":"s-9","offset":12}`)
	res := hook.Deliver(context.Background(), sink.Target{SessionID: "s-9", URL: srv.URL + "/x"}, ev, payload)
	if res.Kind != outbound.Delivered {
		t.Fatalf("Deliver = %+v, want delivered", res)
	}

	checks := map[string]string{
		"Authorization":  "Bearer tok",
		"x-session-id":   "s-9",
		"Content-Type":   "application/json",
		webhook.HeaderID: "evt_s-9_12",
	}
	for name, want := range checks {
		if v := got.Header.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if string(body) != string(payload) {
		t.Errorf("body = %s, want %s", body, payload)
	}
	err := webhook.Verify([][]byte{testKey}, got.Header.Get(webhook.HeaderID), got.Header.Get(webhook.HeaderTimestamp),
		got.Header.Get(webhook.HeaderSignature), body, time.Now(), 0)
	if err != nil {
		t.Errorf("signature: %v", err)
	}
}

func TestWebhookDeliverBlocked(t *testing.T) {
	client, err := outbound.NewClient(outbound.Config{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := sink.NewWebhook(sink.WebhookConfig{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if conn, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			conn.Close()
		}
	}()
	ev := wire.Event{SessionID: "s-1", Kind: wire.KindStatus}
	res := hook.Deliver(context.Background(), sink.Target{URL: "http://" + ln.Addr().String() + "/secret-path"}, ev, []byte(`{}`))
	if res.Kind != outbound.Retry || !strings.Contains(res.Error, "blocked") {
		t.Errorf("Deliver to loopback without allow = %+v, want a blocked retry", res)
	}
	if strings.Contains(res.Error, "secret-path") {
		t.Errorf("error %q contains the URL path", res.Error)
	}
	select {
	case <-accepted:
		t.Error("the guarded client connected to a loopback address")
	case <-time.After(50 * time.Millisecond):
	}

	if res := hook.Deliver(context.Background(), sink.Target{}, ev, nil); res.Kind != outbound.Retry {
		t.Errorf("Deliver without a URL = %+v, want retry", res)
	}
	if _, err := sink.NewWebhook(sink.WebhookConfig{}); err == nil {
		t.Error("NewWebhook without a client succeeded, want an error")
	}
}

func TestResultHelpers(t *testing.T) {
	if r := sink.Delivered(); r.Kind != outbound.Delivered {
		t.Errorf("Delivered().Kind = %v", r.Kind)
	}
	if r := sink.Retry("busy", time.Minute); r.Kind != outbound.Retry || r.Error != "busy" || r.RetryAfter != time.Minute {
		t.Errorf("Retry = %+v", r)
	}
	if r := sink.Gone("archived"); r.Kind != outbound.Gone || r.Error != "archived" {
		t.Errorf("Gone = %+v", r)
	}
}
