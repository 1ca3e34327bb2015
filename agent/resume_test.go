package agent

import (
	"context"
	"testing"

	"github.com/agentry/agentry/store/memory"
)

// TestResumedTurnKeepsItsID stops the engine that runs a turn, so the
// turn is handed back without a ready, and lets another engine re-run it:
// the session's log must show one turn, one id, one ready.
func TestResumedTurnKeepsItsID(t *testing.T) {
	st := memory.New()
	ctx := context.Background()
	first := newTestEngine(t, st, "first", slowScript)
	if _, _, err := first.OpenSession(ctx, OpenRequest{ID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := first.PostMessage(ctx, "s1", Message{Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, st, "s1", StatusTyping)
	if err := first.Stop(ctx); err != nil {
		t.Fatalf("Stop of the first engine: %v", err)
	}

	newTestEngine(t, st, "second", `- reply: {text: "answered by the second engine"}`)
	evs := waitStatus(t, st, "s1", StatusReady)

	turnIDs := map[string]bool{}
	ready := 0
	for _, ev := range evs {
		if ev.Kind != KindStatus {
			continue
		}
		turnIDs[ev.TurnID] = true
		p, err := DecodePayload(ev)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status == StatusReady {
			ready++
		}
	}
	if len(turnIDs) != 1 {
		t.Errorf("status events carry turn ids %v, want one: the re-run keeps the turn's id", turnIDs)
	}
	if ready != 1 {
		t.Errorf("%d status ready events, want exactly 1; statuses %v", ready, statuses(t, evs))
	}
	if n := countKind(evs, KindAgentMessage); n != 1 {
		t.Errorf("%d agent_message events, want 1", n)
	}
}
