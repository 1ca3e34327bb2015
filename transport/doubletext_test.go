package transport_test

import (
	"net/http"
	"testing"

	"github.com/agentry/agentry/transport/wire"
)

const doubleTextScript = `
- when: {user_matches: "^first"}
  reply: {text: "answer to first"}
  delay: 1s
- when: {user_matches: "^second"}
  reply: {text: "answer to second"}
`

// waitTyping polls until the session's turn reports status typing, and
// returns the next offset to read from.
func (e *env) waitTyping(sessionID string) int64 {
	e.t.Helper()
	page := e.poll(sessionID, "kinds=status&wait=5&min_offset=0")
	for !hasStatus(page.Events, wire.StatusTyping) {
		if len(page.Events) == 0 {
			e.t.Fatal("no typing status within 5s")
		}
		page = e.poll(sessionID, "kinds=status&wait=5&min_offset="+itoa(page.NextOffset))
	}
	return page.NextOffset
}

func agentTexts(evs []wire.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == wire.KindAgentMessage {
			out = append(out, ev.Text)
		}
	}
	return out
}

func TestDoubleTextInterrupt(t *testing.T) {
	e := setup(t, scriptManifest("interrupt"), doubleTextScript)
	s := e.open(wire.CreateSessionRequest{})
	e.post(s.ID, "first question")
	e.waitTyping(s.ID)
	e.post(s.ID, "second thought")

	evs := e.waitReady(s.ID, 0, 1)
	texts := agentTexts(evs)
	if len(texts) != 1 || texts[0] != "answer to second" {
		t.Fatalf("replies = %q, want only the restarted turn's reply", texts)
	}
	turnID := ""
	for _, ev := range evs {
		if ev.TurnID == "" {
			continue
		}
		if turnID == "" {
			turnID = ev.TurnID
		}
		if ev.TurnID != turnID {
			t.Errorf("the restarted turn changed turn_id: %s", kinds(evs))
		}
	}
	// No further turn runs: both messages were answered by one reply.
	page := e.poll(s.ID, "wait=1.5&kinds=agent_message&min_offset="+itoa(evs[len(evs)-1].Offset+1))
	if len(page.Events) != 0 {
		t.Errorf("extra reply after the interrupted turn: %s", kinds(page.Events))
	}
}

func TestDoubleTextEnqueue(t *testing.T) {
	e := setup(t, scriptManifest("enqueue"), doubleTextScript)
	s := e.open(wire.CreateSessionRequest{})
	e.post(s.ID, "first question")
	e.waitTyping(s.ID)
	e.post(s.ID, "second thought")

	evs := e.waitReady(s.ID, 0, 2)
	texts := agentTexts(evs)
	if len(texts) != 2 || texts[0] != "answer to first" || texts[1] != "answer to second" {
		t.Fatalf("replies = %q, want one per message in order", texts)
	}
}

func TestDoubleTextReject(t *testing.T) {
	e := setup(t, scriptManifest("reject"), doubleTextScript)
	s := e.open(wire.CreateSessionRequest{})
	e.post(s.ID, "first question")
	r := e.do("POST", "/sessions/"+s.ID+"/messages", wire.PostMessageRequest{Text: "second thought"})
	if r.status != http.StatusConflict || r.errorCode(t).Code != wire.CodeConflict {
		t.Fatalf("message during a turn: %d %s, want 409 conflict", r.status, r.body)
	}
	evs := e.waitReady(s.ID, 0, 1)
	for _, ev := range evs {
		if ev.Kind == wire.KindUserMessage && ev.Text == "second thought" {
			t.Error("the rejected message was stored")
		}
	}
	// Once the turn is over, messages are accepted again.
	e.post(s.ID, "second thought")
}

func TestManualModeMidTurnStopsReply(t *testing.T) {
	e := setup(t, scriptManifest("interrupt"), doubleTextScript)
	s := e.open(wire.CreateSessionRequest{})
	e.post(s.ID, "first question")
	e.waitTyping(s.ID)
	manual := "manual"
	r := e.do("PATCH", "/sessions/"+s.ID, wire.PatchSessionRequest{Mode: &manual})
	if r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	var patched wire.Session
	r.decode(t, &patched)

	evs := e.waitReady(s.ID, 0, 1)
	if texts := agentTexts(evs); len(texts) != 0 {
		t.Errorf("the agent replied after the switch to manual: %q", texts)
	}
	if !hasStatus(evs, wire.StatusCancelled) {
		t.Errorf("no cancelled status: %s", kinds(evs))
	}
	modeAt := int64(-1)
	for _, ev := range evs {
		if ev.Kind == wire.KindMode {
			modeAt = ev.Offset
		}
	}
	if modeAt < 0 || patched.NextOffset <= modeAt {
		t.Errorf("PATCH returned next_offset %d, want past the mode event at %d", patched.NextOffset, modeAt)
	}
}
