package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// mustCreate creates a session with the given id and no initial events.
func mustCreate(t testing.TB, s *Store, id string) store.Session {
	t.Helper()
	sess, created, err := s.CreateSession(context.Background(), store.Session{ID: id}, nil)
	if err != nil {
		t.Fatalf("CreateSession(%q): %v", id, err)
	}
	if !created {
		t.Fatalf("CreateSession(%q): created = false for a new id", id)
	}
	return sess
}

// textEvent returns a user_message event with the given text.
func textEvent(text string) store.NewEvent {
	payload, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		panic(fmt.Sprintf("marshal payload: %v", err))
	}
	return store.NewEvent{Kind: "user_message", Payload: payload}
}

// mustTrigger appends one triggering event and returns it.
func mustTrigger(t testing.TB, s *Store, id string) store.Event {
	t.Helper()
	evs, err := s.Append(context.Background(), id, []store.NewEvent{textEvent("hello")},
		store.AppendOptions{Trigger: true})
	if err != nil {
		t.Fatalf("Append(%q, trigger): %v", id, err)
	}
	return evs[0]
}

// newRun returns a queued run of routine "triage" with the given id.
func newRun(id string) store.Run {
	return store.Run{
		ID:        id,
		RoutineID: "triage",
		Status:    store.RunQueued,
		Input:     json.RawMessage(`{"ticket":"T-1"}`),
		Trigger:   store.RunTrigger{Source: "api"},
	}
}

func mustCreateRun(t testing.TB, s *Store, r store.Run) store.Run {
	t.Helper()
	got, created, err := s.CreateRun(context.Background(), r)
	if err != nil {
		t.Fatalf("CreateRun(%q): %v", r.ID, err)
	}
	if !created {
		t.Fatalf("CreateRun(%q): created = false for a new run", r.ID)
	}
	return got
}

func mustClaimRun(t testing.TB, s *Store, owner string, ttl time.Duration) store.RunClaim {
	t.Helper()
	c, ok, err := s.ClaimRun(context.Background(), owner, ttl)
	if err != nil {
		t.Fatalf("ClaimRun(%q): %v", owner, err)
	}
	if !ok {
		t.Fatalf("ClaimRun(%q): ok = false, want a claimable run", owner)
	}
	return c
}

// mustEndRun creates a run with a callback URL, claims it and completes
// it, so its callback is due at the clock's time.
func mustEndRun(t testing.TB, s *Store, id string) {
	t.Helper()
	r := newRun(id)
	r.CallbackURL = "http://127.0.0.1:9/callback"
	mustCreateRun(t, s, r)
	c := mustClaimRun(t, s, "runner", time.Minute)
	if _, err := s.CompleteRun(context.Background(), c, store.RunResult{Status: store.RunSucceeded}); err != nil {
		t.Fatalf("CompleteRun(%q): %v", id, err)
	}
}
