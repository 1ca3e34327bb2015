package memory

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

func TestNotifierWakesOnAppend(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s-1")
	mustCreate(t, s, "s-2")

	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	other, cancelOther := s.Notifier().Subscribe("s-2")
	defer cancelOther()

	go func() {
		_, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("hi")}, store.AppendOptions{})
		if err != nil {
			t.Errorf("Append: %v", err)
		}
	}()
	select {
	case <-wake:
	case <-time.After(5 * time.Second):
		t.Fatalf("subscriber not woken within 5 s of an append")
	}
	evs, err := s.ListEvents(ctx, "s-1", 0, 0)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(evs) != 1 {
		t.Errorf("woken waiter read %d events, want 1", len(evs))
	}
	select {
	case <-other:
		t.Errorf("subscriber of s-2 woken by an append to s-1")
	default:
	}
}

func TestNotifierCoalesces(t *testing.T) {
	n := NewNotifier()
	wake, cancel := n.Subscribe("s-1")
	defer cancel()

	done := make(chan struct{})
	go func() {
		// No goroutine reads wake, so Notify must not block on a full buffer.
		for range 1000 {
			n.Notify("s-1")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("1000 Notify calls with no reader did not return within 5 s")
	}

	received := 0
	for {
		select {
		case <-wake:
			received++
			continue
		default:
		}
		break
	}
	if received != 1 {
		t.Errorf("received %d wake-ups after a burst, want 1 (coalesced)", received)
	}
}

func TestNotifierCancel(t *testing.T) {
	tests := []struct {
		name      string
		subs      int
		cancelled []int
	}{
		{"only one", 1, []int{0}},
		{"head", 3, []int{2}},
		{"middle", 3, []int{1}},
		{"tail", 3, []int{0}},
		{"all", 3, []int{1, 0, 2}},
		{"twice", 2, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := NewNotifier()
			wakes := make([]<-chan struct{}, tt.subs)
			cancels := make([]func(), tt.subs)
			for i := range tt.subs {
				wakes[i], cancels[i] = n.Subscribe("s-1")
			}
			gone := make(map[int]bool)
			for _, i := range tt.cancelled {
				cancels[i]()
				gone[i] = true
			}
			n.Notify("s-1")
			for i, wake := range wakes {
				select {
				case <-wake:
					if gone[i] {
						t.Errorf("cancelled subscriber %d was woken", i)
					}
				default:
					if !gone[i] {
						t.Errorf("subscriber %d was not woken", i)
					}
				}
			}
			if len(gone) == tt.subs {
				if sh := n.shard("s-1"); len(sh.heads) != 0 {
					t.Errorf("%d sessions left in the shard after every cancel", len(sh.heads))
				}
			}
		})
	}
}

func TestNotifierIdleWaiterMemory(t *testing.T) {
	const waiters = 10_000
	// Each idle waiter must cost far less than its share of a 300 MB
	// budget for 10,000 waiters, which also pays for goroutines and
	// connections. 1 KiB per subscription is a generous ceiling.
	const maxBytesPerWaiter = 1024

	n := NewNotifier()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	wakes := make([]<-chan struct{}, waiters)
	cancels := make([]func(), waiters)
	for i := range waiters {
		wakes[i], cancels[i] = n.Subscribe(fmt.Sprintf("s-%d", i%2000))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)

	perWaiter := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / waiters
	t.Logf("heap per idle subscription: %d bytes", perWaiter)
	if perWaiter > maxBytesPerWaiter {
		t.Errorf("heap per idle subscription = %d bytes, want at most %d", perWaiter, maxBytesPerWaiter)
	}
	if g := runtime.NumGoroutine(); g > 10 {
		t.Errorf("%d goroutines with %d subscriptions, want no goroutine per subscription", g, waiters)
	}
	for _, cancel := range cancels {
		cancel()
	}
	runtime.KeepAlive(wakes)
}

func TestStoreClose(t *testing.T) {
	ctx := context.Background()
	s := New()
	mustCreate(t, s, "s-1")
	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-wake:
	case <-time.After(5 * time.Second):
		t.Errorf("Close woke no waiter within 5 s")
	}

	calls := []struct {
		name string
		call func() error
	}{
		{"Close", s.Close},
		{"Ping", func() error { return s.Ping(ctx) }},
		{"GetSession", func() error { _, err := s.GetSession(ctx, "s-1"); return err }},
		{"Append", func() error {
			_, err := s.Append(ctx, "s-1", []store.NewEvent{textEvent("x")}, store.AppendOptions{})
			return err
		}},
		{"ListEvents", func() error { _, err := s.ListEvents(ctx, "s-1", 0, 0); return err }},
		{"PutCustomer", func() error { _, _, err := s.PutCustomer(ctx, store.Customer{ID: "c"}); return err }},
		{"ClaimTurn", func() error { _, _, err := s.ClaimTurn(ctx, "s-1", "w", time.Second); return err }},
		{"PendingTurns", func() error { _, err := s.PendingTurns(ctx, time.Now(), 1); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, store.ErrClosed) {
				t.Errorf("%s after Close error = %v, want ErrClosed", c.name, err)
			}
		})
	}
}
