package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// readyRows returns how many delivery rows of sink ClaimDelivery would
// look at.
func readyRows(t *testing.T, s *Store, sink string) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(),
		"SELECT count(*) FROM deliveries WHERE sink = $1 AND ready_at IS NOT NULL", sink).Scan(&n); err != nil {
		t.Fatalf("count ready rows: %v", err)
	}
	return n
}

func TestClaimDeliveryFindsEarlierSessions(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTest(t)
	// Appended before the sink is first claimed, so no delivery row exists
	// for it yet.
	for i := range 3 {
		id := fmt.Sprintf("s-%d", i)
		if _, _, err := s.CreateSession(ctx, store.Session{ID: id}, nil); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if i > 0 {
			if _, err := s.Append(ctx, id, []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
				t.Fatalf("Append: %v", err)
			}
		}
	}
	sink := store.DeliverySink{Name: "webhook"}
	claimed := map[string]bool{}
	for range 3 {
		c, ok, err := s.ClaimDelivery(ctx, sink, "w", time.Now(), time.Minute)
		if err != nil {
			t.Fatalf("ClaimDelivery: %v", err)
		}
		if !ok {
			break
		}
		claimed[c.Session.ID] = true
	}
	if len(claimed) != 2 || !claimed["s-1"] || !claimed["s-2"] {
		t.Fatalf("claimed sessions = %v, want s-1 and s-2 (s-0 has no events)", claimed)
	}
}

func TestClaimDeliveryDropsIdleRows(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openTest(t)
	sink := store.DeliverySink{Name: "webhook"}
	const sessions = 50
	for i := range sessions {
		id := fmt.Sprintf("s-%d", i)
		if _, _, err := s.CreateSession(ctx, store.Session{ID: id}, []store.NewEvent{{Kind: "message"}}); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	// Deliver every event, then release: each row is caught up.
	for {
		c, ok, err := s.ClaimDelivery(ctx, sink, "w", time.Now(), time.Minute)
		if err != nil {
			t.Fatalf("ClaimDelivery: %v", err)
		}
		if !ok {
			break
		}
		if _, err := s.RecordDelivery(ctx, c, store.DeliveryOutcome{Offset: c.Delivery.Cursor, Delivered: true}); err != nil {
			t.Fatalf("RecordDelivery: %v", err)
		}
		if err := s.ReleaseDelivery(ctx, c); err != nil {
			t.Fatalf("ReleaseDelivery: %v", err)
		}
	}
	// The claim that found no work cleared every row, so later claims
	// read no caught-up session.
	if n := readyRows(t, s, sink.Name); n != 0 {
		t.Fatalf("%d ready rows after every session caught up, want 0", n)
	}

	if _, err := s.Append(ctx, "s-7", []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if n := readyRows(t, s, sink.Name); n != 1 {
		t.Fatalf("%d ready rows after one append, want 1", n)
	}
	c, ok, err := s.ClaimDelivery(ctx, sink, "w", time.Now(), time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimDelivery after the append = ok %v, err %v; want a claim", ok, err)
	}
	if c.Session.ID != "s-7" || c.Delivery.Cursor != 1 {
		t.Fatalf("claimed session %s at cursor %d, want s-7 at cursor 1", c.Session.ID, c.Delivery.Cursor)
	}
}

func TestDeliveriesKeepUpWithConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	a, rawURL, schema := openTest(t)
	b := openAt(t, rawURL, schema)
	sink := store.DeliverySink{Name: "webhook"}
	const (
		sessions = 8
		appends  = 25
	)
	for i := range sessions {
		if _, _, err := a.CreateSession(ctx, store.Session{ID: fmt.Sprintf("s-%d", i)}, nil); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}

	// Two deliverers, one per store, deliver whatever they can claim until
	// stop is closed. They wake on DeliveryTopic like the real deliverer.
	stop := make(chan struct{})
	var delivered sync.Map // "session/offset" -> owner
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		owner := fmt.Sprintf("deliverer-%d", i)
		wg.Go(func() {
			wake, cancel := s.Notifier().Subscribe(store.DeliveryTopic)
			defer cancel()
			for {
				c, ok, err := s.ClaimDelivery(ctx, sink, owner, time.Now(), time.Minute)
				if err != nil {
					t.Errorf("%s: ClaimDelivery: %v", owner, err)
					return
				}
				if !ok {
					select {
					case <-stop:
						return
					case <-wake:
					case <-time.After(100 * time.Millisecond):
					}
					continue
				}
				for cursor := c.Delivery.Cursor; cursor < c.Session.NextOffset; cursor++ {
					key := fmt.Sprintf("%s/%d", c.Session.ID, cursor)
					if prev, dup := delivered.LoadOrStore(key, owner); dup {
						t.Errorf("event %s delivered twice, by %v and %s", key, prev, owner)
					}
					if _, err := s.RecordDelivery(ctx, c, store.DeliveryOutcome{Offset: cursor, Delivered: true}); err != nil {
						t.Errorf("%s: RecordDelivery %s: %v", owner, key, err)
						return
					}
				}
				if err := s.ReleaseDelivery(ctx, c); err != nil {
					t.Errorf("%s: ReleaseDelivery: %v", owner, err)
					return
				}
			}
		})
	}

	var appenders sync.WaitGroup
	for i := range sessions {
		id := fmt.Sprintf("s-%d", i)
		writer := []*Store{a, b}[i%2]
		appenders.Go(func() {
			for range appends {
				if _, err := writer.Append(ctx, id, []store.NewEvent{{Kind: "message"}}, store.AppendOptions{}); err != nil {
					t.Errorf("Append to %s: %v", id, err)
					return
				}
			}
		})
	}
	appenders.Wait()

	// Every event is delivered: no append was missed by the ready marks.
	deadline := time.Now().Add(30 * time.Second)
	for {
		missing := 0
		for i := range sessions {
			for offset := range appends {
				if _, ok := delivered.Load(fmt.Sprintf("s-%d/%d", i, offset)); !ok {
					missing++
				}
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("%d events not delivered within 30 s", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for i := range sessions {
		sess, err := a.GetSession(ctx, fmt.Sprintf("s-%d", i))
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		if got := sess.Deliveries[sink.Name].Cursor; got != appends {
			t.Errorf("session %s cursor = %d, want %d", sess.ID, got, appends)
		}
	}
}
