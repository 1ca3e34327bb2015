package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/agentry/agentry/llm/scripted"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/tool"
)

// newTestEngine returns an engine over st whose chat model follows script.
func newTestEngine(t *testing.T, st store.Store, owner, script string) *Engine {
	t.Helper()
	return newToolEngine(t, st, owner, script, nil)
}

// newToolEngine is newTestEngine with tools offered to the chat model.
func newToolEngine(t *testing.T, st store.Store, owner, script string, tools *tool.Registry) *Engine {
	t.Helper()
	sc, err := scripted.ParseScript([]byte(script))
	if err != nil {
		t.Fatal(err)
	}
	model, err := scripted.New("test", scripted.WithScript(sc))
	if err != nil {
		t.Fatal(err)
	}
	m := &manifest.Manifest{ID: "t", AgentConfig: manifest.AgentConfig{LLMs: manifest.LLMs{Default: "scripted/test"}}}
	m.ApplyDefaults()
	e, err := New(Config{
		Manifest:      m,
		Store:         st,
		Chat:          model,
		Tools:         tools,
		Owner:         owner,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		LeaseTTL:      time.Second,
		SweepInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return e
}

// waitEvents polls the store until the session has n events of kind, or
// fails after 10 s, and returns every event.
func waitEvents(t *testing.T, st store.Store, sid, kind string, n int) []store.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := st.ListEvents(context.Background(), sid, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for _, ev := range evs {
			if ev.Kind == kind {
				count++
			}
		}
		if count >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s events within 10s, want %d", count, kind, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countKind(evs []store.Event, kind string) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

func appendCustomerMessage(t *testing.T, st store.Store, sid, text string) {
	t.Helper()
	ev := newEvent(KindUserMessage, "", Payload{Text: text, Source: SourceCustomer})
	if _, err := st.Append(context.Background(), sid, []store.NewEvent{ev}, store.AppendOptions{Trigger: true}); err != nil {
		t.Fatal(err)
	}
}

func TestTurnTakenOverAfterLeaseExpires(t *testing.T) {
	st := memory.New()
	ctx := context.Background()
	if _, _, err := st.CreateSession(ctx, store.Session{ID: "s1"}, nil); err != nil {
		t.Fatal(err)
	}
	appendCustomerMessage(t, st, "s1", "hello")
	// A process claims the turn and dies without a heartbeat.
	if _, ok, err := st.ClaimTurn(ctx, "s1", "dead-process", 300*time.Millisecond); err != nil || !ok {
		t.Fatalf("claim by the dead process: ok=%v err=%v", ok, err)
	}

	newTestEngine(t, st, "survivor", `- reply: {text: "taken over"}`)
	waitEvents(t, st, "s1", KindAgentMessage, 1)
	time.Sleep(200 * time.Millisecond)
	evs, _ := st.ListEvents(ctx, "s1", 0, 0)
	if n := countKind(evs, KindAgentMessage); n != 1 {
		t.Errorf("%d replies, want 1", n)
	}
	sess, _ := st.GetSession(ctx, "s1")
	if sess.NeedsTurn() {
		t.Error("session still needs a turn after the takeover")
	}
}

func TestStopHandsTurnBack(t *testing.T) {
	st := memory.New()
	ctx := context.Background()
	if _, _, err := st.CreateSession(ctx, store.Session{ID: "s1"}, nil); err != nil {
		t.Fatal(err)
	}
	slow := newTestEngine(t, st, "slow", "- reply: {text: \"from the slow process\"}\n  delay: 30s\n")
	appendCustomerMessage(t, st, "s1", "hello")
	slow.Wake("s1")
	waitEvents(t, st, "s1", KindStatus, 3) // acknowledged, processing, typing

	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := slow.Stop(stopCtx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	sess, _ := st.GetSession(ctx, "s1")
	if !sess.NeedsTurn() || sess.Lease.Held(time.Now()) {
		t.Fatalf("after Stop: needs turn %v, lease %+v; want the turn handed back", sess.NeedsTurn(), sess.Lease)
	}

	newTestEngine(t, st, "next", `- reply: {text: "from the next process"}`)
	evs := waitEvents(t, st, "s1", KindAgentMessage, 1)
	if n := countKind(evs, KindAgentMessage); n != 1 {
		t.Errorf("%d replies, want 1", n)
	}
	for _, ev := range evs {
		p, _ := DecodePayload(ev)
		if ev.Kind == KindAgentMessage && p.Text != "from the next process" {
			t.Errorf("reply %q came from the stopped process", p.Text)
		}
	}
}

func TestOneTurnPerSessionAcrossEngines(t *testing.T) {
	st := memory.New()
	ctx := context.Background()
	if _, _, err := st.CreateSession(ctx, store.Session{ID: "s1"}, nil); err != nil {
		t.Fatal(err)
	}
	script := "- reply: {text: \"answer\"}\n  delay: 100ms\n"
	a := newTestEngine(t, st, "a", script)
	b := newTestEngine(t, st, "b", script)
	appendCustomerMessage(t, st, "s1", "hello")
	a.Wake("s1")
	b.Wake("s1")
	waitEvents(t, st, "s1", KindAgentMessage, 1)
	time.Sleep(300 * time.Millisecond)
	evs, _ := st.ListEvents(ctx, "s1", 0, 0)
	if n := countKind(evs, KindAgentMessage); n != 1 {
		t.Errorf("%d replies from two engines, want 1", n)
	}
	acks := 0
	for _, ev := range evs {
		if p, _ := DecodePayload(ev); p.Status == StatusAcknowledged {
			acks++
		}
	}
	if acks != 1 {
		t.Errorf("%d turns started, want 1", acks)
	}
}

func TestHistoryReadsOnlyTheTail(t *testing.T) {
	st := memory.New()
	ctx := context.Background()
	if _, _, err := st.CreateSession(ctx, store.Session{ID: "long"}, nil); err != nil {
		t.Fatal(err)
	}
	var evs []store.NewEvent
	for i := range 1000 {
		evs = append(evs, newEvent(KindUserMessage, "", Payload{Text: fmt.Sprintf("message %d", i), Source: SourceCustomer}))
	}
	if _, err := st.Append(ctx, "long", evs, store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, st, "o", `- reply: {text: "x"}`)
	e.prompt.contextWindow = 256 // 1 KiB of payload by the local estimate

	got, err := e.history(ctx, "long", 999)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || len(got) > historyPage {
		t.Fatalf("read %d events, want one page of at most %d", len(got), historyPage)
	}
	if got[len(got)-1].Offset != 999 {
		t.Errorf("last event read is %d, want the target 999", got[len(got)-1].Offset)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Offset != got[i-1].Offset+1 {
			t.Fatalf("events not contiguous at %d", i)
		}
	}

	e.prompt.contextWindow = 1 << 20
	all, err := e.history(ctx, "long", 999)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1000 || all[0].Offset != 0 {
		t.Errorf("with a large window read %d events from %d, want all 1000", len(all), all[0].Offset)
	}
}
