package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// exactPayload is a JSON object whose key order, spacing and number
// spelling a JSON normaliser would change. Stores must return it byte for
// byte.
const exactPayload = `{"b":1, "a":[1.0, 9007199254740993],  "c" : {"z":"\u00e9", "y":null}}`

// Concurrent appends: enough to interleave, few enough that a SQL store
// over loopback finishes in seconds.
const (
	appendWriters   = 16
	appendsPerWrite = 25
)

func (h *harness) eventChecks() []check {
	return []check{
		{"Append", h.testAppend},
		{"AppendTrigger", h.testAppendTrigger},
		{"AppendRequireIdle", h.testAppendRequireIdle},
		{"ListRange", h.testListEventsRange},
		{"PayloadBytes", h.testEventPayloadBytes},
		{"PayloadCopies", h.testEventPayloadCopies},
		{"GaplessConcurrent", h.testAppendGaplessConcurrent},
	}
}

func (h *harness) testAppend(t *testing.T) {
	ctx := context.Background()
	s, clock := h.open(t)
	mustCreate(t, s, "s-1")
	clock.Advance(time.Second)

	in := []store.NewEvent{
		{Kind: "user_message", TurnID: "", Payload: json.RawMessage(`{"text":"hi"}`)},
		{Kind: "agent_message", TurnID: "trn_1", Payload: json.RawMessage(`{"text":"hello"}`)},
	}
	evs, err := s.Append(ctx, "s-1", in, store.AppendOptions{})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(evs) != 2 {
		t.Fatalf("Append returned %d events, want 2", len(evs))
	}
	listed, err := s.ListEvents(ctx, "s-1", 0, listAll)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(listed) != 2 {
		t.Fatalf("ListEvents returned %d events, want 2", len(listed))
	}
	for i := range in {
		for _, ev := range []store.Event{evs[i], listed[i]} {
			if ev.SessionID != "s-1" || ev.Offset != int64(i) || ev.Kind != in[i].Kind || ev.TurnID != in[i].TurnID {
				t.Errorf("event %d = session %q offset %d kind %q turn %q, want s-1, %d, %q, %q",
					i, ev.SessionID, ev.Offset, ev.Kind, ev.TurnID, i, in[i].Kind, in[i].TurnID)
			}
			if string(ev.Payload) != string(in[i].Payload) {
				t.Errorf("event %d Payload = %s, want %s", i, ev.Payload, in[i].Payload)
			}
			if !ev.CreatedAt.Equal(clock.Now()) {
				t.Errorf("event %d CreatedAt = %v, want the clock's %v", i, ev.CreatedAt, clock.Now())
			}
		}
	}
	sess := mustGetSession(t, s, "s-1")
	if sess.NextOffset != 2 || sess.TriggerOffset != -1 || sess.NeedsTurn() {
		t.Errorf("session after a plain append = next %d trigger %d needs turn %v, want 2, -1, false",
			sess.NextOffset, sess.TriggerOffset, sess.NeedsTurn())
	}

	none, err := s.Append(ctx, "s-1", nil, store.AppendOptions{Trigger: true})
	if err != nil {
		t.Fatalf("Append(no events): %v", err)
	}
	if len(none) != 0 {
		t.Errorf("Append(no events) returned %d events, want 0", len(none))
	}
	if sess := mustGetSession(t, s, "s-1"); sess.NextOffset != 2 || sess.TriggerOffset != -1 {
		t.Errorf("session after an empty append = next %d trigger %d, want 2 and -1", sess.NextOffset, sess.TriggerOffset)
	}
}

func (h *harness) testAppendTrigger(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")

	appendN(t, s, "s-1", 1)
	evs, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("b"), textEvent("c")},
		store.AppendOptions{Trigger: true})
	if err != nil {
		t.Fatalf("Append(trigger): %v", err)
	}
	if len(evs) != 2 || evs[0].Offset != 1 || evs[1].Offset != 2 {
		t.Fatalf("Append(trigger) = %d events, want offsets 1 and 2", len(evs))
	}
	sess := mustGetSession(t, s, "s-1")
	if sess.TriggerOffset != evs[1].Offset {
		t.Errorf("TriggerOffset = %d, want %d (the last appended event)", sess.TriggerOffset, evs[1].Offset)
	}
	if !sess.NeedsTurn() {
		t.Errorf("NeedsTurn = false after a trigger")
	}
	if sess.NextOffset != 3 {
		t.Errorf("NextOffset = %d, want 3", sess.NextOffset)
	}
	appendN(t, s, "s-1", 1)
	if sess := mustGetSession(t, s, "s-1"); sess.TriggerOffset != evs[1].Offset {
		t.Errorf("TriggerOffset = %d after a plain append, want it kept at %d", sess.TriggerOffset, evs[1].Offset)
	}

	if _, err := s.Append(ctx, "nobody", []store.NewEvent{textEvent("x")}, store.AppendOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Append(unknown) error = %v, want ErrNotFound", err)
	}
}

func (h *harness) testAppendRequireIdle(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, s store.Store, clock *Clock)
		wantErr error
	}{
		{
			name:    "idle",
			prepare: func(t *testing.T, s store.Store, clock *Clock) {},
		},
		{
			name: "trigger pending",
			prepare: func(t *testing.T, s store.Store, clock *Clock) {
				mustTrigger(t, s, "s-1")
			},
			wantErr: store.ErrTurnBusy,
		},
		{
			name: "lease held",
			prepare: func(t *testing.T, s store.Store, clock *Clock) {
				mustTrigger(t, s, "s-1")
				mustClaimTurn(t, s, "s-1", "w1", time.Minute)
			},
			wantErr: store.ErrTurnBusy,
		},
		{
			name: "turn completed below the trigger",
			prepare: func(t *testing.T, s store.Store, clock *Clock) {
				trigger := mustTrigger(t, s, "s-1")
				c := mustClaimTurn(t, s, "s-1", "w1", time.Minute)
				// Processed stays below the trigger, so the session still
				// needs a turn and must stay busy.
				if _, err := s.CompleteTurn(context.Background(), c, nil, trigger.Offset); err != nil {
					t.Fatalf("CompleteTurn: %v", err)
				}
			},
			wantErr: store.ErrTurnBusy,
		},
		{
			name: "turn completed",
			prepare: func(t *testing.T, s store.Store, clock *Clock) {
				trigger := mustTrigger(t, s, "s-1")
				c := mustClaimTurn(t, s, "s-1", "w1", time.Minute)
				if _, err := s.CompleteTurn(context.Background(), c, nil, trigger.Offset+1); err != nil {
					t.Fatalf("CompleteTurn: %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, clock := h.open(t)
			mustCreate(t, s, "s-1")
			tt.prepare(t, s, clock)
			before := mustGetSession(t, s, "s-1")

			_, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("tool result")},
				store.AppendOptions{RequireIdle: true})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Append(RequireIdle) error = %v, want %v", err, tt.wantErr)
			}
			after := mustGetSession(t, s, "s-1")
			wantNext := before.NextOffset + 1
			if tt.wantErr != nil {
				wantNext = before.NextOffset
			}
			if after.NextOffset != wantNext {
				t.Errorf("NextOffset = %d, want %d", after.NextOffset, wantNext)
			}
		})
	}
}

func (h *harness) testListEventsRange(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")
	for range 10 {
		appendN(t, s, "s-1", 1)
	}
	tests := []struct {
		name      string
		from      int64
		limit     int
		wantFirst int64
		wantLen   int
	}{
		{"all", 0, listAll, 0, 10},
		{"from middle", 4, listAll, 4, 6},
		{"limited", 2, 3, 2, 3},
		{"limit past end", 8, 50, 8, 2},
		{"at end", 10, 5, 0, 0},
		{"past end", 99, 5, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := s.ListEvents(ctx, "s-1", tt.from, tt.limit)
			if err != nil {
				t.Fatalf("ListEvents(%d, %d): %v", tt.from, tt.limit, err)
			}
			if len(evs) != tt.wantLen {
				t.Fatalf("ListEvents(%d, %d) returned %d events, want %d", tt.from, tt.limit, len(evs), tt.wantLen)
			}
			for i, ev := range evs {
				if want := tt.wantFirst + int64(i); ev.Offset != want {
					t.Errorf("event %d offset = %d, want %d", i, ev.Offset, want)
				}
			}
		})
	}
	mustCreate(t, s, "empty")
	if evs, err := s.ListEvents(ctx, "empty", 0, listAll); err != nil || len(evs) != 0 {
		t.Errorf("ListEvents(empty session) = %d events, %v; want none and no error", len(evs), err)
	}
	if _, err := s.ListEvents(ctx, "nobody", 0, listAll); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ListEvents(unknown) error = %v, want ErrNotFound", err)
	}
}

// testEventPayloadBytes checks that payloads come back byte for byte from
// Append, CreateSession and CompleteTurn.
func (h *harness) testEventPayloadBytes(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	exact := store.NewEvent{Kind: "user_message", Payload: json.RawMessage(exactPayload)}
	if _, _, err := s.CreateSession(ctx, store.Session{ID: "s-1"}, []store.NewEvent{exact}); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	appended, err := s.Append(ctx, "s-1", []store.NewEvent{exact}, store.AppendOptions{Trigger: true})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if got := string(appended[0].Payload); got != exactPayload {
		t.Errorf("Append returned payload %s, want %s byte for byte", got, exactPayload)
	}
	c := mustClaimTurn(t, s, "s-1", "w1", time.Minute)
	completed, err := s.CompleteTurn(ctx, c, []store.NewEvent{exact}, appended[0].Offset+1)
	if err != nil {
		t.Fatalf("CompleteTurn: %v", err)
	}
	if got := string(completed[0].Payload); got != exactPayload {
		t.Errorf("CompleteTurn returned payload %s, want %s byte for byte", got, exactPayload)
	}

	listed, err := s.ListEvents(ctx, "s-1", 0, listAll)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(listed) != 3 {
		t.Fatalf("ListEvents returned %d events, want 3", len(listed))
	}
	for _, ev := range listed {
		if got := string(ev.Payload); got != exactPayload {
			t.Errorf("event %d payload = %s, want %s byte for byte", ev.Offset, got, exactPayload)
		}
	}
}

func (h *harness) testEventPayloadCopies(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")
	payload := json.RawMessage(`{"text":"original"}`)
	want := string(payload)

	appended, err := s.Append(ctx, "s-1", []store.NewEvent{{Kind: "user_message", Payload: payload}},
		store.AppendOptions{})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	copy(payload, `{"text":"CALLER!!"}`)
	copy(appended[0].Payload, `{"text":"RETURN!!"}`)

	listed, err := s.ListEvents(ctx, "s-1", 0, listAll)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(listed) != 1 {
		t.Fatalf("ListEvents returned %d events, want 1", len(listed))
	}
	if got := string(listed[0].Payload); got != want {
		t.Errorf("stored payload = %s, want %s: a caller's slice is shared", got, want)
	}
	copy(listed[0].Payload, `{"text":"LISTED!!"}`)
	again, err := s.ListEvents(ctx, "s-1", 0, listAll)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if got := string(again[0].Payload); got != want {
		t.Errorf("stored payload after a write to a listed copy = %s, want %s", got, want)
	}
}

// testAppendGaplessConcurrent appends from many goroutines at once, in
// batches of one and two events, and checks that every offset is handed
// out exactly once, that a batch's offsets are contiguous and that the
// log has no gap.
func (h *harness) testAppendGaplessConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := h.open(t)
	mustCreate(t, s, "s-1")

	errs := make(chan error, appendWriters)
	returned := make(chan int64, 2*appendWriters*appendsPerWrite)
	runAtOnce(appendWriters, func(w int) {
		for i := range appendsPerWrite {
			batch := []store.NewEvent{textEvent(fmt.Sprintf("w%d-%d", w, i))}
			if (w+i)%3 == 0 {
				batch = append(batch, textEvent(fmt.Sprintf("w%d-%d-b", w, i)))
			}
			evs, err := s.Append(ctx, "s-1", batch, store.AppendOptions{})
			if err != nil {
				errs <- err
				return
			}
			if len(evs) != len(batch) {
				errs <- fmt.Errorf("Append of %d events returned %d", len(batch), len(evs))
				return
			}
			for j, ev := range evs {
				if j > 0 && ev.Offset != evs[j-1].Offset+1 {
					errs <- fmt.Errorf("one append's offsets %d and %d are not contiguous", evs[j-1].Offset, ev.Offset)
					return
				}
				returned <- ev.Offset
			}
		}
	})
	close(errs)
	close(returned)
	for err := range errs {
		t.Fatalf("Append: %v", err)
	}
	checkGapless(t, s, "s-1", collect(returned))
}

// collect drains ch into a slice.
func collect(ch <-chan int64) []int64 {
	var out []int64
	for v := range ch {
		out = append(out, v)
	}
	return out
}

// checkGapless checks that offsets holds each of 0..NextOffset-1 once and
// that the stored log lists exactly those offsets in order.
func checkGapless(t *testing.T, s store.Store, id string, offsets []int64) {
	t.Helper()
	seen := make(map[int64]int)
	for _, off := range offsets {
		seen[off]++
	}
	sess := mustGetSession(t, s, id)
	n := sess.NextOffset
	if int64(len(offsets)) != n {
		t.Errorf("%d offsets returned, NextOffset = %d", len(offsets), n)
	}
	for off := range n {
		if seen[off] != 1 {
			t.Errorf("offset %d returned %d times, want once", off, seen[off])
		}
	}
	stored, err := s.ListEvents(context.Background(), id, 0, listAll)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if int64(len(stored)) != n {
		t.Fatalf("ListEvents returned %d events, want %d", len(stored), n)
	}
	for i, ev := range stored {
		if ev.Offset != int64(i) {
			t.Fatalf("stored event %d has offset %d", i, ev.Offset)
		}
	}
}
