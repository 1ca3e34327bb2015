package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

func (h *harness) sessionChecks() []check {
	return []check{
		{"Create", h.testSessionCreate},
		{"CreateExisting", h.testSessionCreateExisting},
		{"DeletedIDConflict", h.testSessionDeletedIDConflict},
		{"ListPagination", h.testSessionListPagination},
		{"Update", h.testSessionUpdate},
	}
}

func (h *harness) testSessionCreate(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	in := store.Session{
		ID:              "s-1",
		CustomerID:      "c-1",
		Variables:       map[string]any{"lang": "en"},
		Metadata:        map[string]any{"source": "web"},
		WebhookURL:      testURL,
		NextOffset:      99,
		TriggerOffset:   7,
		ProcessedOffset: 3,
		Lease:           store.Lease{Owner: "intruder", Token: "t", Expires: clock.Now().Add(time.Hour)},
	}
	initial := []store.NewEvent{textEvent("greeting"), textEvent("second")}
	sess, created, err := s.CreateSession(ctx, in, initial)
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if !created {
		t.Errorf("created = false for a new id")
	}
	if sess.ID != "s-1" || sess.CustomerID != "c-1" || sess.WebhookURL != testURL {
		t.Errorf("CreateSession = id %q customer %q url %q, want s-1, c-1, %q",
			sess.ID, sess.CustomerID, sess.WebhookURL, testURL)
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
	if !noLease(sess.Lease) {
		t.Errorf("Lease = %+v, want none", sess.Lease)
	}
	if sess.Mode != store.ModeAuto {
		t.Errorf("Mode = %q, want %q for an empty mode", sess.Mode, store.ModeAuto)
	}
	if sess.NeedsTurn() {
		t.Errorf("NeedsTurn = true for a session created with non-trigger events")
	}

	stored := mustGetSession(t, s, "s-1")
	if !sameMap(stored.Variables, in.Variables) || !sameMap(stored.Metadata, in.Metadata) {
		t.Errorf("stored maps = %v and %v, want %v and %v",
			stored.Variables, stored.Metadata, in.Variables, in.Metadata)
	}
	if stored.NextOffset != 2 || stored.TriggerOffset != -1 || !noLease(stored.Lease) {
		t.Errorf("stored session = next %d trigger %d lease %+v, want 2, -1, none",
			stored.NextOffset, stored.TriggerOffset, stored.Lease)
	}
	if !stored.CreatedAt.Equal(clock.Now()) {
		t.Errorf("CreatedAt = %v, want the clock's %v", stored.CreatedAt, clock.Now())
	}
	if _, ok, err := s.ClaimTurn(ctx, "s-1", "w1", time.Minute); err != nil || ok {
		t.Errorf("ClaimTurn of a new session = %v, %v; want false, nil (nothing to answer)", ok, err)
	}

	evs, err := s.ListEvents(ctx, "s-1", 0, listAll)
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
		if string(ev.Payload) != string(initial[i].Payload) {
			t.Errorf("event %d Payload = %s, want %s", i, ev.Payload, initial[i].Payload)
		}
	}

	manual, _, err := s.CreateSession(ctx, store.Session{ID: "s-2", Mode: store.ModeManual}, nil)
	if err != nil {
		t.Fatalf("CreateSession(manual): %v", err)
	}
	if manual.Mode != store.ModeManual || manual.NextOffset != 0 {
		t.Errorf("CreateSession(manual) = mode %q next %d, want manual and 0", manual.Mode, manual.NextOffset)
	}
	if _, _, err := s.CreateSession(ctx, store.Session{}, nil); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("CreateSession(empty id) error = %v, want ErrInvalidArgument", err)
	}
	if _, err := s.GetSession(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(unknown) error = %v, want ErrNotFound", err)
	}
}

func (h *harness) testSessionCreateExisting(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	first, _, err := s.CreateSession(ctx, store.Session{ID: "s-1", CustomerID: "c-1"},
		[]store.NewEvent{textEvent("greeting")})
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	clock.Advance(time.Second)

	again, created, err := s.CreateSession(ctx, store.Session{ID: "s-1", CustomerID: "other", Mode: store.ModeManual},
		[]store.NewEvent{textEvent("ignored")})
	if err != nil {
		t.Fatalf("second CreateSession: %v", err)
	}
	if created {
		t.Errorf("second CreateSession: created = true for an existing id")
	}
	if again.CustomerID != "c-1" || again.Mode != store.ModeAuto {
		t.Errorf("second CreateSession = customer %q mode %q, want the stored c-1 and auto", again.CustomerID, again.Mode)
	}
	if again.NextOffset != 1 {
		t.Errorf("second CreateSession: NextOffset = %d, want 1 (initial events not appended again)", again.NextOffset)
	}
	if !again.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("second CreateSession: CreatedAt = %v, want %v", again.CreatedAt, first.CreatedAt)
	}
	if stored := mustGetSession(t, s, "s-1"); stored.CustomerID != "c-1" || stored.NextOffset != 1 {
		t.Errorf("stored session = customer %q next %d, want c-1 and 1", stored.CustomerID, stored.NextOffset)
	}
}

func (h *harness) testSessionDeletedIDConflict(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")
	appendN(t, s, "s-1", 2)
	if err := s.DeleteSession(ctx, "s-1"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}

	if _, _, err := s.CreateSession(ctx, store.Session{ID: "s-1"}, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession(deleted id) error = %v, want ErrConflict", err)
	}
	if _, err := s.GetSession(ctx, "s-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(deleted) error = %v, want ErrNotFound", err)
	}
	if _, err := s.ListEvents(ctx, "s-1", 0, listAll); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ListEvents(deleted) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("x")}, store.AppendOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Append(deleted) error = %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateSession(ctx, "s-1", store.SessionPatch{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateSession(deleted) error = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, "s-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteSession error = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSession(unknown) error = %v, want ErrNotFound", err)
	}
	page, _, err := s.ListSessions(ctx, store.SessionFilter{})
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	if len(page) != 0 {
		t.Errorf("ListSessions after delete returned %d sessions, want 0", len(page))
	}
}

func (h *harness) testSessionListPagination(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	// 131 sessions, one deleted, leave no page exactly full, so the end
	// of the list is always a short page with an empty cursor.
	const total = 131
	var want, wantEven []string
	for i := range total {
		id := fmt.Sprintf("s-%03d", i)
		customer := "odd"
		if i%2 == 0 {
			customer = "even"
		}
		if _, _, err := s.CreateSession(ctx, store.Session{ID: id, CustomerID: customer}, nil); err != nil {
			t.Fatalf("CreateSession(%q): %v", id, err)
		}
		if i == 101 {
			continue
		}
		want = append(want, id)
		if customer == "even" {
			wantEven = append(wantEven, id)
		}
	}
	// Deleting a session in the middle of a page must not shift the others.
	if err := s.DeleteSession(ctx, "s-101"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}

	tests := []struct {
		name      string
		customer  string
		limit     int
		want      []string
		wantPages int
	}{
		{"all by 40", "", 40, want, 4},
		{"all by default", "", 0, want, 3},
		{"all in one", "", 5000, want, 1},
		{"customer by 30", "even", 30, wantEven, 3},
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

func (h *harness) testSessionUpdate(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	_, _, err := s.CreateSession(ctx, store.Session{
		ID:         "s-1",
		Variables:  map[string]any{"lang": "en", "plan": "free"},
		Metadata:   map[string]any{"src": "web"},
		WebhookURL: testURL,
	}, nil)
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	clock.Advance(time.Second)
	manual := store.ModeManual
	got, err := s.UpdateSession(ctx, "s-1", store.SessionPatch{
		Mode:      &manual,
		Variables: map[string]any{"plan": "pro", "lang": nil, "seats": 2},
	})
	if err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	if got.Mode != store.ModeManual {
		t.Errorf("Mode = %q, want manual", got.Mode)
	}
	if got.WebhookURL != testURL {
		t.Errorf("WebhookURL = %q, want it unchanged", got.WebhookURL)
	}
	wantVars := map[string]any{"plan": "pro", "seats": 2}
	if !sameMap(got.Variables, wantVars) {
		t.Errorf("Variables = %v, want %v", got.Variables, wantVars)
	}
	if want := map[string]any{"src": "web"}; !sameMap(got.Metadata, want) {
		t.Errorf("Metadata = %v, want %v", got.Metadata, want)
	}
	if !got.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("UpdatedAt = %v, want %v", got.UpdatedAt, clock.Now())
	}

	got.Variables["plan"] = "mutated"
	stored := mustGetSession(t, s, "s-1")
	if !sameMap(stored.Variables, wantVars) {
		t.Errorf("stored Variables = %v, want %v: a write to a returned map reached the store", stored.Variables, wantVars)
	}
	if stored.Mode != store.ModeManual {
		t.Errorf("stored Mode = %q, want manual", stored.Mode)
	}

	empty := ""
	got, err = s.UpdateSession(ctx, "s-1", store.SessionPatch{WebhookURL: &empty, Metadata: map[string]any{"src": nil}})
	if err != nil {
		t.Fatalf("UpdateSession(clear URL): %v", err)
	}
	if got.WebhookURL != "" || !sameMap(got.Metadata, nil) || got.Mode != store.ModeManual {
		t.Errorf("UpdateSession(clear URL) = url %q metadata %v mode %q, want empty, empty, manual",
			got.WebhookURL, got.Metadata, got.Mode)
	}

	if _, err := s.UpdateSession(ctx, "nobody", store.SessionPatch{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateSession(unknown) error = %v, want ErrNotFound", err)
	}
}
