package memory

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

func TestAppendGaplessConcurrent(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s-1")

	const writers, perWriter = 50, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	returned := make(chan int64, 2*writers*perWriter) // at most two events per append
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				// Alternate batch sizes so batches interleave with singles.
				batch := []store.NewEvent{textEvent("x")}
				if (w+i)%3 == 0 {
					batch = append(batch, textEvent("y"))
				}
				evs, err := s.Append(ctx, "s-1", batch, store.AppendOptions{})
				if err != nil {
					errs <- err
					return
				}
				for j, ev := range evs {
					if j > 0 && ev.Offset != evs[j-1].Offset+1 {
						errs <- errors.New("one append's events are not contiguous")
						return
					}
					returned <- ev.Offset
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	close(returned)
	for err := range errs {
		t.Fatalf("Append: %v", err)
	}

	seen := make(map[int64]int)
	for off := range returned {
		seen[off]++
	}
	sess, err := s.GetSession(ctx, "s-1")
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	n := sess.NextOffset
	if int64(len(seen)) != n {
		t.Errorf("%d distinct offsets returned, NextOffset = %d", len(seen), n)
	}
	for off := range n {
		if seen[off] != 1 {
			t.Errorf("offset %d returned %d times, want once", off, seen[off])
		}
	}

	stored, err := s.ListEvents(ctx, "s-1", 0, 0)
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

func TestAppendTrigger(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s-1")

	if _, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("a")}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	evs, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("b"), textEvent("c")},
		store.AppendOptions{Trigger: true})
	if err != nil {
		t.Fatalf("Append(trigger): %v", err)
	}
	sess, err := s.GetSession(ctx, "s-1")
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if sess.TriggerOffset != evs[1].Offset {
		t.Errorf("TriggerOffset = %d, want %d (the last appended event)", sess.TriggerOffset, evs[1].Offset)
	}
	if !sess.NeedsTurn() {
		t.Errorf("NeedsTurn = false after a trigger")
	}
	if sess.NextOffset != 3 {
		t.Errorf("NextOffset = %d, want 3", sess.NextOffset)
	}

	if _, err := s.Append(ctx, "nobody", []store.NewEvent{textEvent("x")}, store.AppendOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Append(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestAppendRequireIdle(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, s *Store, clock *fakeClock)
		wantErr error
	}{
		{
			name:    "idle",
			prepare: func(t *testing.T, s *Store, clock *fakeClock) {},
		},
		{
			name: "trigger pending",
			prepare: func(t *testing.T, s *Store, clock *fakeClock) {
				mustTrigger(t, s, "s-1")
			},
			wantErr: store.ErrTurnBusy,
		},
		{
			name: "lease held",
			prepare: func(t *testing.T, s *Store, clock *fakeClock) {
				mustTrigger(t, s, "s-1")
				if _, ok, err := s.ClaimTurn(context.Background(), "s-1", "w1", time.Minute); err != nil || !ok {
					t.Fatalf("ClaimTurn = %v, %v", ok, err)
				}
			},
			wantErr: store.ErrTurnBusy,
		},
		{
			name: "turn completed",
			prepare: func(t *testing.T, s *Store, clock *fakeClock) {
				trigger := mustTrigger(t, s, "s-1")
				claim, ok, err := s.ClaimTurn(context.Background(), "s-1", "w1", time.Minute)
				if err != nil || !ok {
					t.Fatalf("ClaimTurn = %v, %v", ok, err)
				}
				if _, err := s.CompleteTurn(context.Background(), claim, nil, trigger.Offset+1); err != nil {
					t.Fatalf("CompleteTurn: %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := New(WithClock(clock.Now))
			mustCreate(t, s, "s-1")
			tt.prepare(t, s, clock)
			before, err := s.GetSession(ctx, "s-1")
			if err != nil {
				t.Fatalf("GetSession: %v", err)
			}

			_, err = s.Append(ctx, "s-1", []store.NewEvent{textEvent("tool result")},
				store.AppendOptions{RequireIdle: true})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Append(RequireIdle) error = %v, want %v", err, tt.wantErr)
			}
			after, err := s.GetSession(ctx, "s-1")
			if err != nil {
				t.Fatalf("GetSession: %v", err)
			}
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

func TestListEventsRange(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s-1")
	for range 10 {
		if _, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("x")}, store.AppendOptions{}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	tests := []struct {
		name      string
		from      int64
		limit     int
		wantFirst int64
		wantLen   int
	}{
		{"all", 0, 0, 0, 10},
		{"from middle", 4, 0, 4, 6},
		{"limited", 2, 3, 2, 3},
		{"limit past end", 8, 50, 8, 2},
		{"at end", 10, 5, 0, 0},
		{"past end", 99, 5, 0, 0},
		{"negative from", -3, 2, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := s.ListEvents(ctx, "s-1", tt.from, tt.limit)
			if err != nil {
				t.Fatalf("ListEvents: %v", err)
			}
			if len(evs) != tt.wantLen {
				t.Fatalf("len = %d, want %d", len(evs), tt.wantLen)
			}
			for i, ev := range evs {
				if want := tt.wantFirst + int64(i); ev.Offset != want {
					t.Errorf("event %d offset = %d, want %d", i, ev.Offset, want)
				}
			}
		})
	}
	if _, err := s.ListEvents(ctx, "nobody", 0, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ListEvents(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestEventPayloadsCopied(t *testing.T) {
	ctx := context.Background()
	s := New()
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
	_ = append(appended, store.Event{Kind: "intruder"})

	listed, err := s.ListEvents(ctx, "s-1", 0, 0)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(listed) != 1 {
		t.Fatalf("ListEvents returned %d events, want 1", len(listed))
	}
	if got := string(listed[0].Payload); got != want {
		t.Errorf("stored payload = %s, want %s", got, want)
	}
	copy(listed[0].Payload, `{"text":"LISTED!!"}`)
	again, err := s.ListEvents(ctx, "s-1", 0, 0)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if got := string(again[0].Payload); got != want {
		t.Errorf("stored payload after write to a listed copy = %s, want %s", got, want)
	}
}
