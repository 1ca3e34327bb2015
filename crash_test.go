package agentry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/transport/wire"
)

// tcpProxy forwards loopback TCP connections to a fixed target, and can
// drop every connection and stop listening to imitate a database
// outage.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

// newTCPProxy starts a proxy on a free loopback port that forwards to
// target. It stops when the test ends.
func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{t: t, target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: listening: %v", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Stop)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(down)
		}
	}()
}

// forward copies bytes both ways between down and a new connection to
// the target until either side closes.
func (p *tcpProxy) forward(down net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		down.Close()
		return
	}
	if !p.track(down, up) {
		down.Close()
		up.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, down); done <- struct{}{} }()
	go func() { _, _ = io.Copy(down, up); done <- struct{}{} }()
	<-done
	down.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, down)
	delete(p.conns, up)
	p.mu.Unlock()
}

// track records the connections of a forward, or returns false when the
// proxy was stopped in the meantime.
func (p *tcpProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// Stop closes the listener and every forwarded connection.
func (p *tcpProxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Start listens again on the proxy's address after Stop.
func (p *tcpProxy) Start() {
	p.t.Helper()
	var ln net.Listener
	var err error
	// The port was just released, so another program taking it in
	// between is unlikely but possible: retry briefly.
	for range 50 {
		ln, err = net.Listen("tcp", p.addr)
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listening again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// postgresTarget parses dbURL and returns it with the host:port it
// connects to.
func postgresTarget(t *testing.T, dbURL string) (*url.URL, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		t.Fatalf("the test database URL must be a postgres:// URL with a host to put a proxy in front of it (parse error: %v)", err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	return u, target
}

// isUnavailable reports whether err is a 503 response of the server.
func isUnavailable(err error) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusServiceUnavailable
}

// checkUnavailable fails the test unless the response is 503 with a
// JSON error body and a Retry-After header.
func checkUnavailable(t *testing.T, request string, status int, header http.Header, body []byte) {
	t.Helper()
	if status != http.StatusServiceUnavailable {
		t.Errorf("%s while the database is down: status %d, want 503; body %s", request, status, body)
		return
	}
	var eb wire.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code == "" {
		t.Errorf("%s: 503 body %q is not a JSON error (%v)", request, body, err)
	}
	if header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", request)
	}
}

func TestPostgresRestartGives503(t *testing.T) {
	direct := postgresVars(t, "fast.yaml")
	dbURL, target := postgresTarget(t, direct["DATABASE_URL"])
	proxy := newTCPProxy(t, target)
	dbURL.Host = proxy.addr
	vars := withVars(direct, map[string]string{"DATABASE_URL": dbURL.String()})
	p := startAgentry(t, "A", testdataPath(t, "postgres.yaml"), vars)
	c := p.client(15 * time.Second)
	ctx := context.Background()

	sess, err := c.OpenSession(ctx, wire.CreateSessionRequest{ID: "outage-1"})
	if err != nil {
		t.Fatalf("opening a session before the outage: %v", err)
	}
	before := startLongPoll(p.client(40*time.Second), sess.ID, 0, 10*time.Second)
	time.Sleep(300 * time.Millisecond)

	// Requests fail with 503 at once, when the pool's connections have
	// just dropped, and again after the pool has had time to retry.
	proxy.Stop()
	var status int
	var body []byte
	for round, pause := range []time.Duration{0, 2 * time.Second} {
		time.Sleep(pause)
		status, header, body := p.rawRequest(t, 15*time.Second, http.MethodPost, "/sessions", `{"id": "outage-2"}`)
		checkUnavailable(t, fmt.Sprintf("POST /sessions (round %d)", round), status, header, body)
		status, header, body = p.rawRequest(t, 15*time.Second, http.MethodGet, "/sessions/"+sess.ID, "")
		checkUnavailable(t, fmt.Sprintf("GET /sessions/%s (round %d)", sess.ID, round), status, header, body)
		status, _, body = p.rawRequest(t, 15*time.Second, http.MethodGet, "/health/ready", "")
		if status != http.StatusServiceUnavailable {
			t.Errorf("GET /health/ready while the database is down (round %d): status %d, want 503; body %s", round, status, body)
		}
	}

	// The long-poll started before the outage either still waits or has
	// ended with a 200 or 503 response, never a dropped connection.
	select {
	case res := <-before:
		if res.err != nil && !isUnavailable(res.err) {
			t.Errorf("long-poll started before the outage failed: %v", res.err)
		}
		before = nil
	default:
	}

	proxy.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _, body = p.rawRequest(t, 15*time.Second, http.MethodPost, "/sessions", `{"id": "outage-2"}`)
		if status == http.StatusCreated || status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST /sessions 10s after the database came back: status %d: %s", status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := c.GetSession(ctx, sess.ID); err != nil {
		t.Errorf("reading session %s after the database came back: %v", sess.ID, err)
	}
	if before != nil {
		select {
		case res := <-before:
			if res.err != nil && !isUnavailable(res.err) {
				t.Errorf("long-poll started before the outage failed: %v", res.err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("long-poll started before the outage did not return within 30s, although its wait was 10s")
		}
	}

	// The listener reconnected: a long-poll on A started now is woken by
	// a message posted on A, and by one posted on B, which connects to
	// the database directly, so its message reaches A only through
	// LISTEN/NOTIFY.
	b := startAgentry(t, "B", testdataPath(t, "postgres.yaml"), direct)
	checkWoken(t, p, p, sess.ID, 0, "are you back?")
	next := waitTurnDone(t, c, sess.ID, 0, 15*time.Second)
	checkWoken(t, p, b, sess.ID, next[len(next)-1].Offset+1, "posted on B")
}

// checkWoken starts a long-poll on waiter at offset from, posts text on
// poster, and fails the test unless the long-poll returns the message
// within wakeDeadline.
func checkWoken(t *testing.T, waiter, poster *agentryProcess, sessionID string, from int64, text string) {
	t.Helper()
	poll := startLongPoll(waiter.client(40*time.Second), sessionID, from, 30*time.Second)
	time.Sleep(300 * time.Millisecond)
	posted := time.Now()
	if _, err := poster.client(15*time.Second).PostMessage(context.Background(), sessionID, text); err != nil {
		t.Fatalf("posting to session %s on agentry %s: %v", sessionID, poster.name, err)
	}
	select {
	case res := <-poll:
		if res.err != nil {
			t.Fatalf("long-poll on agentry %s: %v", waiter.name, res.err)
		}
		if len(res.page.Events) == 0 || res.page.Events[0].Kind != wire.KindUserMessage || res.page.Events[0].Text != text {
			t.Errorf("long-poll on agentry %s returned %s, want the user_message %q", waiter.name, describeEvents(res.page.Events), text)
		}
	case <-time.After(wakeDeadline):
		t.Fatalf("long-poll on agentry %s not woken within %v of a message posted on agentry %s %v ago", waiter.name, wakeDeadline, poster.name, time.Since(posted))
	}
}

func TestSQLiteCrashLosesNothing(t *testing.T) {
	hooks := newHookReceiver(t, "sqlite-held")
	vars := map[string]string{
		"DATABASE_PATH":          filepath.Join(t.TempDir(), "agentry.db"),
		"AGENTRY_API_KEY":        procAPIKey,
		"AGENTRY_SIGNING_SECRET": procSigningSecret,
		"LEASE_TTL":              "2s",
		"SCRIPT":                 testdataPath(t, "slow.yaml"),
	}
	manifest := testdataPath(t, "sqlite.yaml")
	a := startAgentry(t, "A", manifest, vars)
	ca := a.client(15 * time.Second)
	ctx := context.Background()
	callbackURL := hooks.url + "/callbacks"
	eventsURL := hooks.url + "/events"

	// A customer, and a run that ends with its callback delivered.
	if _, err := ca.PutCustomer(ctx, "cust-1", wire.PutCustomerRequest{Name: "Ada", Variables: map[string]any{"plan": "gold"}}); err != nil {
		t.Fatalf("creating a customer on A: %v", err)
	}
	done, created, err := ca.Trigger(ctx, "decide", wire.TriggerRequest{Input: json.RawMessage(`{"case": "fast-1"}`), CallbackURL: callbackURL})
	if err != nil || !created {
		t.Fatalf("triggering the fast run on A: created=%v err=%v", created, err)
	}
	waitRunStatus(t, ca, done.RunID, wire.RunSucceeded, 15*time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for {
		run, err := ca.GetRun(ctx, done.RunID, 0)
		if err != nil {
			t.Fatalf("reading run %s on A: %v", done.RunID, err)
		}
		if run.Callback != nil && run.Callback.State == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("callback of run %s on A: %+v, want delivered within 15s", done.RunID, run.Callback)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A session whose turn is still running, with every event so far
	// delivered to its webhook.
	slow, err := ca.OpenSession(ctx, wire.CreateSessionRequest{ID: "sqlite-slow", CustomerID: "cust-1", WebhookURL: eventsURL})
	if err != nil {
		t.Fatalf("opening a session on A: %v", err)
	}
	if _, err := ca.PostMessage(ctx, slow.ID, "SLOW question"); err != nil {
		t.Fatalf("posting to session %s on A: %v", slow.ID, err)
	}
	processing := waitEvent(t, ca, slow.ID, 0, 10*time.Second, "status processing on A", func(ev wire.Event) bool {
		return ev.Kind == wire.KindStatus && (ev.Status == wire.StatusProcessing || ev.Status == wire.StatusTyping)
	})
	hooks.waitUntil(t, 10*time.Second, "delivery of session "+slow.ID+" up to the processing event", func() bool {
		for _, c := range hooks.eventCalls(slow.ID) {
			if c.status != 0 && c.event.Offset == processing.Offset {
				return true
			}
		}
		return false
	})

	// A run in the middle of its routine.
	running, created, err := ca.Trigger(ctx, "decide", wire.TriggerRequest{Input: json.RawMessage(`{"case": "SLOW-2"}`), CallbackURL: callbackURL})
	if err != nil || !created {
		t.Fatalf("triggering the slow run on A: created=%v err=%v", created, err)
	}
	waitRunStatus(t, ca, running.RunID, wire.RunRunning, 10*time.Second)

	// A session whose turn has finished and whose first event POST is in
	// flight when A dies.
	heldSession, err := ca.OpenSession(ctx, wire.CreateSessionRequest{ID: "sqlite-held", WebhookURL: eventsURL})
	if err != nil {
		t.Fatalf("opening a session on A: %v", err)
	}
	if _, err := ca.PostMessage(ctx, heldSession.ID, "hello"); err != nil {
		t.Fatalf("posting to session %s on A: %v", heldSession.ID, err)
	}
	heldBefore := waitTurnDone(t, ca, heldSession.ID, 0, 10*time.Second)
	heldEvent := hooks.waitHeld(t, 10*time.Second)
	if heldEvent.SessionID != heldSession.ID || heldEvent.Offset != 0 {
		t.Fatalf("receiver holds event %s/%d, want %s/0", heldEvent.SessionID, heldEvent.Offset, heldSession.ID)
	}
	a.kill(t)

	b := startAgentry(t, "B", manifest, withVars(vars, map[string]string{"SCRIPT": testdataPath(t, "fast.yaml")}))
	cb := b.client(45 * time.Second)

	// Everything A accepted or finished is still there.
	status, _, body := b.rawRequest(t, 15*time.Second, http.MethodGet, "/customers/cust-1", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"plan":"gold"`) {
		t.Errorf("customer cust-1 after the restart: status %d, body %s; want 200 with plan gold", status, body)
	}
	finished, err := cb.GetRun(ctx, done.RunID, 0)
	if err != nil {
		t.Fatalf("run %s finished on A is missing after the restart: %v", done.RunID, err)
	}
	if finished.Status != wire.RunSucceeded || finished.Callback == nil || finished.Callback.State != "delivered" {
		t.Errorf("run %s after the restart: status %s, callback %+v; want succeeded and delivered", done.RunID, finished.Status, finished.Callback)
	}
	heldAfter := allEvents(t, cb, heldSession.ID)
	checkGapless(t, heldSession.ID, heldAfter)
	if got, want := describeEvents(heldAfter), describeEvents(heldBefore); got != want {
		t.Errorf("session %s changed across the restart:\nbefore: %s\nafter: %s", heldSession.ID, want, got)
	}

	// The turn and the run that A left unfinished end on B.
	waitTurnDone(t, cb, slow.ID, processing.Offset+1, 30*time.Second)
	slowEvents := allEvents(t, cb, slow.ID)
	checkGapless(t, slow.ID, slowEvents)
	if slowEvents[0].Kind != wire.KindUserMessage || slowEvents[0].Text != "SLOW question" {
		t.Errorf("session %s event 0 = %s, want the user_message accepted by A", slow.ID, describeEvents(slowEvents[:1]))
	}
	resumed, err := cb.GetRun(ctx, running.RunID, 30*time.Second)
	if err != nil {
		t.Fatalf("run %s accepted by A: %v", running.RunID, err)
	}
	if resumed.Status != wire.RunSucceeded {
		t.Fatalf("run %s after the restart: status %s, error %+v; want succeeded", running.RunID, resumed.Status, resumed.Error)
	}

	// Callbacks: the one delivered before the crash is not sent again,
	// and the resumed run's arrives.
	hooks.waitUntil(t, 30*time.Second, "callback of run "+running.RunID, func() bool { return len(hooks.callbacks(running.RunID)) > 0 })
	checkCallbacks(t, hooks, running.RunID, wire.RunSucceeded)
	if calls := checkCallbacks(t, hooks, done.RunID, wire.RunSucceeded); len(calls) != 1 {
		t.Errorf("run %s: %d callbacks, want 1 because A recorded it delivered before the crash", done.RunID, len(calls))
	}

	// Event webhooks: every event of both sessions, in order, with a
	// repeat only of the POST that was in flight.
	for _, sess := range []struct {
		id          string
		last        int64
		allowRepeat int64
	}{
		{slow.ID, slowEvents[len(slowEvents)-1].Offset, -1},
		{heldSession.ID, heldAfter[len(heldAfter)-1].Offset, heldEvent.Offset},
	} {
		hooks.waitUntil(t, 30*time.Second, "event webhook delivery of session "+sess.id+" up to its last event", func() bool {
			for _, c := range hooks.eventCalls(sess.id) {
				if c.status != 0 && c.event.Offset == sess.last {
					return true
				}
			}
			return false
		})
		checkEventDelivery(t, hooks, sess.id, allEvents(t, cb, sess.id), sess.allowRepeat)
	}
}

func TestStartWithWrongDatabaseURL(t *testing.T) {
	const wrongSecret = "wrong-secret-123"
	baseURL := testenv.PostgresURL(t)
	base, _ := postgresTarget(t, baseURL)
	basePassword, _ := base.User.Password()
	user := base.User.Username()
	database := strings.TrimPrefix(base.Path, "/")

	wrongPassword := *base
	wrongPassword.User = url.UserPassword(user, wrongSecret)
	missingDB := wrongPassword
	missingDB.Path = "/agentry_no_such_database"
	closedPort := wrongPassword
	closedPort.Host = freeLoopbackAddr(t)

	tests := []struct {
		name     string
		url      url.URL
		database string
	}{
		{"wrong password", wrongPassword, database},
		{"missing database", missingDB, "agentry_no_such_database"},
		{"nothing listening", closedPort, database},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "wrong password" && passwordIgnored(t, tt.url.String()) {
				t.Skipf("the PostgreSQL server at %s accepts user %s with any password (trust authentication), so a wrong password cannot fail", tt.url.Host, user)
			}
			vars := map[string]string{
				"DATABASE_URL": tt.url.String(),
				// A schema of this test, dropped at its end, in case the
				// server does let the process in.
				"DATABASE_SCHEMA":        testenv.PostgresSchema(t, baseURL),
				"AGENTRY_API_KEY":        procAPIKey,
				"AGENTRY_SIGNING_SECRET": procSigningSecret,
				"LEASE_TTL":              "2s",
				"SCRIPT":                 testdataPath(t, "fast.yaml"),
			}
			p := launchAgentry(t, "A", testdataPath(t, "postgres.yaml"), vars)
			code := p.waitExit(t, 10*time.Second)
			output := p.stderr.String()
			if code == 0 {
				t.Errorf("exit code 0, want non-zero; output:\n%s", output)
			}
			if !strings.Contains(output, tt.url.Host) {
				t.Errorf("output does not name the host %s:\n%s", tt.url.Host, output)
			}
			if !strings.Contains(output, tt.database) {
				t.Errorf("output does not name the database %s:\n%s", tt.database, output)
			}
			for _, secret := range []string{wrongSecret, basePassword} {
				if secret != "" && strings.Contains(output, secret) {
					t.Errorf("output contains the password %q:\n%s", secret, output)
				}
			}
		})
	}
}

// passwordIgnored reports whether the server at dbURL lets the
// connection in although its password is wrong, as a server with trust
// authentication for loopback connections does.
func passwordIgnored(t *testing.T, dbURL string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}
