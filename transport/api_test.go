package transport_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentry/agentry/transport/wire"
)

func TestConversationEvents(t *testing.T) {
	e := setup(t, demoManifest, "")
	s := e.open(wire.CreateSessionRequest{})
	if !strings.HasPrefix(s.ID, "ses_") {
		t.Errorf("server-chosen id %q lacks the ses_ prefix", s.ID)
	}

	msg := e.post(s.ID, "Hello there")
	if msg.Kind != wire.KindUserMessage || msg.Source != wire.SourceCustomer || msg.Offset != 0 {
		t.Fatalf("stored message = %+v", msg)
	}
	evs := e.waitReady(s.ID, 1, 1)

	var got []string
	for _, ev := range evs {
		k := ev.Kind
		if ev.Status != "" {
			k += ":" + ev.Status
		}
		got = append(got, k)
	}
	want := []string{"status:acknowledged", "status:processing", "status:typing", "agent_message", "status:ready"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events = %v, want %v", got, want)
	}
	turnID := evs[0].TurnID
	for i, ev := range evs {
		if ev.Offset != int64(i+1) {
			t.Errorf("event %d has offset %d, want %d", i, ev.Offset, i+1)
		}
		if ev.TurnID != turnID || !strings.HasPrefix(turnID, "trn_") {
			t.Errorf("event %d turn_id = %q, want %q with prefix trn_", i, ev.TurnID, turnID)
		}
		if ev.SessionID != s.ID {
			t.Errorf("event %d session_id = %q", i, ev.SessionID)
		}
	}
	if evs[3].Text == "" {
		t.Error("agent_message has no text")
	}
}

func TestGreetingIsFirstEvent(t *testing.T) {
	e := setup(t, demoManifest+"    greeting: Welcome to the test desk.\n", "")
	s := e.open(wire.CreateSessionRequest{ID: "greet-1"})
	page := e.poll(s.ID, "wait=0")
	if len(page.Events) != 1 {
		t.Fatalf("events = %s, want the greeting alone", kinds(page.Events))
	}
	g := page.Events[0]
	if g.Kind != wire.KindAgentMessage || g.Text != "Welcome to the test desk." || g.Offset != 0 {
		t.Errorf("greeting = %+v", g)
	}
	if s.NextOffset != 1 {
		t.Errorf("next_offset = %d, want 1", s.NextOffset)
	}
}

func TestOpenSessionIdempotent(t *testing.T) {
	e := setup(t, demoManifest, "")
	first := e.do("POST", "/sessions", wire.CreateSessionRequest{ID: "s-1", Metadata: map[string]any{"crm": "7"}})
	if first.status != http.StatusCreated {
		t.Fatalf("first open: %d %s", first.status, first.body)
	}
	again := e.do("POST", "/sessions", wire.CreateSessionRequest{ID: "s-1"})
	if again.status != http.StatusOK {
		t.Fatalf("second open: %d, want 200", again.status)
	}
	var s wire.Session
	again.decode(t, &s)
	if s.Metadata["crm"] != "7" {
		t.Errorf("second open changed the session: metadata %v", s.Metadata)
	}
}

func TestDeletedSessionIDNotReused(t *testing.T) {
	e := setup(t, demoManifest, "")
	e.open(wire.CreateSessionRequest{ID: "gone"})
	if r := e.do("DELETE", "/sessions/gone", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/sessions/gone", nil); r.status != http.StatusNotFound {
		t.Errorf("get after delete: %d, want 404", r.status)
	}
	r := e.do("POST", "/sessions", wire.CreateSessionRequest{ID: "gone"})
	if r.status != http.StatusConflict || r.errorCode(t).Code != wire.CodeConflict {
		t.Errorf("reopen deleted id: %d %s, want 409 conflict", r.status, r.body)
	}
}

func TestListSessionsCursor(t *testing.T) {
	e := setup(t, demoManifest, "")
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		e.open(wire.CreateSessionRequest{ID: id, CustomerID: "cust-a"})
	}
	e.open(wire.CreateSessionRequest{ID: "b1", CustomerID: "cust-b"})

	var seen []string
	cursor := ""
	for range 10 {
		r := e.do("GET", "/sessions?customer_id=cust-a&limit=2&cursor="+cursor, nil)
		if r.status != http.StatusOK {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		var page wire.SessionList
		r.decode(t, &page)
		for _, s := range page.Sessions {
			seen = append(seen, s.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if got := strings.Join(seen, ","); got != "a1,a2,a3,a4,a5" {
		t.Errorf("listed %s, want a1..a5 in order", got)
	}
	if r := e.do("GET", "/sessions?cursor=garbage", nil); r.status != http.StatusBadRequest {
		t.Errorf("bad cursor: %d, want 400", r.status)
	}
}

func TestPatchSessionMode(t *testing.T) {
	e := setup(t, demoManifest, "")
	s := e.open(wire.CreateSessionRequest{Variables: map[string]any{"a": 1, "b": 2}})
	manual := "manual"
	r := e.do("PATCH", "/sessions/"+s.ID, wire.PatchSessionRequest{Mode: &manual, Variables: map[string]any{"a": nil, "c": 3}})
	if r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	var got wire.Session
	r.decode(t, &got)
	if got.Mode != "manual" {
		t.Errorf("mode = %q", got.Mode)
	}
	if _, ok := got.Variables["a"]; ok {
		t.Errorf("variable a not deleted by null: %v", got.Variables)
	}
	if got.Variables["c"] == nil || got.Variables["b"] == nil {
		t.Errorf("variables after merge = %v", got.Variables)
	}
	page := e.poll(s.ID, "wait=0&kinds=mode")
	if len(page.Events) != 1 || page.Events[0].Mode != "manual" {
		t.Errorf("mode events = %s", kinds(page.Events))
	}

	// In manual mode a customer message is stored and starts no turn.
	e.post(s.ID, "is anyone there?")
	page = e.poll(s.ID, "wait=0.3&kinds=status&min_offset="+itoa(page.NextOffset))
	if len(page.Events) != 0 {
		t.Errorf("manual session ran a turn: %s", kinds(page.Events))
	}
}

func TestCustomers(t *testing.T) {
	e := setup(t, demoManifest, "")
	r := e.do("PUT", "/customers/c-9", wire.PutCustomerRequest{Name: "Ada", Variables: map[string]any{"tier": "gold"}})
	if r.status != http.StatusCreated {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/customers/c-9", wire.PutCustomerRequest{Name: "Ada L."}); r.status != http.StatusOK {
		t.Errorf("second put: %d, want 200", r.status)
	}
	r = e.do("PATCH", "/customers/c-9/metadata", map[string]any{"crm_id": "x1"})
	if r.status != http.StatusOK {
		t.Fatalf("patch metadata: %d %s", r.status, r.body)
	}
	var c wire.Customer
	e.do("GET", "/customers/c-9", nil).decode(t, &c)
	if c.Name != "Ada L." || c.Metadata["crm_id"] != "x1" {
		t.Errorf("customer = %+v", c)
	}
	if r := e.do("GET", "/customers/nobody", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown customer: %d, want 404", r.status)
	}
	if r := e.do("PATCH", "/customers/nobody/variables", map[string]any{"a": 1}); r.status != http.StatusNotFound {
		t.Errorf("patch unknown customer: %d, want 404", r.status)
	}
}

func TestHealth(t *testing.T) {
	e := setup(t, demoManifest, "")
	for _, path := range []string{"/health", "/health/live", "/health/ready"} {
		r := e.doWith("GET", path, nil, nil)
		if r.status != http.StatusOK {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
}

func TestCancelRunningTurn(t *testing.T) {
	script := `
- when: {user_matches: "slow"}
  reply: {text: "too late"}
  delay: 30s
`
	e := setup(t, scriptManifest("interrupt"), script)
	s := e.open(wire.CreateSessionRequest{})
	e.post(s.ID, "slow please")
	// Wait until the model call is in flight.
	page := e.poll(s.ID, "kinds=status&wait=5&min_offset=0")
	for !hasStatus(page.Events, wire.StatusTyping) {
		page = e.poll(s.ID, "kinds=status&wait=5&min_offset="+itoa(page.NextOffset))
	}
	r := e.do("POST", "/sessions/"+s.ID+"/cancel", nil)
	var res wire.CancelResult
	r.decode(t, &res)
	if r.status != http.StatusOK || !res.Cancelled {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	evs := e.waitReady(s.ID, page.NextOffset, 1)
	if !hasStatus(evs, wire.StatusCancelled) {
		t.Errorf("no cancelled status: %s", kinds(evs))
	}
	for _, ev := range evs {
		if ev.Kind == wire.KindAgentMessage {
			t.Errorf("cancelled turn replied: %s", kinds(evs))
		}
	}
}

func hasStatus(evs []wire.Event, status string) bool {
	for _, ev := range evs {
		if ev.Kind == wire.KindStatus && ev.Status == status {
			return true
		}
	}
	return false
}

func TestModelFailureReportsError(t *testing.T) {
	script := `
- when: {user_matches: "known"}
  reply: {text: "fine"}
`
	e := setup(t, scriptManifest("interrupt"), script)
	s := e.open(wire.CreateSessionRequest{})
	e.post(s.ID, "something the script does not cover")
	evs := e.waitReady(s.ID, 1, 1)
	var errEv *wire.Event
	for i := range evs {
		if evs[i].Status == wire.StatusError {
			errEv = &evs[i]
		}
	}
	if errEv == nil || errEv.Error == nil || errEv.Error.Code != "model_error" {
		t.Fatalf("no status error with code model_error: %s", kinds(evs))
	}
	last := evs[len(evs)-1]
	if last.Status != wire.StatusReady {
		t.Errorf("last event = %s, want status ready", kinds(evs[len(evs)-1:]))
	}

	// The session is usable again after the failure.
	e.post(s.ID, "known question")
	evs = e.waitReady(s.ID, last.Offset+1, 1)
	if !containsText(evs, "fine") {
		t.Errorf("second turn: %s", kinds(evs))
	}
}

func containsText(evs []wire.Event, text string) bool {
	for _, ev := range evs {
		if ev.Kind == wire.KindAgentMessage && ev.Text == text {
			return true
		}
	}
	return false
}

func TestUnderPathPrefix(t *testing.T) {
	e := setup(t, demoManifest, "")
	mux := http.NewServeMux()
	mux.Handle("/agent/", http.StripPrefix("/agent", e.srv))
	outer := httptest.NewServer(mux)
	defer outer.Close()
	prefixed := &env{t: t, srv: e.srv, http: outer, url: outer.URL + "/agent"}

	s := prefixed.open(wire.CreateSessionRequest{ID: "prefixed"})
	prefixed.post(s.ID, "hello")
	evs := prefixed.waitReady(s.ID, 1, 1)
	if len(evs) == 0 {
		t.Fatal("no events under the prefix")
	}
	r := prefixed.do("GET", "/nothing-here", nil)
	if r.status != http.StatusNotFound || r.errorCode(t).Code != wire.CodeNotFound {
		t.Errorf("unknown route under prefix: %d %s", r.status, r.body)
	}
}
