package agent

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/tool"
)

// cancelDeadline bounds how long a cancelled turn may take to write its
// status cancelled and status ready.
const cancelDeadline = 5 * time.Second

// slowScript makes the model reply after 30 s, so a turn is still
// running when a test cancels it.
const slowScript = "- reply: {text: \"too late\"}\n  delay: 30s\n"

// statuses returns the status values of evs, in order.
func statuses(t *testing.T, evs []store.Event) []string {
	t.Helper()
	var out []string
	for _, ev := range evs {
		if ev.Kind != KindStatus {
			continue
		}
		p, err := DecodePayload(ev)
		if err != nil {
			t.Fatalf("decode status at offset %d: %v", ev.Offset, err)
		}
		out = append(out, p.Status)
	}
	return out
}

// waitStatus polls the store until the session has a status event of the
// given value, or fails after cancelDeadline, and returns every event.
func waitStatus(t *testing.T, st store.Store, sid, status string) []store.Event {
	t.Helper()
	deadline := time.Now().Add(cancelDeadline)
	for {
		evs, err := st.ListEvents(context.Background(), sid, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(statuses(t, evs), status) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status %s within %v; statuses %v", status, cancelDeadline, statuses(t, evs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkCancelledTurn checks that the session's log ends its only turn with
// status cancelled then ready and no reply, and that the session is idle
// with no cancel left pending.
func checkCancelledTurn(t *testing.T, st store.Store, sid string) {
	t.Helper()
	evs := waitStatus(t, st, sid, StatusReady)
	got := statuses(t, evs)
	if n := len(got); n < 2 || got[n-2] != StatusCancelled || got[n-1] != StatusReady {
		t.Errorf("statuses = %v, want them to end with cancelled, ready", got)
	}
	if n := countKind(evs, KindAgentMessage); n != 0 {
		t.Errorf("%d agent_message events, want none from a cancelled turn", n)
	}

	turnIDs := map[string]bool{}
	for _, ev := range evs {
		if ev.Kind == KindStatus {
			turnIDs[ev.TurnID] = true
		}
	}
	if len(turnIDs) != 1 {
		t.Errorf("status events carry %d turn ids, want 1", len(turnIDs))
	}

	sess, err := st.GetSession(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	if sess.NeedsTurn() {
		t.Errorf("session still needs a turn after the cancel")
	}
	if sess.Lease.Held(time.Now()) {
		t.Errorf("lease %+v still held after the cancel", sess.Lease)
	}
	if sess.CancelRequested {
		t.Errorf("CancelRequested still set after the turn ended")
	}
}

func TestCancelTurnOfOtherEngine(t *testing.T) {
	st := memory.New()
	ctx := context.Background()
	runner := newTestEngine(t, st, "runner", slowScript)
	other := newTestEngine(t, st, "other", `- reply: {text: "from the other engine"}`)
	if _, _, err := runner.OpenSession(ctx, OpenRequest{ID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := runner.PostMessage(ctx, "s1", Message{Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, st, "s1", StatusTyping)

	cancelled, err := other.Cancel(ctx, "s1")
	if err != nil {
		t.Fatalf("Cancel on the other engine: %v", err)
	}
	if !cancelled {
		t.Fatalf("Cancel on the other engine = false, want true: the runner holds the turn")
	}
	checkCancelledTurn(t, st, "s1")

	again, err := other.Cancel(ctx, "s1")
	if err != nil || again {
		t.Errorf("second Cancel = %v, %v; want false, nil: no turn is left", again, err)
	}
}

func TestCancelDuringToolCall(t *testing.T) {
	st := memory.New()
	ctx := context.Background()
	started := make(chan struct{}, 1)
	block := tool.MustFunc("test:block", "Wait until the call is cancelled.",
		func(ctx context.Context, _ struct{}) (string, error) {
			started <- struct{}{}
			<-ctx.Done()
			return "", ctx.Err()
		})
	tools, err := tool.NewRegistry(block)
	if err != nil {
		t.Fatal(err)
	}
	script := `
- when: {after_tool: "test:block"}
  reply: {text: "after the tool"}
- reply: {tool_call: {name: "test:block", arguments: {}}}
`
	runner := newToolEngine(t, st, "runner", script, tools)
	other := newTestEngine(t, st, "other", `- reply: {text: "from the other engine"}`)
	if _, _, err := runner.OpenSession(ctx, OpenRequest{ID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := runner.PostMessage(ctx, "s1", Message{Text: "use the tool"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(cancelDeadline):
		t.Fatalf("the tool was not called within %v", cancelDeadline)
	}

	cancelled, err := other.Cancel(ctx, "s1")
	if err != nil || !cancelled {
		t.Fatalf("Cancel on the other engine during the tool call = %v, %v; want true, nil", cancelled, err)
	}
	checkCancelledTurn(t, st, "s1")

	evs, err := st.ListEvents(ctx, "s1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := toolErrorCodes(t, evs, "test:block"); len(got) != 1 || got[0] != ToolErrorTimeout {
		t.Errorf("test:block result error codes = %v, want [%s]: a cut-off call keeps its result", got, ToolErrorTimeout)
	}
}

// toolErrorCodes returns the error code of each tool_result of name in
// evs, "" for a result without error.
func toolErrorCodes(t *testing.T, evs []store.Event, name string) []string {
	t.Helper()
	var codes []string
	for _, ev := range evs {
		if ev.Kind != KindToolResult {
			continue
		}
		p, err := DecodePayload(ev)
		if err != nil {
			t.Fatal(err)
		}
		if p.Tool != name {
			continue
		}
		code := ""
		if p.Error != nil {
			code = p.Error.Code
		}
		codes = append(codes, code)
	}
	return codes
}

func TestClaimAfterCancelRequestEndsCancelled(t *testing.T) {
	st := memory.New()
	ctx := context.Background()
	if _, _, err := st.CreateSession(ctx, store.Session{ID: "s1"}, nil); err != nil {
		t.Fatal(err)
	}
	appendCustomerMessage(t, st, "s1", "hello")
	// A process claims the turn, a cancel is requested, and the process
	// dies before it sees the request.
	if _, ok, err := st.ClaimTurn(ctx, "s1", "dead-process", 300*time.Millisecond); err != nil || !ok {
		t.Fatalf("claim by the dead process: ok=%v err=%v", ok, err)
	}
	if requested, err := st.RequestCancel(ctx, "s1"); err != nil || !requested {
		t.Fatalf("RequestCancel = %v, %v; want true, nil", requested, err)
	}

	newTestEngine(t, st, "survivor", `- reply: {text: "should not be sent"}`)
	checkCancelledTurn(t, st, "s1")
}

// cancelOnClaimStore requests a cancel right after each successful
// ClaimTurn, before the claiming engine subscribes to the session, so the
// request's wake-up is gone when the turn starts waiting.
type cancelOnClaimStore struct {
	*memory.Store
}

func (s cancelOnClaimStore) ClaimTurn(ctx context.Context, sessionID, owner string, ttl time.Duration) (store.TurnClaim, bool, error) {
	c, ok, err := s.Store.ClaimTurn(ctx, sessionID, owner, ttl)
	if ok {
		if _, cancelErr := s.Store.RequestCancel(ctx, sessionID); cancelErr != nil {
			return c, ok, cancelErr
		}
	}
	return c, ok, err
}

func TestCancelRequestedBeforeSubscribe(t *testing.T) {
	st := cancelOnClaimStore{memory.New()}
	ctx := context.Background()
	runner := newTestEngine(t, st, "runner", slowScript)
	if _, _, err := runner.OpenSession(ctx, OpenRequest{ID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := runner.PostMessage(ctx, "s1", Message{Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	checkCancelledTurn(t, st, "s1")
}
