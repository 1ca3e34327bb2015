package client_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/transport/wire"
)

// apiError returns err as an *APIError and fails the test when it is not
// one.
func apiError(t *testing.T, err error) *client.APIError {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	return ae
}

func TestOpenSession(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	ctx := testContext(t, 10*time.Second)

	first, err := c.OpenSession(ctx, wire.CreateSessionRequest{
		ID:        "s-open",
		Variables: map[string]any{"plan": "pro"},
		Metadata:  map[string]any{"crm": "c-1"},
	})
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	if first.ID != "s-open" {
		t.Errorf("id = %q, want s-open", first.ID)
	}
	if first.Mode != "auto" {
		t.Errorf("mode = %q, want auto", first.Mode)
	}
	if first.Variables["plan"] != "pro" || first.Metadata["crm"] != "c-1" {
		t.Errorf("variables %v, metadata %v: want plan pro and crm c-1", first.Variables, first.Metadata)
	}
	if first.NextOffset != 1 {
		t.Errorf("next_offset = %d, want 1 (the greeting)", first.NextOffset)
	}

	again, err := c.OpenSession(ctx, wire.CreateSessionRequest{ID: "s-open", Variables: map[string]any{"plan": "free"}})
	if err != nil {
		t.Fatalf("OpenSession again: %v", err)
	}
	if !again.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("created_at = %v, want the first session's %v", again.CreatedAt, first.CreatedAt)
	}
	if again.Variables["plan"] != "pro" {
		t.Errorf("variables = %v after a second open, want the first ones kept", again.Variables)
	}
	if again.NextOffset != 1 {
		t.Errorf("next_offset = %d after a second open, want 1 (no second greeting)", again.NextOffset)
	}

	generated := openSession(t, c, wire.CreateSessionRequest{})
	if !strings.HasPrefix(generated.ID, "ses_") {
		t.Errorf("generated id = %q, want prefix ses_", generated.ID)
	}
}

func TestPostMessage(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	sess := openSession(t, c, wire.CreateSessionRequest{})
	ctx := testContext(t, 10*time.Second)

	ev, err := c.PostMessage(ctx, sess.ID, "where is my parcel?")
	if err != nil {
		t.Fatalf("PostMessage: %v", err)
	}
	want := wire.Event{SessionID: sess.ID, Offset: sess.NextOffset, Kind: wire.KindUserMessage,
		Text: "where is my parcel?", Source: wire.SourceCustomer}
	ev.CreatedAt = time.Time{}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("event = %+v, want %+v", ev, want)
	}
	evs := readUntilReady(t, c, sess.ID, ev.Offset+1)
	var reply string
	for _, e := range evs {
		if e.Kind == wire.KindAgentMessage {
			reply = e.Text
		}
	}
	if reply != "echo: where is my parcel?" {
		t.Errorf("reply = %q, want the echo of the message", reply)
	}

	human, err := c.Post(ctx, sess.ID, wire.PostMessageRequest{
		Text: "a colleague here", Source: wire.SourceHumanAgent, Metadata: map[string]any{"agent": "kim"},
	})
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if human.Source != wire.SourceHumanAgent {
		t.Errorf("source = %q, want %q", human.Source, wire.SourceHumanAgent)
	}
	if human.Metadata["agent"] != "kim" {
		t.Errorf("metadata = %v, want agent kim", human.Metadata)
	}
	if human.Offset <= ev.Offset {
		t.Errorf("offset = %d, want after %d", human.Offset, ev.Offset)
	}
}

func TestGetSession(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	opened := openSession(t, c, wire.CreateSessionRequest{ID: "s-get", Variables: map[string]any{"tier": "gold"}})
	postMessage(t, c, opened.ID, "hi")
	evs := readUntilReady(t, c, opened.ID, opened.NextOffset)
	ctx := testContext(t, 10*time.Second)

	got, err := c.GetSession(ctx, opened.ID)
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if got.ID != opened.ID || got.Variables["tier"] != "gold" {
		t.Errorf("session = %+v, want id s-get with tier gold", got)
	}
	if want := opened.NextOffset + int64(len(evs)); got.NextOffset != want {
		t.Errorf("next_offset = %d, want %d", got.NextOffset, want)
	}
	if got.Busy {
		t.Error("busy = true after status ready, want false")
	}

	_, err = c.GetSession(ctx, "no-such-session")
	ae := apiError(t, err)
	if ae.StatusCode != http.StatusNotFound || ae.Code != wire.CodeNotFound {
		t.Errorf("error = %d %s, want 404 %s", ae.StatusCode, ae.Code, wire.CodeNotFound)
	}
	if !strings.Contains(ae.Message, "no-such-session") {
		t.Errorf("message %q does not name the id", ae.Message)
	}
	if !client.IsNotFound(err) {
		t.Error("IsNotFound = false for a 404")
	}
}

func TestUpdateSession(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	sess := openSession(t, c, wire.CreateSessionRequest{
		Variables: map[string]any{"plan": "pro", "tier": "gold"},
		Metadata:  map[string]any{"crm": "c-1"},
	})
	ctx := testContext(t, 10*time.Second)

	manual := "manual"
	updated, err := c.UpdateSession(ctx, sess.ID, wire.PatchSessionRequest{
		Mode:      &manual,
		Variables: map[string]any{"plan": nil, "region": "EU"},
		Metadata:  map[string]any{"ticket": "T-9"},
	})
	if err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	wantVars := map[string]any{"tier": "gold", "region": "EU"}
	wantMeta := map[string]any{"crm": "c-1", "ticket": "T-9"}
	if updated.Mode != manual {
		t.Errorf("mode = %q, want manual", updated.Mode)
	}
	if !reflect.DeepEqual(updated.Variables, wantVars) {
		t.Errorf("variables = %v, want %v", updated.Variables, wantVars)
	}
	if !reflect.DeepEqual(updated.Metadata, wantMeta) {
		t.Errorf("metadata = %v, want %v", updated.Metadata, wantMeta)
	}
	got, err := c.GetSession(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode != manual || !reflect.DeepEqual(got.Variables, wantVars) {
		t.Errorf("stored session = mode %q variables %v, want the update", got.Mode, got.Variables)
	}

	bad := "sometimes"
	_, err = c.UpdateSession(ctx, sess.ID, wire.PatchSessionRequest{Mode: &bad})
	if ae := apiError(t, err); ae.StatusCode != http.StatusUnprocessableEntity || len(ae.Details) != 1 || ae.Details[0].Path != "/mode" {
		t.Errorf("invalid mode: %v, want 422 with a detail on mode", err)
	}
	_, err = c.UpdateSession(ctx, "no-such-session", wire.PatchSessionRequest{Mode: &manual})
	if !client.IsNotFound(err) {
		t.Errorf("unknown session: %v, want a 404", err)
	}
}

func TestDeleteSession(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	sess := openSession(t, c, wire.CreateSessionRequest{ID: "s-delete"})
	ctx := testContext(t, 10*time.Second)

	if err := c.DeleteSession(ctx, sess.ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, err := c.GetSession(ctx, sess.ID); !client.IsNotFound(err) {
		t.Errorf("GetSession after delete: %v, want a 404", err)
	}
	if err := c.DeleteSession(ctx, sess.ID); !client.IsNotFound(err) {
		t.Errorf("second delete: %v, want a 404", err)
	}
	_, err := c.OpenSession(ctx, wire.CreateSessionRequest{ID: sess.ID})
	if ae := apiError(t, err); ae.StatusCode != http.StatusConflict || ae.Code != wire.CodeConflict {
		t.Errorf("reopening a deleted id: %d %s, want 409 %s", ae.StatusCode, ae.Code, wire.CodeConflict)
	}
}

func TestPutCustomer(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	ctx := testContext(t, 10*time.Second)

	first, err := c.PutCustomer(ctx, "cust-1", wire.PutCustomerRequest{
		Name:      "Ada",
		Variables: map[string]any{"tier": "gold"},
		Metadata:  map[string]any{"crm": "c-1"},
	})
	if err != nil {
		t.Fatalf("PutCustomer: %v", err)
	}
	if first.ID != "cust-1" || first.Name != "Ada" {
		t.Errorf("customer = %+v, want id cust-1 named Ada", first)
	}
	if first.Variables["tier"] != "gold" || first.Metadata["crm"] != "c-1" {
		t.Errorf("variables %v, metadata %v: want tier gold and crm c-1", first.Variables, first.Metadata)
	}

	second, err := c.PutCustomer(ctx, "cust-1", wire.PutCustomerRequest{Name: "Ada Lovelace", Variables: map[string]any{"plan": "pro"}})
	if err != nil {
		t.Fatalf("PutCustomer again: %v", err)
	}
	if second.Name != "Ada Lovelace" {
		t.Errorf("name = %q, want the new one", second.Name)
	}
	if !reflect.DeepEqual(second.Variables, map[string]any{"plan": "pro"}) {
		t.Errorf("variables = %v, want them replaced by plan pro", second.Variables)
	}
	if !second.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("created_at = %v, want the first put's %v", second.CreatedAt, first.CreatedAt)
	}

	sess := openSession(t, c, wire.CreateSessionRequest{CustomerID: "cust-1"})
	if sess.CustomerID != "cust-1" {
		t.Errorf("session customer_id = %q, want cust-1", sess.CustomerID)
	}

	_, err = c.PutCustomer(ctx, "bad id", wire.PutCustomerRequest{Name: "x"})
	if ae := apiError(t, err); ae.StatusCode != http.StatusBadRequest || ae.Code != wire.CodeInvalidParameter {
		t.Errorf("invalid id: %d %s, want 400 %s", ae.StatusCode, ae.Code, wire.CodeInvalidParameter)
	}
}

func TestCancelTurn(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	sess := openSession(t, c, wire.CreateSessionRequest{})
	ctx := testContext(t, 20*time.Second)

	idle, err := c.CancelTurn(ctx, sess.ID)
	if err != nil {
		t.Fatalf("CancelTurn on an idle session: %v", err)
	}
	if idle {
		t.Error("CancelTurn on an idle session = true, want false")
	}

	posted := postMessage(t, c, sess.ID, "slow reply please")
	// Wait until the model call is in flight.
	var before []wire.Event
	for ev, err := range c.Events(ctx, sess.ID, posted.Offset, client.PollOptions{Wait: 5 * time.Second}) {
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		before = append(before, ev)
		if ev.Kind == wire.KindStatus && ev.Status == wire.StatusTyping {
			break
		}
	}
	cancelled, err := c.CancelTurn(ctx, sess.ID)
	if err != nil {
		t.Fatalf("CancelTurn: %v", err)
	}
	if !cancelled {
		t.Fatal("CancelTurn on a running turn = false, want true")
	}
	after := readUntilReady(t, c, sess.ID, before[len(before)-1].Offset+1)
	if !hasStatus(after, wire.StatusCancelled) {
		t.Errorf("events after cancel = %s, want status cancelled", kinds(after))
	}
	for _, ev := range after {
		if ev.Kind == wire.KindAgentMessage {
			t.Errorf("cancelled turn replied %q", ev.Text)
		}
	}
	if _, err := c.CancelTurn(ctx, "no-such-session"); !client.IsNotFound(err) {
		t.Errorf("unknown session: %v, want a 404", err)
	}
}

func TestAPIErrorValidation(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	_, err := c.OpenSession(testContext(t, 10*time.Second), wire.CreateSessionRequest{
		ID:         "bad id!",
		CustomerID: "also bad",
		Mode:       "sometimes",
		WebhookURL: "not-a-url",
	})

	ae := apiError(t, err)
	if ae.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("status = %d, want 422", ae.StatusCode)
	}
	if ae.Code != wire.CodeValidationFailed {
		t.Errorf("code = %q, want %q", ae.Code, wire.CodeValidationFailed)
	}
	if ae.Message == "" {
		t.Error("message is empty")
	}
	var paths []string
	for _, d := range ae.Details {
		paths = append(paths, d.Path)
		if d.Message == "" {
			t.Errorf("detail %q has no message", d.Path)
		}
	}
	wantPaths := []string{"/id", "/customer_id", "/mode", "/webhook_url"}
	if !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("detail paths = %q, want %q", paths, wantPaths)
	}

	text := err.Error()
	for _, d := range ae.Details {
		if !strings.Contains(text, d.Path+": "+d.Message) {
			t.Errorf("Error() = %q lacks detail %q", text, d.Path)
		}
	}
	if client.IsNotFound(err) {
		t.Error("IsNotFound = true for a 422")
	}
}

func TestAPIErrorPlainBody(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		http.Error(w, "upstream is restarting", http.StatusServiceUnavailable)
	}))
	t.Cleanup(proxy.Close)
	_, err := client.New(proxy.URL, testKey).GetSession(testContext(t, 5*time.Second), "s-1")
	ae := apiError(t, err)
	want := client.APIError{
		StatusCode: http.StatusServiceUnavailable,
		Code:       http.StatusText(http.StatusServiceUnavailable),
		Message:    "upstream is restarting",
		RetryAfter: 7 * time.Second,
	}
	if !reflect.DeepEqual(*ae, want) {
		t.Errorf("error = %+v, want %+v", *ae, want)
	}
}

func TestIsNotFound(t *testing.T) {
	notFound := &client.APIError{StatusCode: http.StatusNotFound, Code: wire.CodeNotFound}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"404", notFound, true},
		{"wrapped 404", fmt.Errorf("loading session: %w", notFound), true},
		{"422", &client.APIError{StatusCode: http.StatusUnprocessableEntity}, false},
		{"transport error", errors.New("connection refused"), false},
		{"nil", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := client.IsNotFound(tc.err); got != tc.want {
				t.Errorf("IsNotFound(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestNewBaseURLWithPrefix(t *testing.T) {
	ts := startServer(t)
	mux := http.NewServeMux()
	mux.Handle("/agent/", http.StripPrefix("/agent", ts.agent))
	base := ts.serve(t, mux) + "/agent/"
	sess, err := client.New(base, testKey).OpenSession(testContext(t, 5*time.Second), wire.CreateSessionRequest{ID: "s-prefix"})
	if err != nil {
		t.Fatalf("OpenSession under /agent/: %v", err)
	}
	if sess.ID != "s-prefix" {
		t.Errorf("id = %q, want s-prefix", sess.ID)
	}
}

// countingTransport counts the requests it passes to the default
// transport.
type countingTransport struct{ n atomic.Int64 }

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ct.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestWithHTTPClient(t *testing.T) {
	ts := startServer(t)
	ct := &countingTransport{}
	c := client.New(ts.url, testKey, client.WithHTTPClient(&http.Client{Transport: ct}))
	sess := openSession(t, c, wire.CreateSessionRequest{})
	if _, err := c.GetSession(testContext(t, 5*time.Second), sess.ID); err != nil {
		t.Fatal(err)
	}
	if got := ct.n.Load(); got != 2 {
		t.Errorf("requests through the given client = %d, want 2", got)
	}
}
