package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock func() time.Time) store.Store {
		return openTestStore(t, filepath.Join(t.TempDir(), "agentry.db"), clock)
	}, storetest.Options{
		Reopen: func(t *testing.T, s store.Store, clock func() time.Time) store.Store {
			path := s.(*Store).path
			if err := s.Close(); err != nil {
				t.Fatalf("Close before reopen: %v", err)
			}
			return openTestStore(t, path, clock)
		},
	})
}

// openTestStore opens the store at path with clock and closes it when the
// test ends.
func openTestStore(t testing.TB, path string, clock func() time.Time) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, WithClock(clock), WithLogger(discardLogger()))
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
