package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/storetest"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newTestStore opens a store in a new temporary directory with a clock
// that moves only when the test advances it.
func newTestStore(t testing.TB) (*Store, *storetest.Clock) {
	t.Helper()
	clock := storetest.NewClock()
	return openTestStore(t, filepath.Join(t.TempDir(), "agentry.db"), clock.Now), clock
}

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
