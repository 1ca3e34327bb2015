package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// The benchmarks write to a file in b.TempDir(), so their numbers depend
// on the disk under it: every commit waits for an fsync.

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	events := []store.NewEvent{textEvent("Where is my card?")}
	b.Run("one session", func(b *testing.B) {
		s, _ := newTestStore(b)
		mustCreate(b, s, "s-1")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Append(ctx, "s-1", events, store.AppendOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel sessions", func(b *testing.B) {
		s, _ := newTestStore(b)
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

// BenchmarkAppendToWake measures the time from the start of an Append to
// the moment a subscriber in another goroutine receives the wake-up, and
// reports its median and 99th percentile.
func BenchmarkAppendToWake(b *testing.B) {
	ctx := context.Background()
	s, _ := newTestStore(b)
	mustCreate(b, s, "s-1")
	events := []store.NewEvent{textEvent("Where is my card?")}

	wake, cancel := s.Notifier().Subscribe("s-1")
	defer cancel()
	woken := make(chan time.Time)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-wake:
				woken <- time.Now()
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)

	var latencies []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := s.Append(ctx, "s-1", events, store.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
		latencies = append(latencies, (<-woken).Sub(start))
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(percentile(latencies, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(latencies, 99).Microseconds()), "p99-µs")
}

// percentile returns the p-th percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}

// BenchmarkClaimRun measures one ClaimRun plus CompleteRun; the runs are
// created before the timer starts.
func BenchmarkClaimRun(b *testing.B) {
	ctx := context.Background()
	s, _ := newTestStore(b)
	for i := range b.N {
		run := store.Run{ID: fmt.Sprintf("r-%d", i), RoutineID: "bench", Status: store.RunQueued}
		if _, _, err := s.CreateRun(ctx, run); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c, ok, err := s.ClaimRun(ctx, "bench", time.Minute)
		if err != nil || !ok {
			b.Fatalf("ClaimRun: ok %v, err %v", ok, err)
		}
		if _, err := s.CompleteRun(ctx, c, store.RunResult{Status: store.RunSucceeded}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawInsert is the ceiling for appends: one INSERT per
// transaction through the same driver with the writer's pragmas, with no
// store logic around it.
func BenchmarkRawInsert(b *testing.B) {
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE events (session_seq INTEGER, event_offset INTEGER, payload BLOB,
		PRIMARY KEY (session_seq, event_offset)) STRICT, WITHOUT ROWID`); err != nil {
		b.Fatal(err)
	}
	payload := textEvent("Where is my card?").Payload
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := db.Exec(`INSERT INTO events VALUES (1, ?, ?)`, i, []byte(payload)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
