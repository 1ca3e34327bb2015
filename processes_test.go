package agentry_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// Settings shared by the tests that run `agentry serve` as child
// processes.
const (
	procAPIKey        = "replica-test-key-0123456789"
	procSigningSecret = "whsec_cmVwbGljYS10ZXN0LXNpZ25pbmcta2V5LTAxMjM0NQ=="
	// procReadyTimeout bounds the wait for GET /health/ready to return 200
	// after a process starts.
	procReadyTimeout = 10 * time.Second
	// procStopTimeout is how long a process gets to exit after SIGTERM at
	// the end of a test before it is killed.
	procStopTimeout = 5 * time.Second
)

var (
	agentryBinaryOnce sync.Once
	agentryBinaryPath string
	agentryBinaryErr  error
)

// agentryBinary builds ./cmd/agentry once per test binary and returns the
// path of the executable. The file lives in a directory under
// os.TempDir() named after this checkout, so repeated runs reuse it
// instead of leaving a new one behind. An atomic rename replaces it, so
// test binaries running at the same time never execute a half-written
// file.
func agentryBinary(t *testing.T) string {
	t.Helper()
	agentryBinaryOnce.Do(func() {
		root, err := os.Getwd()
		if err != nil {
			agentryBinaryErr = err
			return
		}
		sum := sha256.Sum256([]byte(root))
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("agentry-serve-test-%d-%s", os.Getuid(), hex.EncodeToString(sum[:6])))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			agentryBinaryErr = err
			return
		}
		tmp, err := os.CreateTemp(dir, "agentry-*.partial")
		if err != nil {
			agentryBinaryErr = err
			return
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		cmd := exec.Command("go", "build", "-o", tmp.Name(), "./cmd/agentry")
		out, err := cmd.CombinedOutput()
		if err != nil {
			agentryBinaryErr = fmt.Errorf("go build ./cmd/agentry failed: %v\n%s", err, out)
			return
		}
		path := filepath.Join(dir, "agentry")
		if err := os.Rename(tmp.Name(), path); err != nil {
			agentryBinaryErr = err
			return
		}
		agentryBinaryPath = path
	})
	if agentryBinaryErr != nil {
		t.Fatalf("building the agentry binary: %v", agentryBinaryErr)
	}
	return agentryBinaryPath
}

// testdataPath returns the absolute path of a file under
// testdata/replicas.
func testdataPath(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", "replicas", name))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// freeLoopbackAddr returns 127.0.0.1:port for a port that was free a
// moment ago: it listens on port 0 and closes the listener again.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free loopback port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// lockedBuffer is a bytes.Buffer safe for a writing process and a
// reading test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// agentryProcess is one `agentry serve` child process.
type agentryProcess struct {
	name   string
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	// exited is closed when the process has exited; err is then the
	// result of Wait.
	exited chan struct{}
	err    error
}

// procEnv returns the environment of a child process: PATH and HOME of
// the test, and vars. Nothing else of the developer's environment leaks
// into the server.
func procEnv(vars map[string]string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// launchAgentry starts `agentry serve -manifest manifest` on a free
// loopback port with the environment vars, without waiting for it to be
// ready. The process is stopped when the test ends, and its stderr goes
// to the test log when the test failed.
func launchAgentry(t *testing.T, name, manifest string, vars map[string]string) *agentryProcess {
	t.Helper()
	addr := freeLoopbackAddr(t)
	p := &agentryProcess{
		name:   name,
		url:    "http://" + addr,
		stderr: &lockedBuffer{},
		exited: make(chan struct{}),
	}
	p.cmd = exec.Command(agentryBinary(t), "serve", "-manifest", manifest, "-addr", addr, "-log-format", "text")
	p.cmd.Env = procEnv(vars)
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting agentry %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("output of agentry %s (%s):\n%s", p.name, p.url, p.stderr.String())
		}
	})
	return p
}

// startAgentry launches a process and waits until GET /health/ready
// returns 200. It fails the test with the process's output when the
// process exits or is not ready within procReadyTimeout.
func startAgentry(t *testing.T, name, manifest string, vars map[string]string) *agentryProcess {
	t.Helper()
	p := launchAgentry(t, name, manifest, vars)
	p.waitReady(t)
	return p
}

// waitReady polls GET /health/ready until it returns 200.
func (p *agentryProcess) waitReady(t *testing.T) {
	t.Helper()
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(procReadyTimeout)
	last := "no response"
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			t.Fatalf("agentry %s exited before it was ready: %v", p.name, p.err)
		default:
		}
		resp, err := hc.Get(p.url + "/health/ready")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("agentry %s not ready within %v (last response: %s)", p.name, procReadyTimeout, last)
}

// waitExit waits until the process exits and returns its exit code. It
// fails the test when the process still runs after timeout.
func (p *agentryProcess) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("agentry %s still runs %v after it started, want it to exit", p.name, timeout)
	}
	var exitErr *exec.ExitError
	if errors.As(p.err, &exitErr) {
		return exitErr.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("agentry %s: %v", p.name, p.err)
	}
	return 0
}

// kill sends SIGKILL and waits until the process is gone.
func (p *agentryProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("killing agentry %s: %v", p.name, err)
	}
	<-p.exited
}

// stop sends SIGTERM, and SIGKILL when the process has not exited
// within procStopTimeout.
func (p *agentryProcess) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(procStopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// client returns an API client for the process. Its requests time out
// after timeout; long-polls need a timeout longer than their wait.
func (p *agentryProcess) client(timeout time.Duration) *client.Client {
	return client.New(p.url, procAPIKey, client.WithHTTPClient(&http.Client{Timeout: timeout}))
}

// rawRequest sends a request with the bearer token and a JSON body, and
// returns the status, headers and body. It fails the test when no
// response arrives within timeout.
func (p *agentryProcess) rawRequest(t *testing.T, timeout time.Duration, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+procAPIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := &http.Client{Timeout: timeout}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s on agentry %s: %v", method, path, p.name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response of %s %s on agentry %s: %v", method, path, p.name, err)
	}
	return resp.StatusCode, resp.Header, data
}

// allEvents returns every event of the session, read page by page. A
// wait of 1ms keeps the last request from waiting for new events, which
// a wait of zero would not, because zero selects the server's default.
func allEvents(t *testing.T, c *client.Client, sessionID string) []wire.Event {
	t.Helper()
	const pageSize = 1000
	var out []wire.Event
	var from int64
	for {
		page, err := c.Poll(context.Background(), sessionID, from, client.PollOptions{Limit: pageSize, Wait: time.Millisecond})
		if err != nil {
			t.Fatalf("reading the events of session %s from offset %d: %v", sessionID, from, err)
		}
		out = append(out, page.Events...)
		if len(page.Events) < pageSize {
			return out
		}
		from = page.NextOffset
	}
}

// checkGapless fails the test unless the events have the offsets
// 0..len(events)-1 in order.
func checkGapless(t *testing.T, sessionID string, events []wire.Event) {
	t.Helper()
	for i, ev := range events {
		if ev.Offset != int64(i) {
			t.Errorf("session %s: event %d has offset %d, want %d (offsets %v)", sessionID, i, ev.Offset, i, eventOffsets(events))
			return
		}
	}
}

func eventOffsets(events []wire.Event) []int64 {
	out := make([]int64, len(events))
	for i, ev := range events {
		out[i] = ev.Offset
	}
	return out
}

// waitTurnDone reads the session's events by long-poll from offset from
// until an agent_message followed by status ready arrives, and returns
// the events read. It fails the test after timeout.
func waitTurnDone(t *testing.T, c *client.Client, sessionID string, from int64, timeout time.Duration) []wire.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []wire.Event
	replied := false
	for ev, err := range c.Events(ctx, sessionID, from, client.PollOptions{Wait: 5 * time.Second}) {
		if err != nil {
			t.Fatalf("reading the events of session %s: %v", sessionID, err)
		}
		out = append(out, ev)
		if ev.Kind == wire.KindAgentMessage {
			replied = true
		}
		if replied && ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady {
			return out
		}
	}
	t.Fatalf("session %s: no agent_message and status ready within %v; events from offset %d: %s", sessionID, timeout, from, describeEvents(out))
	return nil
}

// waitEvent long-polls the session from offset from until match returns
// true for an event, and fails the test after timeout.
func waitEvent(t *testing.T, c *client.Client, sessionID string, from int64, timeout time.Duration, description string, match func(wire.Event) bool) wire.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var seen []wire.Event
	for ev, err := range c.Events(ctx, sessionID, from, client.PollOptions{Wait: 5 * time.Second}) {
		if err != nil {
			t.Fatalf("reading the events of session %s: %v", sessionID, err)
		}
		seen = append(seen, ev)
		if match(ev) {
			return ev
		}
	}
	t.Fatalf("session %s: no %s within %v; events: %s", sessionID, description, timeout, describeEvents(seen))
	return wire.Event{}
}

func describeEvents(events []wire.Event) string {
	var b strings.Builder
	for _, ev := range events {
		fmt.Fprintf(&b, "\n  %d %s", ev.Offset, ev.Kind)
		if ev.Status != "" {
			fmt.Fprintf(&b, " %s", ev.Status)
		}
		if ev.Text != "" {
			fmt.Fprintf(&b, " %q", ev.Text)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// waitRunStatus polls GET /runs/{id} until the run has the status want,
// and fails the test after timeout.
func waitRunStatus(t *testing.T, c *client.Client, runID, want string, timeout time.Duration) wire.Run {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		run, err := c.GetRun(context.Background(), runID, 0)
		if err != nil {
			t.Fatalf("reading run %s: %v", runID, err)
		}
		if run.Status == want {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s has status %s after %v, want %s", runID, run.Status, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hookCall is one POST that a hookReceiver got.
type hookCall struct {
	path   string
	header http.Header
	body   []byte
	// event is the decoded body of an event webhook POST.
	event wire.Event
	// status is the response status, or 0 for a held request.
	status int
	at     time.Time
}

// hookReceiver receives the event webhooks (under /events) and the run
// callbacks (under /callbacks) of the processes of a test. It checks
// every event POST with the client's verifier. When holdSession is set,
// it holds the first event POST of that session without a response until
// the sender's connection closes or the test ends, so that the delivery
// is in flight when a test kills the sender.
type hookReceiver struct {
	url         string
	server      *http.Server
	holdSession string
	// release is closed when the test ends, ending held requests.
	release chan struct{}
	held    chan wire.Event
	arrived chan struct{}

	mu       sync.Mutex
	calls    []hookCall
	holding  bool
	rejected []string
}

func newHookReceiver(t *testing.T, holdSession string) *hookReceiver {
	t.Helper()
	h := &hookReceiver{
		holdSession: holdSession,
		release:     make(chan struct{}),
		held:        make(chan wire.Event, 1),
		arrived:     make(chan struct{}, 1),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening for webhooks: %v", err)
	}
	h.url = "http://" + ln.Addr().String()
	h.server = &http.Server{Handler: http.HandlerFunc(h.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.server.Serve(ln) }()
	t.Cleanup(func() {
		close(h.release)
		_ = h.server.Close()
	})
	return h
}

func (h *hookReceiver) serveHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		select {
		case h.arrived <- struct{}{}:
		default:
		}
	}()
	if strings.HasPrefix(r.URL.Path, "/events") {
		h.serveEvent(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.calls = append(h.calls, hookCall{path: r.URL.Path, header: r.Header.Clone(), body: body, status: http.StatusNoContent, at: time.Now()})
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) serveEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := client.VerifyEvent(r, procAPIKey, procSigningSecret)
	if err != nil {
		h.mu.Lock()
		h.rejected = append(h.rejected, err.Error())
		h.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	body, _ := json.Marshal(ev)
	call := hookCall{path: r.URL.Path, header: r.Header.Clone(), body: body, event: ev, status: http.StatusNoContent, at: time.Now()}
	h.mu.Lock()
	holdThis := h.holdSession != "" && ev.SessionID == h.holdSession && !h.holding
	if holdThis {
		h.holding = true
		call.status = 0
	}
	h.calls = append(h.calls, call)
	h.mu.Unlock()
	if holdThis {
		h.held <- ev
		select {
		case <-r.Context().Done():
		case <-h.release:
		}
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// snapshot returns the calls so far.
func (h *hookReceiver) snapshot() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookCall(nil), h.calls...)
}

// eventCalls returns the event POSTs of the session, in arrival order.
func (h *hookReceiver) eventCalls(sessionID string) []hookCall {
	var out []hookCall
	for _, c := range h.snapshot() {
		if strings.HasPrefix(c.path, "/events") && c.event.SessionID == sessionID {
			out = append(out, c)
		}
	}
	return out
}

// callbacks returns the callback POSTs whose body names the run.
func (h *hookReceiver) callbacks(runID string) []hookCall {
	var out []hookCall
	for _, c := range h.snapshot() {
		var body struct {
			RunID string `json:"run_id"`
		}
		if strings.HasPrefix(c.path, "/callbacks") && json.Unmarshal(c.body, &body) == nil && body.RunID == runID {
			out = append(out, c)
		}
	}
	return out
}

// waitUntil waits until cond returns true, checking after each request
// and at least every 100ms, and fails the test after timeout.
func (h *hookReceiver) waitUntil(t *testing.T, timeout time.Duration, description string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-h.arrived:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("webhook receiver: no %s within %v", description, timeout)
		}
	}
}

// waitHeld waits until the receiver holds an event POST and returns its
// event.
func (h *hookReceiver) waitHeld(t *testing.T, timeout time.Duration) wire.Event {
	t.Helper()
	select {
	case ev := <-h.held:
		return ev
	case <-time.After(timeout):
		t.Fatalf("webhook receiver: no event POST to hold within %v", timeout)
		return wire.Event{}
	}
}

// checkEventDelivery fails the test unless the event POSTs of the
// session delivered every event of events in offset order. Each offset
// must get a 2xx response exactly once and in increasing order. Only the
// offset allowRepeat (the delivery in flight when a process died) may be
// POSTed more than once, and no offset when allowRepeat is negative.
// Each delivered body must equal the event read from the log, and no
// event POST may have failed the receiver's verification.
func checkEventDelivery(t *testing.T, h *hookReceiver, sessionID string, events []wire.Event, allowRepeat int64) {
	t.Helper()
	h.mu.Lock()
	rejected := append([]string(nil), h.rejected...)
	h.mu.Unlock()
	for _, reason := range rejected {
		t.Errorf("event webhook POST failed verification: %s", reason)
	}

	calls := h.eventCalls(sessionID)
	var accepted, received []int64
	for _, c := range calls {
		received = append(received, c.event.Offset)
		if c.status >= 200 && c.status < 300 {
			accepted = append(accepted, c.event.Offset)
		}
	}

	want := eventOffsets(events)
	if fmt.Sprint(accepted) != fmt.Sprint(want) {
		t.Errorf("session %s: event webhook accepted offsets %v, want each of %v once in order (received %v)", sessionID, accepted, want, received)
	}

	seen := map[int64]int{}
	for _, off := range received {
		seen[off]++
	}
	for off, n := range seen {
		if n > 1 && off != allowRepeat {
			t.Errorf("session %s: event %d was POSTed %d times; only event %d, in flight at the crash, may repeat (received %v)", sessionID, off, n, allowRepeat, received)
		}
	}

	for _, c := range calls {
		if c.status == 0 {
			continue
		}
		if c.event.Offset < 0 || c.event.Offset >= int64(len(events)) {
			t.Errorf("session %s: event webhook delivered offset %d, which the log does not have", sessionID, c.event.Offset)
			continue
		}
		logged, _ := json.Marshal(events[c.event.Offset])
		if !bytes.Equal(logged, c.body) {
			t.Errorf("session %s: delivered event %d differs from the log:\n got %s\nwant %s", sessionID, c.event.Offset, c.body, logged)
		}
		if got, wantID := c.header.Get("webhook-id"), fmt.Sprintf("evt_%s_%d", sessionID, c.event.Offset); got != wantID {
			t.Errorf("session %s: event %d has webhook-id %q, want %q", sessionID, c.event.Offset, got, wantID)
		}
	}
}

// checkCallbacks fails the test unless every callback POST of the run is
// signed with procSigningSecret, carries the run id as webhook-id and the
// same body as the first, and reports the status want. It returns the
// callbacks.
func checkCallbacks(t *testing.T, h *hookReceiver, runID, want string) []hookCall {
	t.Helper()
	calls := h.callbacks(runID)
	if len(calls) == 0 {
		t.Errorf("run %s: no callback arrived", runID)
		return nil
	}
	key, err := webhook.ParseSecret(procSigningSecret)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range calls {
		hd := c.header
		if err := webhook.Verify([][]byte{key}, hd.Get("webhook-id"), hd.Get("webhook-timestamp"), hd.Get("webhook-signature"), c.body, c.at, time.Minute); err != nil {
			t.Errorf("run %s: callback %d signature does not verify: %v", runID, i, err)
		}
		if got := hd.Get("webhook-id"); got != runID {
			t.Errorf("run %s: callback %d has webhook-id %q, want the run id", runID, i, got)
		}
		if got := hd.Get("Authorization"); got != "Bearer "+procAPIKey {
			t.Errorf("run %s: callback %d Authorization = %q", runID, i, got)
		}
		if !bytes.Equal(c.body, calls[0].body) {
			t.Errorf("run %s: callback %d body differs from the first:\n%s\n%s", runID, i, c.body, calls[0].body)
		}
	}
	var body wire.RunCallback
	if err := json.Unmarshal(calls[0].body, &body); err != nil {
		t.Fatalf("run %s: callback body is not JSON: %v: %s", runID, err, calls[0].body)
	}
	if body.RunID != runID || body.Status != want {
		t.Errorf("run %s: callback body %s, want run_id %s and status %s", runID, calls[0].body, runID, want)
	}
	return calls
}

// sseEvent is one frame of a server-sent event stream.
type sseEvent struct {
	id    string
	event string
	data  string
}

// openSSE opens the session's event stream from min_offset from and
// sends each frame to the returned channel, which is closed when the
// stream ends. The stream is closed when the test ends.
func openSSE(t *testing.T, p *agentryProcess, sessionID string, from int64) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/sessions/%s/events?min_offset=%d", p.url, sessionID, from), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+procAPIKey)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("opening the event stream of session %s on agentry %s: %v", sessionID, p.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("event stream of session %s on agentry %s: status %d: %s", sessionID, p.name, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("event stream of session %s: Content-Type %q, want text/event-stream", sessionID, ct)
	}

	frames := make(chan sseEvent, 100)
	go func() {
		defer close(frames)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.data != "" {
					select {
					case frames <- cur:
					case <-ctx.Done():
						return
					}
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "id:"):
				cur.id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
			case strings.HasPrefix(line, "event:"):
				cur.event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				cur.data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
			}
		}
	}()
	return frames
}
