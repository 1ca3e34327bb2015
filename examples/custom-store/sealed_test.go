package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/store/sqlite"
	"github.com/agentry/agentry/store/storetest"
)

var testKey = bytes.Repeat([]byte{7}, 32)

// TestSealedConformance proves the wrapper keeps every promise of the
// store interfaces, over the memory store.
func TestSealedConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock func() time.Time) store.Store {
		s, err := Seal(memory.New(memory.WithClock(clock)), testKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.Options{})
}

func TestSealedPayloadAtRest(t *testing.T) {
	ctx := context.Background()
	inner := memory.New()
	s, err := Seal(inner, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateSession(ctx, store.Session{ID: "s-1"}, nil); err != nil {
		t.Fatal(err)
	}
	payload := json.RawMessage(`{"text":"my card is 4111 1111 1111 1111"}`)
	if _, err := s.Append(ctx, "s-1", []store.NewEvent{{Kind: "message", Payload: payload}}, store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}

	raw, err := inner.ListEvents(ctx, "s-1", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 1 {
		t.Fatalf("inner store has %d events, want 1", len(raw))
	}
	if bytes.Contains(raw[0].Payload, []byte("4111")) {
		t.Errorf("inner store holds the plain payload: %s", raw[0].Payload)
	}
	opened, err := s.ListEvents(ctx, "s-1", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(opened[0].Payload, payload) {
		t.Errorf("ListEvents payload = %s, want %s", opened[0].Payload, payload)
	}
}

func TestSealedWrongKey(t *testing.T) {
	ctx := context.Background()
	inner := memory.New()
	s, err := Seal(inner, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateSession(ctx, store.Session{ID: "s-1"}, []store.NewEvent{{Kind: "message", Payload: json.RawMessage(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	other, err := Seal(inner, bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.ListEvents(ctx, "s-1", 0, 10); err == nil {
		t.Error("ListEvents with another key succeeded; want an authentication error")
	}
}

func TestSealKeyLength(t *testing.T) {
	if _, err := Seal(memory.New(), make([]byte, 16)); err == nil {
		t.Error("Seal accepted a 16-byte key; want an error asking for 32 bytes")
	}
}

// TestSealedSQLiteConformance runs the suite on the wrapper over the
// SQLite store, reopening the same file as a restarted process would.
func TestSealedSQLiteConformance(t *testing.T) {
	open := func(t *testing.T, path string, clock func() time.Time) store.Store {
		inner, err := sqlite.Open(context.Background(), path, sqlite.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Seal(inner, testKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	paths := make(map[store.Store]string)
	storetest.Run(t, func(t *testing.T, clock func() time.Time) store.Store {
		path := filepath.Join(t.TempDir(), "agentry.db")
		s := open(t, path, clock)
		paths[s] = path
		return s
	}, storetest.Options{
		Reopen: func(t *testing.T, s store.Store, clock func() time.Time) store.Store {
			path := paths[s]
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			reopened := open(t, path, clock)
			paths[reopened] = path
			return reopened
		},
	})
}
