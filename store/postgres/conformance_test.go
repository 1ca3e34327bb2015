package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/internal/testenv"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/storetest"
)

// address is what MultiProcess passes to the child process.
type address struct {
	URL    string `json:"url"`
	Schema string `json:"schema"`
}

func TestConformance(t *testing.T) {
	// stores remembers the URL and schema of each store the factory
	// opened, for Reopen and MultiProcess.
	var mu sync.Mutex
	stores := make(map[store.Store]address)
	lookup := func(s store.Store) (address, bool) {
		mu.Lock()
		defer mu.Unlock()
		a, ok := stores[s]
		return a, ok
	}
	remember := func(s store.Store, a address) {
		mu.Lock()
		defer mu.Unlock()
		stores[s] = a
	}
	reopen := func(t *testing.T, s store.Store, clock func() time.Time) store.Store {
		t.Helper()
		a, ok := lookup(s)
		if !ok {
			t.Fatalf("reopen: store %p was not opened by the conformance factory", s)
		}
		_ = s.Close()
		next := openAt(t, a.URL, a.Schema, WithClock(clock))
		remember(next, a)
		return next
	}
	storetest.Run(t, func(t *testing.T, clock func() time.Time) store.Store {
		url := testenv.PostgresURL(t)
		schema := testenv.PostgresSchema(t, url)
		s := openAt(t, url, schema, WithClock(clock))
		remember(s, address{URL: url, Schema: schema})
		return s
	}, storetest.Options{
		Reopen: reopen,
		MultiProcess: &storetest.MultiProcess{
			Address: func(t *testing.T, s store.Store) string {
				a, _ := lookup(s)
				b, err := json.Marshal(a)
				if err != nil {
					t.Fatalf("encode store address: %v", err)
				}
				return string(b)
			},
			Open: func(raw string) (store.Store, error) {
				var a address
				if err := json.Unmarshal([]byte(raw), &a); err != nil {
					return nil, fmt.Errorf("decode store address %q: %w", raw, err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				return Open(ctx, a.URL, WithSchema(a.Schema))
			},
		},
	})
}
