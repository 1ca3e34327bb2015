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

// TestStoreCloseWakesWaiters checks that Close wakes every waiter, so
// long-polls re-read the store and see ErrClosed.
func TestStoreCloseWakesWaiters(t *testing.T) {
	s := New()
	mustCreate(t, s, "s-1")
	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	other, cancelOther := s.Notifier().Subscribe(store.RunTopic("run-1"))
	defer cancelOther()

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, w := range []<-chan struct{}{wake, other} {
		select {
		case <-w:
		case <-time.After(5 * time.Second):
			t.Errorf("Close woke no waiter within 5 s")
		}
	}
	if _, err := s.GetSession(context.Background(), "s-1"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("GetSession after Close error = %v, want ErrClosed", err)
	}
}
