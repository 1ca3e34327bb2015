package memory

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/agentry/agentry/store"
)

func TestSessionCreate(t *testing.T) {
	ctx := context.Background()
	s := New()
	in := store.Session{
		ID:              "s-1",
		CustomerID:      "c-1",
		Variables:       map[string]any{"lang": "en"},
		NextOffset:      99,
		TriggerOffset:   7,
		ProcessedOffset: 3,
		Lease:           store.Lease{Owner: "intruder"},
	}
	initial := []store.NewEvent{textEvent("greeting"), textEvent("second")}
	sess, created, err := s.CreateSession(ctx, in, initial)
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if !created {
		t.Errorf("created = false for a new id")
	}
	if sess.NextOffset != 2 {
		t.Errorf("NextOffset = %d, want 2 (the initial events)", sess.NextOffset)
	}
	if sess.TriggerOffset != -1 {
		t.Errorf("TriggerOffset = %d, want -1", sess.TriggerOffset)
	}
	if sess.ProcessedOffset != 0 {
		t.Errorf("ProcessedOffset = %d, want 0", sess.ProcessedOffset)
	}
	if sess.Lease != (store.Lease{}) {
		t.Errorf("Lease = %+v, want none", sess.Lease)
	}
	if sess.Mode != store.ModeAuto {
		t.Errorf("Mode = %q, want %q", sess.Mode, store.ModeAuto)
	}
	if sess.NeedsTurn() {
		t.Errorf("NeedsTurn = true for a session created with non-trigger events")
	}

	evs, err := s.ListEvents(ctx, "s-1", 0, 0)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(evs) != 2 {
		t.Fatalf("ListEvents returned %d events, want 2", len(evs))
	}
	for i, ev := range evs {
		if ev.Offset != int64(i) {
			t.Errorf("event %d Offset = %d", i, ev.Offset)
		}
		if ev.SessionID != "s-1" {
			t.Errorf("event %d SessionID = %q, want s-1", i, ev.SessionID)
		}
	}

	again, created, err := s.CreateSession(ctx, store.Session{ID: "s-1", CustomerID: "other"},
		[]store.NewEvent{textEvent("ignored")})
	if err != nil {
		t.Fatalf("second CreateSession: %v", err)
	}
	if created {
		t.Errorf("second CreateSession: created = true for an existing id")
	}
	if again.CustomerID != "c-1" {
		t.Errorf("second CreateSession changed CustomerID to %q", again.CustomerID)
	}
	if again.NextOffset != 2 {
		t.Errorf("second CreateSession: NextOffset = %d, want 2 (initial events not appended again)",
			again.NextOffset)
	}
}

func TestSessionDeletedIDConflict(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s-1")
	if err := s.DeleteSession(ctx, "s-1"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}

	if _, _, err := s.CreateSession(ctx, store.Session{ID: "s-1"}, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession(deleted id) error = %v, want ErrConflict", err)
	}
	if _, err := s.GetSession(ctx, "s-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(deleted) error = %v, want ErrNotFound", err)
	}
	if _, err := s.ListEvents(ctx, "s-1", 0, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ListEvents(deleted) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("x")}, store.AppendOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Append(deleted) error = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, "s-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteSession error = %v, want ErrNotFound", err)
	}
	page, _, err := s.ListSessions(ctx, store.SessionFilter{})
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	if len(page) != 0 {
		t.Errorf("ListSessions after delete returned %d sessions, want 0", len(page))
	}
}

func TestSessionListPagination(t *testing.T) {
	ctx := context.Background()
	s := New()
	const total = 250
	var want, wantEven []string
	for i := range total {
		id := fmt.Sprintf("s-%03d", i)
		customer := "odd"
		if i%2 == 0 {
			customer = "even"
			wantEven = append(wantEven, id)
		}
		if _, _, err := s.CreateSession(ctx, store.Session{ID: id, CustomerID: customer}, nil); err != nil {
			t.Fatalf("CreateSession(%q): %v", id, err)
		}
		want = append(want, id)
	}
	// Deleting a session in the middle of a page must not shift the others.
	if err := s.DeleteSession(ctx, "s-101"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	want = append(want[:101:101], want[102:]...)

	tests := []struct {
		name      string
		customer  string
		limit     int
		want      []string
		wantPages int
	}{
		{"all by 40", "", 40, want, 7},
		{"all by default", "", 0, want, 5},
		{"all in one", "", 5000, want, 1},
		{"customer by 30", "even", 30, wantEven, 5},
		{"unknown customer", "nobody", 10, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			cursor := ""
			pages := 0
			for {
				page, next, err := s.ListSessions(ctx, store.SessionFilter{
					CustomerID: tt.customer, Limit: tt.limit, Cursor: cursor,
				})
				if err != nil {
					t.Fatalf("ListSessions page %d: %v", pages, err)
				}
				pages++
				if limit := store.ClampListLimit(tt.limit); len(page) > limit {
					t.Fatalf("page %d has %d sessions, limit is %d", pages, len(page), limit)
				}
				for _, sess := range page {
					got = append(got, sess.ID)
				}
				if next == "" {
					break
				}
				if pages > total {
					t.Fatalf("no end after %d pages", pages)
				}
				cursor = next
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("listed %d ids, want %d in creation order\ngot  %v\nwant %v",
					len(got), len(tt.want), got, tt.want)
			}
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
		})
	}

	if _, _, err := s.ListSessions(ctx, store.SessionFilter{Cursor: "not-a-cursor"}); !errors.Is(err, store.ErrInvalidCursor) {
		t.Errorf("ListSessions(bad cursor) error = %v, want ErrInvalidCursor", err)
	}
}

func TestSessionUpdate(t *testing.T) {
	ctx := context.Background()
	s := New()
	_, _, err := s.CreateSession(ctx, store.Session{
		ID:         "s-1",
		Variables:  map[string]any{"lang": "en", "plan": "free"},
		Metadata:   map[string]any{"src": "web"},
		WebhookURL: "http://127.0.0.1:1/hook",
	}, nil)
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	manual := store.ModeManual
	got, err := s.UpdateSession(ctx, "s-1", store.SessionPatch{
		Mode:      &manual,
		Variables: map[string]any{"plan": "pro", "lang": nil},
	})
	if err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	if got.Mode != store.ModeManual {
		t.Errorf("Mode = %q, want manual", got.Mode)
	}
	if got.WebhookURL != "http://127.0.0.1:1/hook" {
		t.Errorf("WebhookURL = %q, want it unchanged", got.WebhookURL)
	}
	if want := map[string]any{"plan": "pro"}; !reflect.DeepEqual(got.Variables, want) {
		t.Errorf("Variables = %v, want %v", got.Variables, want)
	}
	if want := map[string]any{"src": "web"}; !reflect.DeepEqual(got.Metadata, want) {
		t.Errorf("Metadata = %v, want %v", got.Metadata, want)
	}

	got.Variables["plan"] = "mutated"
	stored, err := s.GetSession(ctx, "s-1")
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if stored.Variables["plan"] != "pro" {
		t.Errorf("write to a returned map reached the store: %v", stored.Variables)
	}

	if _, err := s.UpdateSession(ctx, "nobody", store.SessionPatch{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateSession(unknown) error = %v, want ErrNotFound", err)
	}
}
