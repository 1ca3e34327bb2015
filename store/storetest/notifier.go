package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// subscribeReadRounds is how many events the subscribe-then-read check
// waits for.
const subscribeReadRounds = 40

func (h *harness) notifierChecks() []check {
	return []check{
		{"Same", h.testNotifierSame},
		{"Append", h.testNotifierAppend},
		{"CompleteTurn", h.testNotifierCompleteTurn},
		{"Notify", h.testNotifierNotify},
		{"SubscribeThenRead", h.testNotifierSubscribeThenRead},
		{"RunTopic", h.testNotifierRunTopic},
		{"DeliveryTopic", h.testNotifierDeliveryTopic},
	}
}

// testNotifierSame checks that two calls of Notifier reach the same
// subscribers, as one notifier for the store's life does.
func (h *harness) testNotifierSame(t *testing.T) {
	s, _ := h.open(t)
	first := s.Notifier()
	if first == nil {
		t.Fatal("Notifier() = nil")
	}
	wake, cancel := first.Subscribe("topic-1")
	defer cancel()
	s.Notifier().Notify("topic-1")
	expectWake(t, wake, "Notify on a second Notifier() value")
}

func (h *harness) testNotifierAppend(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")

	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("hi")}, store.AppendOptions{})
		done <- err
	}()
	expectWake(t, wake, "Append")
	if err := <-done; err != nil {
		t.Fatalf("Append: %v", err)
	}
	evs, err := s.ListEvents(ctx, "s-1", 0, listAll)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(evs) != 1 {
		t.Errorf("woken waiter read %d events, want 1", len(evs))
	}
}

func (h *harness) testNotifierCompleteTurn(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	c, trigger := mustHoldTurn(t, s, "s-1", "w1", time.Minute)

	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	drain(wake)
	reply := []store.NewEvent{{Kind: "agent_message", TurnID: "trn_1", Payload: []byte(`{"text":"done"}`)}}
	if _, err := s.CompleteTurn(ctx, c, reply, trigger.Offset+1); err != nil {
		t.Fatalf("CompleteTurn: %v", err)
	}
	expectWake(t, wake, "CompleteTurn")
}

// testNotifierNotify checks the Notifier on its own: Notify wakes every
// subscriber of the topic, and a burst with no reader neither blocks nor
// loses the wake-up.
func (h *harness) testNotifierNotify(t *testing.T) {
	s, _ := h.open(t)
	n := s.Notifier()
	first, cancelFirst := n.Subscribe("topic-1")
	defer cancelFirst()
	second, cancelSecond := n.Subscribe("topic-1")
	defer cancelSecond()

	done := make(chan struct{})
	go func() {
		for range 100 {
			n.Notify("topic-1")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wakeTimeout):
		t.Fatalf("100 Notify calls with no reader did not return within %v", wakeTimeout)
	}
	expectWake(t, first, "Notify (first subscriber)")
	expectWake(t, second, "Notify (second subscriber)")

	cancelFirst()
	cancelFirst()
	drain(second)
	n.Notify("topic-1")
	expectWake(t, second, "Notify after another subscriber cancelled")
}

// testNotifierSubscribeThenRead follows the waiter's rule: subscribe, read
// the store, and wait only when the read found nothing new. An appender
// runs at the same time; the waiter must see every event without missing
// a wake-up.
func (h *harness) testNotifierSubscribeThenRead(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")

	appendErr := make(chan error, 1)
	go func() {
		for i := range subscribeReadRounds {
			if _, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent(string(rune('a' + i%26)))},
				store.AppendOptions{}); err != nil {
				appendErr <- err
				return
			}
		}
		appendErr <- nil
	}()

	next := int64(0)
	for next < subscribeReadRounds {
		wake, cancel := s.Notifier().Subscribe("s-1")
		evs, err := s.ListEvents(ctx, "s-1", next, listAll)
		if err != nil {
			cancel()
			t.Fatalf("ListEvents(%d): %v", next, err)
		}
		for _, ev := range evs {
			if ev.Offset != next {
				cancel()
				t.Fatalf("read offset %d, want %d", ev.Offset, next)
			}
			next++
		}
		if len(evs) == 0 {
			select {
			case <-wake:
			case <-time.After(wakeTimeout):
				cancel()
				t.Fatalf("waiter at offset %d not woken within %v while events were appended", next, wakeTimeout)
			}
		}
		cancel()
	}
	if err := <-appendErr; err != nil {
		t.Fatalf("Append: %v", err)
	}
}

func (h *harness) testNotifierRunTopic(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	r := newRun("run-1")
	r.CallbackURL = testURL
	mustCreateRun(t, s, r)
	wake, cancel := s.Notifier().Subscribe(store.RunTopic("run-1"))
	defer cancel()

	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"CompleteRun", func(t *testing.T) {
			c := mustClaimRun(t, s, "w1", runTTL)
			drain(wake)
			if _, err := s.CompleteRun(ctx, c, store.RunResult{Status: store.RunSucceeded}); err != nil {
				t.Fatalf("CompleteRun: %v", err)
			}
		}},
		{"RecordCallback", func(t *testing.T) {
			c := mustClaimCallback(t, s, "d1", clock.Now())
			drain(wake)
			if _, err := s.RecordCallback(ctx, c, store.CallbackOutcome{State: store.CallbackFailed, LastStatus: 500}); err != nil {
				t.Fatalf("RecordCallback: %v", err)
			}
		}},
		{"RedeliverCallback", func(t *testing.T) {
			drain(wake)
			if _, err := s.RedeliverCallback(ctx, "run-1"); err != nil {
				t.Fatalf("RedeliverCallback: %v", err)
			}
		}},
	}
	for _, step := range steps {
		step.do(t)
		expectWake(t, wake, step.name)
	}

	mustCreateRun(t, s, newRun("run-2"))
	other, cancelOther := s.Notifier().Subscribe(store.RunTopic("run-2"))
	defer cancelOther()
	drain(other)
	if _, err := s.CancelRun(ctx, "run-2"); err != nil {
		t.Fatalf("CancelRun: %v", err)
	}
	expectWake(t, other, "CancelRun")
}

func (h *harness) testNotifierDeliveryTopic(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	wake, cancel := s.Notifier().Subscribe(store.DeliveryTopic)
	defer cancel()

	url := testURL
	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"CreateSession with an initial event", func(t *testing.T) {
			if _, _, err := s.CreateSession(ctx, store.Session{ID: "s1"}, []store.NewEvent{textEvent("hi")}); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
		}},
		{"Append", func(t *testing.T) { mustTrigger(t, s, "s1") }},
		{"CompleteTurn", func(t *testing.T) {
			c := mustClaimTurn(t, s, "s1", "w1", time.Minute)
			drain(wake)
			reply := []store.NewEvent{{Kind: "agent_message", TurnID: "trn_1", Payload: []byte(`{}`)}}
			if _, err := s.CompleteTurn(ctx, c, reply, c.Session.TriggerOffset+1); err != nil {
				t.Fatalf("CompleteTurn: %v", err)
			}
		}},
		{"UpdateSession with a new webhook URL", func(t *testing.T) {
			if _, err := s.UpdateSession(ctx, "s1", store.SessionPatch{WebhookURL: &url}); err != nil {
				t.Fatalf("UpdateSession: %v", err)
			}
		}},
		{"ReleaseDelivery", func(t *testing.T) {
			c := mustClaimDelivery(t, s, webhookSink, "w1", clock.Now())
			drain(wake)
			if err := s.ReleaseDelivery(ctx, c); err != nil {
				t.Fatalf("ReleaseDelivery: %v", err)
			}
		}},
		{"ResumeDelivery", func(t *testing.T) {
			if _, err := s.ResumeDelivery(ctx, "s1", ""); err != nil {
				t.Fatalf("ResumeDelivery: %v", err)
			}
		}},
	}
	for _, step := range steps {
		drain(wake)
		step.do(t)
		expectWake(t, wake, step.name)
	}
}
