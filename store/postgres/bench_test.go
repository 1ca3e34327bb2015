package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
)

// benchPayload is a message event of a typical size (about 200 bytes).
var benchPayload = json.RawMessage(`{"session_id":"bench","offset":0,"role":"customer",` +
	`"text":"Hello, I would like to know whether my order 12345 has shipped yet and when it will arrive.",` +
	`"metadata":{"channel":"web"}}`)

// createBenchSession creates a session for a benchmark.
func createBenchSession(b *testing.B, s *Store, id string) {
	b.Helper()
	if _, _, err := s.CreateSession(context.Background(), store.Session{ID: id}, nil); err != nil {
		b.Fatalf("CreateSession %s: %v", id, err)
	}
}

// BenchmarkAppend measures Append of one event from one goroutine: one
// statement, with its NOTIFY, per event.
func BenchmarkAppend(b *testing.B) {
	s, _, _ := openTest(b)
	createBenchSession(b, s, "s")
	// A registered sink makes each append also mark a delivery row.
	if _, _, err := s.ClaimDelivery(context.Background(), store.DeliverySink{Name: "webhook"}, "w", time.Now(), time.Minute); err != nil {
		b.Fatalf("ClaimDelivery: %v", err)
	}
	events := []store.NewEvent{{Kind: "message", Payload: benchPayload}}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Append(ctx, "s", events, store.AppendOptions{}); err != nil {
			b.Fatalf("Append: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendParallel measures Append from GOMAXPROCS goroutines, each
// appending to its own session.
func BenchmarkAppendParallel(b *testing.B) {
	s, _, _ := openTest(b)
	events := []store.NewEvent{{Kind: "message", Payload: benchPayload}}
	var next atomic.Int64
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprintf("s-%d", next.Add(1))
		if _, _, err := s.CreateSession(ctx, store.Session{ID: id}, nil); err != nil {
			b.Errorf("CreateSession %s: %v", id, err)
			return
		}
		for pb.Next() {
			if _, err := s.Append(ctx, id, events, store.AppendOptions{}); err != nil {
				b.Errorf("Append: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// rawTableSQL creates a table like events, for the raw INSERT ceiling.
const rawTableSQL = `CREATE TABLE raw_events (
	session_id text NOT NULL,
	"offset"   bigint NOT NULL,
	kind       text NOT NULL,
	turn_id    text NOT NULL,
	created_at timestamptz NOT NULL,
	payload    bytea,
	PRIMARY KEY (session_id, "offset"))`

const rawInsertSQL = `INSERT INTO raw_events (session_id, "offset", kind, turn_id, created_at, payload)
	VALUES ($1, $2, 'message', '', $3, $4)`

// BenchmarkRawInsert is the ceiling for BenchmarkAppend: one plain pgx
// INSERT per event into a table like events, with the offset computed in
// Go, so no session row, no NOTIFY and no delivery rows.
func BenchmarkRawInsert(b *testing.B) {
	s, _, _ := openTest(b)
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, rawTableSQL); err != nil {
		b.Fatalf("create raw_events: %v", err)
	}
	now := time.Now()
	var offset int64
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.pool.Exec(ctx, rawInsertSQL, "s", offset, now, []byte(benchPayload)); err != nil {
			b.Fatalf("INSERT: %v", err)
		}
		offset++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRawInsertParallel is the ceiling for BenchmarkAppendParallel.
func BenchmarkRawInsertParallel(b *testing.B) {
	s, _, _ := openTest(b)
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, rawTableSQL); err != nil {
		b.Fatalf("create raw_events: %v", err)
	}
	now := time.Now()
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprintf("s-%d", next.Add(1))
		var offset int64
		for pb.Next() {
			if _, err := s.pool.Exec(ctx, rawInsertSQL, id, offset, now, []byte(benchPayload)); err != nil {
				b.Errorf("INSERT: %v", err)
				return
			}
			offset++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendVsRawInsert alternates one Append and one raw INSERT
// (as in BenchmarkRawInsert) per iteration and reports both rates and
// their ratio. Alternating exposes both to the same load on the database
// server, so the ratio holds even when other work slows the server.
func BenchmarkAppendVsRawInsert(b *testing.B) {
	s, _, _ := openTest(b)
	ctx := context.Background()
	createBenchSession(b, s, "s")
	if _, _, err := s.ClaimDelivery(ctx, store.DeliverySink{Name: "webhook"}, "w", time.Now(), time.Minute); err != nil {
		b.Fatalf("ClaimDelivery: %v", err)
	}
	if _, err := s.pool.Exec(ctx, rawTableSQL); err != nil {
		b.Fatalf("create raw_events: %v", err)
	}
	events := []store.NewEvent{{Kind: "message", Payload: benchPayload}}
	now := time.Now()
	var appendTime, rawTime time.Duration
	var offset int64
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := s.Append(ctx, "s", events, store.AppendOptions{}); err != nil {
			b.Fatalf("Append: %v", err)
		}
		appendTime += time.Since(start)

		start = time.Now()
		if _, err := s.pool.Exec(ctx, rawInsertSQL, "s", offset, now, []byte(benchPayload)); err != nil {
			b.Fatalf("INSERT: %v", err)
		}
		rawTime += time.Since(start)
		offset++
	}
	b.ReportMetric(float64(b.N)/appendTime.Seconds(), "append-events/s")
	b.ReportMetric(float64(b.N)/rawTime.Seconds(), "raw-events/s")
	b.ReportMetric(rawTime.Seconds()/appendTime.Seconds(), "append/raw")
}

// BenchmarkWakeLatency measures the time from the start of an Append to
// the wake-up of a waiter subscribed to the session. same_store wakes the
// waiter directly after the commit. cross_store wakes it through NOTIFY
// in a second Store with its own pool and listener, as on another
// replica.
func BenchmarkWakeLatency(b *testing.B) {
	b.Run("same_store", func(b *testing.B) {
		s, _, _ := openTest(b)
		benchWake(b, s, s)
	})
	b.Run("cross_store", func(b *testing.B) {
		writer, url, schema := openTest(b)
		waiter := openAt(b, url, schema)
		benchWake(b, writer, waiter)
	})
}

func benchWake(b *testing.B, writer, waiter *Store) {
	ctx := context.Background()
	createBenchSession(b, writer, "s")
	wake, cancel := waiter.Notifier().Subscribe("s")
	defer cancel()
	events := []store.NewEvent{{Kind: "message", Payload: benchPayload}}
	latencies := make([]time.Duration, 0, 1024)
	b.ResetTimer()
	for b.Loop() {
		drain(wake)
		start := time.Now()
		if _, err := writer.Append(ctx, "s", events, store.AppendOptions{}); err != nil {
			b.Fatalf("Append: %v", err)
		}
		select {
		case <-wake:
		case <-time.After(wakeWithin):
			b.Fatalf("no wake-up within %v", wakeWithin)
		}
		latencies = append(latencies, time.Since(start))
	}
	reportPercentiles(b, latencies)
}

// reportPercentiles reports the p50 and p99 of latencies in microseconds.
func reportPercentiles(b *testing.B, latencies []time.Duration) {
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	at := func(p float64) float64 {
		i := min(int(p*float64(len(latencies))), len(latencies)-1)
		return float64(latencies[i].Microseconds())
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchmarkClaimRun measures ClaimRun followed by CompleteRun, one run per
// iteration, with b.N runs queued before the timer starts.
func BenchmarkClaimRun(b *testing.B) {
	s, _, _ := openTest(b)
	ctx := context.Background()
	now := time.Now().UTC()
	// Insert the queue in one statement; CreateRun per run would dominate
	// the setup time.
	if _, err := s.pool.Exec(ctx, `INSERT INTO runs (id, routine_id, status, callback_url, idempotency_key,
			input_hash, trigger_source, trigger_webhook, attempts, max_attempts, timeout_us, created_at, cb_state)
		SELECT 'run-' || i, 'rt', 'queued', '', '', '', 'api', '', 0, 1, 0,
			$2::timestamptz + i * interval '1 microsecond', 'none'
		FROM generate_series(1, $1) AS i`, b.N+1000, now); err != nil {
		b.Fatalf("queue runs: %v", err)
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE runs"); err != nil {
		b.Fatalf("analyze runs: %v", err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		claim, ok, err := s.ClaimRun(ctx, "worker", time.Minute)
		if err != nil || !ok {
			b.Fatalf("ClaimRun = ok %v, err %v", ok, err)
		}
		if _, err := s.CompleteRun(ctx, claim, store.RunResult{Status: store.RunSucceeded}); err != nil {
			b.Fatalf("CompleteRun: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "claims/s")
}
