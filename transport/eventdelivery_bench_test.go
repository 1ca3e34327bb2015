package transport_test

// Benchmarks of event webhook delivery to a receiver on loopback, each
// with a ceiling measured in the same run against the same receiver: a
// plain net/http client POSTing the same bodies, with as many requests in
// flight as the deliverer allows per receiver. Results and the command
// that produced them are in docs/benchmarks.md.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport"
	"github.com/agentry/agentry/transport/sink"
	"github.com/agentry/agentry/transport/webhook"
)

// benchSessions is the number of sessions the throughput benchmark
// spreads its events over.
const benchSessions = 64

// benchReceiver counts the POSTs of the deliverer and the connections it
// accepts, and reports when the POST with a given webhook-id arrives.
// The ceiling's POSTs go to /ceiling and are not counted as deliveries.
type benchReceiver struct {
	*httptest.Server
	count   atomic.Int64
	conns   atomic.Int64
	mu      sync.Mutex
	waiters map[string]chan time.Time
}

func newBenchReceiver(b *testing.B) *benchReceiver {
	r := &benchReceiver{waiters: make(map[string]chan time.Time)}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		at := time.Now()
		id := req.Header.Get(webhook.HeaderID)
		if req.URL.Path != "/ceiling" {
			r.count.Add(1)
		}
		r.mu.Lock()
		ch := r.waiters[id]
		delete(r.waiters, id)
		r.mu.Unlock()
		if ch != nil {
			ch <- at
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	r.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.Start()
	b.Cleanup(r.Close)
	return r
}

// expect returns a channel that receives the arrival time of the POST
// with webhook-id id.
func (r *benchReceiver) expect(id string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	r.mu.Lock()
	r.waiters[id] = ch
	r.mu.Unlock()
	return ch
}

// startBenchDelivery starts a deliverer with the webhook sink on a memory
// store with n sessions that deliver to url.
func startBenchDelivery(b *testing.B, url string, n int) (*memory.Store, []string) {
	st := memory.New()
	b.Cleanup(func() { _ = st.Close() })
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "bench-" + strconv.Itoa(i)
		openHookSession(b, st, ids[i], url)
	}
	cfg := deliveryConfig(b, st)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) // no debug lines per event
	startDeliverer(b, cfg)
	return st, ids
}

// benchEvent is a user_message payload of a typical size.
var benchEvent = []store.NewEvent{{Kind: "user_message",
	Payload: []byte(`{"text":"Where is my card? I ordered it two weeks ago and it has not arrived yet.","source":"customer"}`)}}

// benchRound is the number of events per round of the throughput
// benchmark. Rounds of delivery and of the ceiling alternate, so both see
// the same background load of a shared machine.
const benchRound = 2000

// BenchmarkEventDeliveryThroughput appends b.N events spread over 64
// sessions to one receiver and reports events delivered per second, next
// to a plain client POSTing as many bodies of the same size with the same
// number of requests in flight.
func BenchmarkEventDeliveryThroughput(b *testing.B) {
	recv := newBenchReceiver(b)
	st, ids := startBenchDelivery(b, recv.URL, benchSessions)
	ctx := context.Background()

	var delivery, ceiling time.Duration
	var conns, ceilingConns int64
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		n := min(benchRound, b.N-sent)
		before := recv.conns.Load()
		start := time.Now()
		for i := range n {
			if _, err := st.Append(ctx, ids[(sent+i)%len(ids)], benchEvent, store.AppendOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		sent += n
		deadline := time.Now().Add(time.Minute)
		for recv.count.Load() < int64(sent) {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d events delivered after a minute", recv.count.Load(), sent)
			}
			time.Sleep(50 * time.Microsecond)
		}
		delivery += time.Since(start)
		conns += recv.conns.Load() - before

		b.StopTimer()
		before = recv.conns.Load()
		ceiling += postLoop(b, recv, n, transport.DefaultMaxPerReceiver)
		ceilingConns += recv.conns.Load() - before
		b.StartTimer()
	}
	b.StopTimer()
	rate := float64(b.N) / delivery.Seconds()
	ceilingRate := float64(b.N) / ceiling.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(ceilingRate, "ceiling-events/s")
	b.ReportMetric(rate/ceilingRate, "ratio")
	b.ReportMetric(float64(conns), "conns")
	b.ReportMetric(float64(ceilingConns), "ceiling-conns")
}

// postLoop POSTs n bodies of the benchmark event's size to the receiver
// with a plain http.Client, from workers goroutines, and returns the
// time it took.
func postLoop(b *testing.B, recv *benchReceiver, n, workers int) time.Duration {
	body := bytes.Repeat([]byte("x"), 230)
	client := &http.Client{}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				resp, err := client.Post(recv.URL+"/ceiling", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkEventDeliveryLatency appends one event at a time and measures
// the time until the receiver has its POST, next to the time from a
// plain client's send to the receiver's arrival of the same body.
func BenchmarkEventDeliveryLatency(b *testing.B) {
	recv := newBenchReceiver(b)
	st, ids := startBenchDelivery(b, recv.URL, 8)
	ctx := context.Background()
	client := &http.Client{}
	body := bytes.Repeat([]byte("x"), 230)
	next := make(map[string]int64)
	samples := make([]time.Duration, 0, b.N)
	ceiling := make([]time.Duration, 0, b.N)

	b.ResetTimer()
	for i := range b.N {
		id := ids[i%len(ids)]
		arrived := recv.expect(sink.EventID(id, next[id]))
		start := time.Now()
		if _, err := st.Append(ctx, id, benchEvent, store.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, waitArrival(b, arrived).Sub(start))
		next[id]++

		// The ceiling: the same body straight from a plain client.
		probe := fmt.Sprint("probe_", i)
		arrived = recv.expect(probe)
		req, err := http.NewRequest(http.MethodPost, recv.URL+"/ceiling", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set(webhook.HeaderID, probe)
		start = time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		ceiling = append(ceiling, waitArrival(b, arrived).Sub(start))
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op") // it would mix delivery with the ceiling
	reportQuantiles(b, "", samples)
	reportQuantiles(b, "ceiling-", ceiling)
	b.ReportMetric(quantile(samples, 0.5)/quantile(ceiling, 0.5), "p50-ratio")
}

func waitArrival(b *testing.B, arrived <-chan time.Time) time.Time {
	select {
	case at := <-arrived:
		return at
	case <-time.After(10 * time.Second):
		b.Fatal("no POST arrived within 10s")
		return time.Time{}
	}
}

// quantile returns the q-quantile of samples in microseconds, by the
// nearest-rank method.
func quantile(samples []time.Duration, q float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	rank := min(int(q*float64(len(sorted))), len(sorted)-1)
	return float64(sorted[rank].Microseconds())
}

func reportQuantiles(b *testing.B, prefix string, samples []time.Duration) {
	b.ReportMetric(quantile(samples, 0.5), prefix+"p50-µs")
	b.ReportMetric(quantile(samples, 0.99), prefix+"p99-µs")
}
