package agentry_test

import (
	"context"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/transport/wire"
)

// wakeDeadline bounds how long a waiter on one process may take to see
// an event appended on another.
const wakeDeadline = 5 * time.Second

// postgresVars returns the environment of processes that share a new
// schema of the test database and follow the scripted model in script
// (a file under testdata/replicas).
func postgresVars(t *testing.T, script string) map[string]string {
	t.Helper()
	url := testenv.PostgresURL(t)
	return map[string]string{
		"DATABASE_URL":           url,
		"DATABASE_SCHEMA":        testenv.PostgresSchema(t, url),
		"AGENTRY_API_KEY":        procAPIKey,
		"AGENTRY_SIGNING_SECRET": procSigningSecret,
		"LEASE_TTL":              "2s",
		"SCRIPT":                 testdataPath(t, script),
	}
}

// withVars returns a copy of vars with the changes applied.
func withVars(vars map[string]string, changes map[string]string) map[string]string {
	out := maps.Clone(vars)
	maps.Copy(out, changes)
	return out
}

// pollResult is the outcome of a long-poll started in a goroutine.
type pollResult struct {
	page     wire.EventPage
	err      error
	returned time.Time
}

// startLongPoll starts GET /sessions/{id}/events?min_offset=from&wait=wait
// in a goroutine and returns the channel of its result.
func startLongPoll(c *client.Client, sessionID string, from int64, wait time.Duration) <-chan pollResult {
	out := make(chan pollResult, 1)
	go func() {
		page, err := c.Poll(context.Background(), sessionID, from, client.PollOptions{Wait: wait})
		out <- pollResult{page: page, err: err, returned: time.Now()}
	}()
	return out
}

func TestReplicasShareSessions(t *testing.T) {
	vars := postgresVars(t, "fast.yaml")
	manifest := testdataPath(t, "postgres.yaml")

	// Both replicas start at once, so they also race to migrate the
	// empty schema.
	a := launchAgentry(t, "A", manifest, vars)
	b := launchAgentry(t, "B", manifest, vars)
	a.waitReady(t)
	b.waitReady(t)
	ca, cb := a.client(15*time.Second), b.client(40*time.Second)
	ctx := context.Background()

	sess, err := ca.OpenSession(ctx, wire.CreateSessionRequest{ID: "shared-1"})
	if err != nil {
		t.Fatalf("opening a session on A: %v", err)
	}
	got, err := cb.GetSession(ctx, sess.ID)
	if err != nil {
		t.Fatalf("reading on B the session opened on A: %v", err)
	}
	if got.ID != sess.ID || got.NextOffset != 0 {
		t.Fatalf("session on B = %+v, want %s with next_offset 0", got, sess.ID)
	}

	// The long-poll and the stream wait on B before the message exists,
	// so only a notification from A can end the long-poll early.
	poll := startLongPoll(cb, sess.ID, 0, 30*time.Second)
	frames := openSSE(t, b, sess.ID, 0)
	time.Sleep(300 * time.Millisecond)
	posted := time.Now()
	msg, err := ca.PostMessage(ctx, sess.ID, "hello from A")
	if err != nil {
		t.Fatalf("posting a message on A: %v", err)
	}
	if msg.Offset != 0 {
		t.Errorf("user_message offset = %d, want 0", msg.Offset)
	}

	select {
	case res := <-poll:
		if res.err != nil {
			t.Fatalf("long-poll on B: %v", res.err)
		}
		if len(res.page.Events) == 0 {
			t.Fatalf("long-poll on B returned no events after %v", res.returned.Sub(posted))
		}
		first := res.page.Events[0]
		if first.Offset != 0 || first.Kind != wire.KindUserMessage || first.Text != "hello from A" {
			t.Errorf("long-poll on B returned %s first, want the user_message at offset 0", describeEvents(res.page.Events[:1]))
		}
		if wait := res.returned.Sub(posted); wait > wakeDeadline {
			t.Errorf("long-poll on B returned %v after the message on A, want within %v", wait, wakeDeadline)
		}
	case <-time.After(wakeDeadline):
		t.Fatalf("long-poll on B not woken within %v of the message posted on A", wakeDeadline)
	}

	// The stream on B carries the whole turn, whichever replica ran it.
	var streamed []wire.Event
	streamDeadline := time.After(15 * time.Second)
stream:
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("event stream on B ended early after %s", describeEvents(streamed))
			}
			var ev wire.Event
			if err := json.Unmarshal([]byte(f.data), &ev); err != nil {
				t.Fatalf("event stream frame is not an event: %v: %s", err, f.data)
			}
			if f.id != strconv.FormatInt(ev.Offset, 10) || f.event != ev.Kind {
				t.Errorf("frame id %q and event %q, want %d and %s", f.id, f.event, ev.Offset, ev.Kind)
			}
			streamed = append(streamed, ev)
			if ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady {
				break stream
			}
		case <-streamDeadline:
			t.Fatalf("event stream on B: no status ready within 15s; got %s", describeEvents(streamed))
		}
	}
	checkGapless(t, sess.ID, streamed)
	reply := ""
	for _, ev := range streamed {
		if ev.Kind == wire.KindAgentMessage {
			reply = ev.Text
		}
	}
	if reply != "Reply to: hello from A" {
		t.Errorf("reply streamed on B = %q, want %q", reply, "Reply to: hello from A")
	}

	// A run triggered on A is visible on B, and a wait on B ends when
	// the run does. PAUSE makes the model take 2s, so the run is still
	// going when the wait starts.
	resp, created, err := ca.Trigger(ctx, "decide", wire.TriggerRequest{Input: json.RawMessage(`{"case": "PAUSE-1"}`)})
	if err != nil || !created {
		t.Fatalf("triggering a run on A: created=%v err=%v", created, err)
	}
	early, err := cb.GetRun(ctx, resp.RunID, 0)
	if err != nil {
		t.Fatalf("reading on B the run triggered on A: %v", err)
	}
	if early.ID != resp.RunID || (early.Status != wire.RunQueued && early.Status != wire.RunRunning) {
		t.Errorf("run on B right after the trigger = %s %s, want %s queued or running", early.ID, early.Status, resp.RunID)
	}
	waited := time.Now()
	run, err := cb.GetRun(ctx, resp.RunID, 30*time.Second)
	if err != nil {
		t.Fatalf("waiting on B for run %s: %v", resp.RunID, err)
	}
	if run.Status != wire.RunSucceeded {
		t.Fatalf("run %s after the wait on B: status %s, error %+v; want succeeded", run.ID, run.Status, run.Error)
	}
	if d := time.Since(waited); d > 10*time.Second {
		t.Errorf("wait on B returned %v after it started, want soon after the 2s run ended", d)
	}
	if compact(t, run.Output) != `{"decision":"approved"}` {
		t.Errorf("run output = %s", run.Output)
	}
}

func TestReplicaKilledMidWork(t *testing.T) {
	hooks := newHookReceiver(t, "crash-1")
	slowVars := postgresVars(t, "slow.yaml")
	manifest := testdataPath(t, "postgres.yaml")
	a := startAgentry(t, "A", manifest, slowVars)
	ca := a.client(15 * time.Second)
	ctx := context.Background()

	// Work that A accepts with a 2xx and has not finished when it dies:
	// a turn whose model call takes 30s, a run whose model call takes
	// 30s, and the first event webhook POST, which the receiver holds.
	sess, err := ca.OpenSession(ctx, wire.CreateSessionRequest{ID: "crash-1", WebhookURL: hooks.url + "/events"})
	if err != nil {
		t.Fatalf("opening a session on A: %v", err)
	}
	msg, err := ca.PostMessage(ctx, sess.ID, "SLOW question")
	if err != nil {
		t.Fatalf("posting a message on A: %v", err)
	}
	callbackURL := hooks.url + "/callbacks"
	resp, created, err := ca.Trigger(ctx, "decide", wire.TriggerRequest{
		Input:       json.RawMessage(`{"case": "SLOW-run"}`),
		CallbackURL: callbackURL,
		Metadata:    map[string]any{"case": "crash"},
	})
	if err != nil || !created {
		t.Fatalf("triggering a run on A: created=%v err=%v", created, err)
	}

	heldEvent := hooks.waitHeld(t, 10*time.Second)
	if heldEvent.SessionID != sess.ID || heldEvent.Offset != 0 {
		t.Fatalf("receiver holds event %s/%d, want %s/0", heldEvent.SessionID, heldEvent.Offset, sess.ID)
	}
	waitEvent(t, ca, sess.ID, 0, 10*time.Second, "status processing on A", func(ev wire.Event) bool {
		return ev.Kind == wire.KindStatus && (ev.Status == wire.StatusProcessing || ev.Status == wire.StatusTyping)
	})
	waitRunStatus(t, ca, resp.RunID, wire.RunRunning, 10*time.Second)
	a.kill(t)

	b := startAgentry(t, "B", manifest, withVars(slowVars, map[string]string{"SCRIPT": testdataPath(t, "fast.yaml")}))
	cb := b.client(45 * time.Second)

	// The session, the message and the run that A accepted are all there.
	got, err := cb.GetSession(ctx, sess.ID)
	if err != nil {
		t.Fatalf("session %s accepted by A is missing on B: %v", sess.ID, err)
	}
	if got.WebhookURL != hooks.url+"/events" {
		t.Errorf("session webhook_url on B = %q", got.WebhookURL)
	}

	// B re-runs the turn that A left, and the log stays gapless.
	waitTurnDone(t, cb, sess.ID, msg.Offset+1, 30*time.Second)
	events := allEvents(t, cb, sess.ID)
	checkGapless(t, sess.ID, events)
	if events[0].Kind != wire.KindUserMessage || events[0].Text != "SLOW question" {
		t.Errorf("event 0 = %s, want the user_message accepted by A", describeEvents(events[:1]))
	}
	replies := 0
	for _, ev := range events {
		if ev.Kind == wire.KindAgentMessage {
			replies++
			if ev.Text != "Reply to: SLOW question" {
				t.Errorf("reply = %q", ev.Text)
			}
		}
	}
	if replies < 1 {
		t.Errorf("no agent_message in %s", describeEvents(events))
	}
	last := events[len(events)-1]
	if last.Kind != wire.KindStatus || last.Status != wire.StatusReady {
		t.Errorf("last event = %s, want status ready", describeEvents([]wire.Event{last}))
	}

	// B takes over the run after its lease expires and sends the
	// callback.
	run, err := cb.GetRun(ctx, resp.RunID, 30*time.Second)
	if err != nil {
		t.Fatalf("run %s accepted by A: %v", resp.RunID, err)
	}
	if run.Status != wire.RunSucceeded {
		t.Fatalf("run %s on B: status %s, error %+v; want succeeded", run.ID, run.Status, run.Error)
	}
	if run.Attempts < 2 {
		t.Errorf("run attempts = %d, want at least 2 (A's and B's)", run.Attempts)
	}
	hooks.waitUntil(t, 30*time.Second, "callback of run "+resp.RunID, func() bool { return len(hooks.callbacks(resp.RunID)) > 0 })
	calls := checkCallbacks(t, hooks, resp.RunID, wire.RunSucceeded)
	if len(calls) > 0 {
		var body wire.RunCallback
		if err := json.Unmarshal(calls[0].body, &body); err == nil && body.Metadata["case"] != "crash" {
			t.Errorf("callback metadata = %v, want case=crash", body.Metadata)
		}
	}

	// Every event reaches the event webhook in order; only the event
	// whose POST was in flight when A died arrives twice.
	hooks.waitUntil(t, 30*time.Second, "event webhook delivery up to offset "+strconv.FormatInt(last.Offset, 10), func() bool {
		for _, c := range hooks.eventCalls(sess.ID) {
			if c.status != 0 && c.event.Offset == last.Offset {
				return true
			}
		}
		return false
	})
	checkEventDelivery(t, hooks, sess.ID, allEvents(t, cb, sess.ID), heldEvent.Offset)
}

// isStatus returns a waitEvent matcher for a status event of the given
// value.
func isStatus(status string) func(wire.Event) bool {
	return func(ev wire.Event) bool { return ev.Kind == wire.KindStatus && ev.Status == status }
}

// firstTurn returns the events of the turn whose status acknowledged
// comes first in events, and that turn's id.
func firstTurn(t *testing.T, events []wire.Event) (string, []wire.Event) {
	t.Helper()
	turnID := ""
	for _, ev := range events {
		if ev.Kind == wire.KindStatus && ev.Status == wire.StatusAcknowledged {
			turnID = ev.TurnID
			break
		}
	}
	if turnID == "" {
		t.Fatalf("no status acknowledged in %s", describeEvents(events))
	}
	var out []wire.Event
	for _, ev := range events {
		if ev.TurnID == turnID {
			out = append(out, ev)
		}
	}
	return turnID, out
}

// countEvents returns how many events match.
func countEvents(events []wire.Event, match func(wire.Event) bool) int {
	n := 0
	for _, ev := range events {
		if match(ev) {
			n++
		}
	}
	return n
}

func TestCancelTurnOnOtherReplica(t *testing.T) {
	vars := postgresVars(t, "slow.yaml")
	manifest := testdataPath(t, "postgres.yaml")
	a := startAgentry(t, "A", manifest, vars)
	ca := a.client(15 * time.Second)
	ctx := context.Background()

	sess, err := ca.OpenSession(ctx, wire.CreateSessionRequest{ID: "cancel-1"})
	if err != nil {
		t.Fatalf("opening a session on A: %v", err)
	}
	msg, err := ca.PostMessage(ctx, sess.ID, "SLOW question")
	if err != nil {
		t.Fatalf("posting a message on A: %v", err)
	}
	waitEvent(t, ca, sess.ID, msg.Offset+1, 10*time.Second, "status typing on A", isStatus(wire.StatusTyping))

	// B starts after A has claimed the turn, so A holds the turn's lease
	// and B can only reach the turn through the store.
	b := startAgentry(t, "B", manifest, vars)
	cb := b.client(15 * time.Second)
	cancelled, err := cb.CancelTurn(ctx, sess.ID)
	if err != nil {
		t.Fatalf("cancelling on B the turn that A runs: %v", err)
	}
	if !cancelled {
		t.Fatalf(`cancel on B = {"cancelled": false}, want true: A runs the turn`)
	}

	waitEvent(t, ca, sess.ID, msg.Offset+1, wakeDeadline, "status ready on A after the cancel on B", isStatus(wire.StatusReady))
	events := allEvents(t, cb, sess.ID)
	checkGapless(t, sess.ID, events)
	turnID, turn := firstTurn(t, events)
	if n := len(turn); n < 2 || !isStatus(wire.StatusCancelled)(turn[n-2]) || !isStatus(wire.StatusReady)(turn[n-1]) {
		t.Errorf("turn %s = %s, want it to end with status cancelled then ready", turnID, describeEvents(turn))
	}
	if n := countEvents(events, func(ev wire.Event) bool { return ev.Kind == wire.KindAgentMessage }); n != 0 {
		t.Errorf("%d agent_message events after the cancel, want none: %s", n, describeEvents(events))
	}
	if n := countEvents(events, isStatus(wire.StatusReady)); n != 1 {
		t.Errorf("%d status ready events, want 1: %s", n, describeEvents(events))
	}
	if !strings.Contains(b.stderr.String(), "cancel requested from the turn's lease holder") {
		t.Errorf("B's log has no cancel request to the lease holder, so B did not reach A's turn through the store")
	}

	again, err := cb.CancelTurn(ctx, sess.ID)
	if err != nil {
		t.Fatalf("second cancel on B: %v", err)
	}
	if again {
		t.Errorf(`second cancel on B = {"cancelled": true}, want false: the turn has ended`)
	}
}

func TestInterruptFromOtherReplica(t *testing.T) {
	// The manifest leaves runtime.double_texting at its default,
	// interrupt.
	vars := postgresVars(t, "slow.yaml")
	manifest := testdataPath(t, "postgres.yaml")
	a := startAgentry(t, "A", manifest, vars)
	ca := a.client(15 * time.Second)
	ctx := context.Background()

	sess, err := ca.OpenSession(ctx, wire.CreateSessionRequest{ID: "interrupt-1"})
	if err != nil {
		t.Fatalf("opening a session on A: %v", err)
	}
	first, err := ca.PostMessage(ctx, sess.ID, "SLOW first question")
	if err != nil {
		t.Fatalf("posting the first message on A: %v", err)
	}
	waitEvent(t, ca, sess.ID, first.Offset+1, 10*time.Second, "status typing on A", isStatus(wire.StatusTyping))

	// The second message does not match SLOW, so the restarted model call
	// replies at once. Without the restart the reply would come after the
	// first call's 30 s, past the deadline below.
	b := startAgentry(t, "B", manifest, vars)
	cb := b.client(15 * time.Second)
	second, err := cb.PostMessage(ctx, sess.ID, "second thought")
	if err != nil {
		t.Fatalf("posting the second message on B: %v", err)
	}
	waitTurnDone(t, ca, sess.ID, second.Offset+1, 15*time.Second)

	events := allEvents(t, cb, sess.ID)
	checkGapless(t, sess.ID, events)
	turnID, turn := firstTurn(t, events)
	if n := countEvents(events, isStatus(wire.StatusAcknowledged)); n != 1 {
		t.Errorf("%d turns started, want 1 restarted turn: %s", n, describeEvents(events))
	}
	if n := countEvents(events, isStatus(wire.StatusReady)); n != 1 {
		t.Errorf("%d status ready events, want 1: %s", n, describeEvents(events))
	}
	var replies []string
	for _, ev := range turn {
		if ev.Kind == wire.KindAgentMessage {
			replies = append(replies, ev.Text)
		}
	}
	if len(replies) != 1 || replies[0] != "Reply to: second thought" {
		t.Errorf("replies of turn %s = %q, want one reply to the second message", turnID, replies)
	}
	last := events[len(events)-1]
	if last.TurnID != turnID || !isStatus(wire.StatusReady)(last) {
		t.Errorf("last event = %s of turn %q, want status ready of turn %s", describeEvents([]wire.Event{last}), last.TurnID, turnID)
	}

	got, err := cb.GetSession(ctx, sess.ID)
	if err != nil {
		t.Fatalf("reading the session on B: %v", err)
	}
	if got.NextOffset != last.Offset+1 {
		t.Errorf("session next_offset = %d, want %d: no event after the turn's ready", got.NextOffset, last.Offset+1)
	}
}
