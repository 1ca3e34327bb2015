package memory

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

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

// BenchmarkCreateRun measures storing a new run with an idempotency key
// and metadata.
func BenchmarkCreateRun(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		s := New()
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			r := newRun(fmt.Sprintf("run-%d", i))
			r.IdempotencyKey = fmt.Sprintf("key-%d", i)
			r.Metadata = map[string]any{"team": "ops"}
			if _, _, err := s.CreateRun(ctx, r); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := New()
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := next.Add(1)
				r := newRun(fmt.Sprintf("run-%d", n))
				r.IdempotencyKey = fmt.Sprintf("key-%d", n)
				if _, _, err := s.CreateRun(ctx, r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkClaimRun measures ClaimRun on a queue of b.N queued runs, which
// drains to empty. The claims/s metric is the throughput.
func BenchmarkClaimRun(b *testing.B) {
	ctx := context.Background()
	fill := func(b *testing.B) *Store {
		s := New()
		base := time.Now()
		for i := range b.N {
			r := newRun(fmt.Sprintf("run-%d", i))
			r.CreatedAt = base.Add(time.Duration(i))
			if _, _, err := s.CreateRun(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		return s
	}
	b.Run("serial", func(b *testing.B) {
		s := fill(b)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, ok, err := s.ClaimRun(ctx, "w1", time.Minute); err != nil || !ok {
				b.Fatalf("ClaimRun = %v, %v", ok, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "claims/s")
	})
	b.Run("parallel", func(b *testing.B) {
		s := fill(b)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, ok, err := s.ClaimRun(ctx, "w1", time.Minute); err != nil || !ok {
					b.Errorf("ClaimRun = %v, %v", ok, err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "claims/s")
	})
}
