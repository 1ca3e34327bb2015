package memory

import (
	"context"
	"fmt"
	"testing"

	"github.com/agentry/agentry/store"
)

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	events := []store.NewEvent{textEvent("Where is my card?")}
	b.Run("one session", func(b *testing.B) {
		s := New()
		mustCreate(b, s, "s-1")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Append(ctx, "s-1", events, store.AppendOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel sessions", func(b *testing.B) {
		s := New()
		const sessions = 256
		ids := make([]string, sessions)
		for i := range sessions {
			ids[i] = fmt.Sprintf("s-%d", i)
			mustCreate(b, s, ids[i])
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.Append(ctx, ids[i%sessions], events, store.AppendOptions{}); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// BenchmarkAppendToWake measures one append plus the wake-up of a
// subscriber in another goroutine, including that goroutine's reply.
func BenchmarkAppendToWake(b *testing.B) {
	ctx := context.Background()
	s := New()
	mustCreate(b, s, "s-1")
	events := []store.NewEvent{textEvent("Where is my card?")}

	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	woken := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-wake:
				woken <- struct{}{}
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)

	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(ctx, "s-1", events, store.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
		<-woken
	}
}
