package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fakeClock is a settable clock for lease-expiry tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTestStore opens a store in a new temporary directory with a fake
// clock.
func newTestStore(t testing.TB) (*Store, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
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
