package routine

// Benchmark of the callback deliverer alone, against a plain http.Client
// POST loop to the same loopback receiver. Results and the command that
// produced them are in docs/benchmarks.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport/outbound"
	"github.com/agentry/agentry/transport/webhook"
)

// benchSecret signs the callbacks of the benchmark, as a configured
// runtime.signing_secret does.
const benchSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// deliverRounds is the number of alternations between the deliverer and
// the plain POST loop in BenchmarkDeliverDue. Alternating keeps a change
// in the machine's background load from favouring one side.
const deliverRounds = 10

// countingReceiver responds 200 to every POST. It counts the requests to
// /callback by their webhook-id header, which is the run id, so that a
// repeated attempt does not count twice.
type countingReceiver struct {
	url string
	// runs contains the webhook-id of every callback received, and
	// delivered counts them.
	runs      sync.Map
	delivered atomic.Int64
	// progress receives a value, without blocking, after each new run.
	progress chan struct{}
	// conns counts the connections the receiver accepted.
	conns atomic.Int64
}

func startCountingReceiver(b *testing.B) *countingReceiver {
	b.Helper()
	rc := &countingReceiver{progress: make(chan struct{}, 1)}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		if r.URL.Path != "/callback" {
			return
		}
		if _, seen := rc.runs.LoadOrStore(r.Header.Get("webhook-id"), true); seen {
			return
		}
		rc.delivered.Add(1)
		select {
		case rc.progress <- struct{}{}:
		default:
		}
	}))
	hs.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			rc.conns.Add(1)
		}
	}
	hs.Start()
	b.Cleanup(hs.Close)
	rc.url = hs.URL
	return rc
}

// waitDelivered waits until callbacks of n distinct runs have arrived.
func (rc *countingReceiver) waitDelivered(n int64, timeout time.Duration) error {
	deadline := time.After(timeout)
	for rc.delivered.Load() < n {
		select {
		case <-rc.progress:
		case <-deadline:
			return fmt.Errorf("callbacks of %d runs within %v, want %d", rc.delivered.Load(), timeout, n)
		}
	}
	return nil
}

// endRuns stores n runs that succeeded, numbered from first, each with its
// callback due now.
func endRuns(b *testing.B, st store.Store, first, n int, callbackURL string) []string {
	b.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	for i := range n {
		run := store.Run{
			ID:          fmt.Sprintf("run_bench%07d", first+i),
			RoutineID:   "decide",
			Status:      store.RunQueued,
			Input:       json.RawMessage(`{"applicant_id": "app-123", "status": "GREEN"}`),
			CallbackURL: callbackURL,
			InputHash:   "bench",
			Trigger:     store.RunTrigger{Source: "api"},
			Metadata:    map[string]any{"case": "c-1"},
			MaxAttempts: 1,
		}
		if _, _, err := st.CreateRun(ctx, run); err != nil {
			b.Fatal(err)
		}
		claim, ok, err := st.ClaimRun(ctx, "bench", time.Minute)
		if err != nil || !ok {
			b.Fatalf("claiming run %s: ok=%v err=%v", run.ID, ok, err)
		}
		res := store.RunResult{Status: store.RunSucceeded, Output: json.RawMessage(`{"decision":"approved"}`)}
		if _, err := st.CompleteRun(ctx, claim, res); err != nil {
			b.Fatal(err)
		}
		ids[i] = run.ID
	}
	return ids
}

// checkDelivered fails b unless the callback of every run in ids was
// delivered at the first attempt.
func checkDelivered(b *testing.B, st store.Store, ids []string) {
	b.Helper()
	for _, id := range ids {
		run, err := st.GetRun(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
		if cb := run.Callback; cb.State != store.CallbackDelivered || cb.Attempts != 1 {
			b.Fatalf("callback of run %s: state %s after %d attempts (last status %d, error %q), want delivered after 1",
				id, cb.State, cb.Attempts, cb.LastStatus, cb.LastError)
		}
	}
}

// BenchmarkDeliverDue times how fast a Deliverer drains callbacks that
// are already due, as after a restart. In each of deliverRounds rounds it
// stores a share of b.N ended runs, starts a new Deliverer with the
// default workers and poll interval, and times until the receiver has all
// their callbacks. It then sends as many POSTs of a callback body from as
// many goroutines as the deliverer has workers, with a plain http.Client,
// to the same receiver: the ceiling. ns/op counts only the deliverer.
func BenchmarkDeliverDue(b *testing.B) {
	st := memory.New()
	rc := startCountingReceiver(b)
	// One client for all rounds, as one process keeps it for its lifetime.
	client, err := outbound.NewClient(outbound.Config{AllowPrivateNetworks: true})
	if err != nil {
		b.Fatal(err)
	}
	key, err := webhook.ParseSecret(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	cfg := DelivererConfig{
		Store:       st,
		Client:      client,
		SigningKeys: [][]byte{key},
		BearerToken: "agent-key",
		Owner:       "bench",
		Logger:      quietLogger(),
	}
	var plain *http.Client
	var body []byte

	var deliverTime, plainTime time.Duration
	var deliverConns, plainConns int64
	b.ResetTimer()
	for round := range deliverRounds {
		first := b.N * round / deliverRounds
		n := b.N*(round+1)/deliverRounds - first
		if n == 0 {
			continue
		}
		b.StopTimer()
		ids := endRuns(b, st, first, n, rc.url+"/callback")
		d, err := NewDeliverer(cfg)
		if err != nil {
			b.Fatal(err)
		}
		conns := rc.conns.Load()

		b.StartTimer()
		start := time.Now()
		if err := d.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := rc.waitDelivered(int64(first+n), time.Minute); err != nil {
			b.Fatal(err)
		}
		deliverTime += time.Since(start)
		b.StopTimer()
		deliverConns += rc.conns.Load() - conns

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = d.Stop(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		checkDelivered(b, st, ids)

		if plain == nil {
			run, err := st.GetRun(context.Background(), ids[0])
			if err != nil {
				b.Fatal(err)
			}
			if body, err = CallbackBody(run); err != nil {
				b.Fatal(err)
			}
			plain = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: d.cfg.Workers}}
			defer plain.CloseIdleConnections()
		}
		conns = rc.conns.Load()
		elapsed, err := plainPosts(plain, rc.url+"/plain", body, n, d.cfg.Workers)
		if err != nil {
			b.Fatal(err)
		}
		plainTime += elapsed
		plainConns += rc.conns.Load() - conns
	}

	rate := float64(b.N) / deliverTime.Seconds()
	ceiling := float64(b.N) / plainTime.Seconds()
	b.ReportMetric(rate, "callbacks/s")
	b.ReportMetric(float64(deliverConns)/float64(b.N), "conns/callback")
	b.ReportMetric(ceiling, "plain-posts/s")
	b.ReportMetric(float64(plainConns)/float64(b.N), "conns/plain-post")
	b.ReportMetric(rate/ceiling, "callbacks/plain-post")
}

// plainPosts sends n POSTs of body to url from workers goroutines and
// returns the time they took.
func plainPosts(client *http.Client, url string, body []byte, n, workers int) (time.Duration, error) {
	var remaining atomic.Int64
	remaining.Store(int64(n))
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for remaining.Add(-1) >= 0 {
				if err := plainPost(client, url, body); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	return elapsed, <-errs
}

func plainPost(client *http.Client, url string, body []byte) error {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("plain POST: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("reading plain POST response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("plain POST: status %d, want 200", resp.StatusCode)
	}
	return nil
}
