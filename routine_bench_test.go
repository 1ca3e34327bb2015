package agentry_test

// Benchmarks of autonomous runs end to end: a trigger over HTTP, a run
// with a scripted model that replies at once, and the result's callback
// POST to a receiver on loopback. Results and the command that produced
// them are in docs/benchmarks.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/transport/wire"
)

// callbackPath is the receiver path of the callbacks. The receiver counts
// only requests to this path, so ceiling requests to other paths of the
// same receiver do not count as callbacks.
const callbackPath = "/callback"

// routineAPIKey is the API key of routineManifest.
const routineAPIKey = "agent-key"

// callbackArrival is one callback as the receiver saw it.
type callbackArrival struct {
	runID string
	at    time.Time
	body  []byte
}

// callbackSink is a callback receiver on a loopback httptest server. It
// responds 200 to every request and counts the callbacks by their
// webhook-id header, which is the run id, so that a repeated attempt does
// not count twice.
type callbackSink struct {
	url  string
	runs sync.Map
	// delivered counts the distinct runs, repeats the other callbacks.
	delivered atomic.Int64
	repeats   atomic.Int64
	// progress receives a value, without blocking, after each new run.
	progress chan struct{}
	// arrivals, when not nil, receives the first callback of each run.
	arrivals chan callbackArrival
	// body is the first callback body received.
	body     []byte
	bodyOnce sync.Once
}

// startCallbackSink starts a receiver. With arrivals set, the handler also
// sends the first callback of each run on the arrivals channel, whose
// buffer holds 1,024.
func startCallbackSink(b *testing.B, arrivals bool) *callbackSink {
	b.Helper()
	s := &callbackSink{progress: make(chan struct{}, 1)}
	if arrivals {
		s.arrivals = make(chan callbackArrival, 1024)
	}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	b.Cleanup(hs.Close)
	s.url = hs.URL
	return s
}

func (s *callbackSink) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	at := time.Now()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.URL.Path != callbackPath {
		return
	}
	s.bodyOnce.Do(func() { s.body = body })
	id := r.Header.Get("webhook-id")
	if _, seen := s.runs.LoadOrStore(id, true); seen {
		s.repeats.Add(1)
		return
	}
	if s.arrivals != nil {
		s.arrivals <- callbackArrival{runID: id, at: at, body: body}
	}
	s.delivered.Add(1)
	select {
	case s.progress <- struct{}{}:
	default:
	}
}

// waitDelivered waits until callbacks of n distinct runs have arrived.
func (s *callbackSink) waitDelivered(n int64, timeout time.Duration) error {
	deadline := time.After(timeout)
	for s.delivered.Load() < n {
		select {
		case <-s.progress:
		case <-deadline:
			return fmt.Errorf("callbacks of %d runs within %v, want %d", s.delivered.Load(), timeout, n)
		}
	}
	return nil
}

// routineClient triggers runs of the "decide" routine of routineManifest.
type routineClient struct {
	url    string
	client *http.Client
}

// startRoutineServer starts routineManifest with emitScript on a loopback
// httptest server and returns a client that keeps up to conns idle
// connections. It allows private callback URLs and puts back the default
// callback timeout of 15s in place of the manifest's 4s, so that a slow
// moment of a busy machine does not turn into a retry.
func startRoutineServer(b *testing.B, conns int) *routineClient {
	b.Helper()
	dir := b.TempDir()
	script := filepath.Join(dir, "script.yaml")
	if err := os.WriteFile(script, []byte(emitScript), 0o600); err != nil {
		b.Fatal(err)
	}
	yaml := strings.NewReplacer(
		"SCRIPT", script,
		"ALLOW", "    outbound: {allow_private_networks: true}",
		"TIMEOUT", "60",
		"      timeout: 4s\n", "      timeout: 15s\n",
	).Replace(routineManifest)
	if !strings.Contains(yaml, "timeout: 15s") {
		b.Fatal("routineManifest no longer sets delivery.timeout: 4s; update startRoutineServer")
	}

	m, err := manifest.Parse([]byte(yaml), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		b.Fatalf("parsing manifest: %v", err)
	}
	srv, err := agentry.New(m, agentry.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatalf("agentry.New: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatalf("starting server: %v", err)
	}

	hs := httptest.NewServer(srv)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	b.Cleanup(func() {
		client.CloseIdleConnections()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			b.Errorf("shutting server down: %v", err)
		}
	})
	return &routineClient{url: hs.URL, client: client}
}

// trigger sends POST /routines/decide/trigger with goodInput and the
// callback URL, and returns the new run's id.
func (c *routineClient) trigger(callbackURL string) (string, error) {
	body, err := json.Marshal(wire.TriggerRequest{Input: json.RawMessage(goodInput), CallbackURL: callbackURL})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequest("POST", c.url+"/routines/decide/trigger", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+routineAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("triggering a run: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("reading the trigger response: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("trigger: status %d, want 202: %s", resp.StatusCode, data)
	}
	var out wire.TriggerResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("decoding trigger response %s: %w", data, err)
	}
	return out.RunID, nil
}

// BenchmarkTriggerToCallback measures one run at a time: from sending
// POST /routines/{id}/trigger to the moment the receiver has read the
// whole callback POST of that run. Each iteration also times one
// hello-world round trip, the ceiling.
//
// The run's timestamps in the callback body split the time into four
// phases: the trigger request until the run is stored (accept), until a
// worker claims it (queue), the graph's execution (execute), and from the
// run's end to the receiver (deliver).
func BenchmarkTriggerToCallback(b *testing.B) {
	c := startRoutineServer(b, 4)
	hello := startHelloServer(b, 4)
	sink := startCallbackSink(b, true)

	var samples, ceiling, posts []time.Duration
	var accept, queue, execute, deliver []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := hello.get(); err != nil {
			b.Fatal(err)
		}
		ceiling = append(ceiling, time.Since(t0))

		t0 = time.Now()
		id, err := c.trigger(sink.url + callbackPath)
		if err != nil {
			b.Fatal(err)
		}
		posts = append(posts, time.Since(t0))
		var a callbackArrival
		select {
		case a = <-sink.arrivals:
		case <-time.After(10 * time.Second):
			b.Fatalf("no callback of run %s within 10s", id)
		}
		if a.runID != id {
			b.Fatalf("callback of run %s arrived, want run %s", a.runID, id)
		}
		samples = append(samples, a.at.Sub(t0))

		var cb wire.RunCallback
		if err := json.Unmarshal(a.body, &cb); err != nil {
			b.Fatalf("decoding callback %s: %v", a.body, err)
		}
		if cb.Status != wire.RunSucceeded || cb.StartedAt == nil {
			b.Fatalf("callback %s, want a run that succeeded", a.body)
		}
		// t0 and a.at carry monotonic clock readings and the body's times
		// do not, so these differences use the wall clock.
		accept = append(accept, cb.CreatedAt.Sub(t0.Round(0)))
		queue = append(queue, cb.StartedAt.Sub(cb.CreatedAt))
		execute = append(execute, cb.FinishedAt.Sub(*cb.StartedAt))
		deliver = append(deliver, a.at.Round(0).Sub(cb.FinishedAt))
	}
	p50, c50 := percentile(samples, 0.50), percentile(ceiling, 0.50)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(p50, "p50-µs")
	b.ReportMetric(percentile(samples, 0.99), "p99-µs")
	b.ReportMetric(c50, "ceiling-p50-µs")
	b.ReportMetric(percentile(ceiling, 0.99), "ceiling-p99-µs")
	b.ReportMetric(p50/c50, "p50/ceiling-p50")
	b.ReportMetric(percentile(posts, 0.50), "trigger-p50-µs")
	phases := []struct {
		name    string
		samples []time.Duration
	}{{"accept", accept}, {"queue", queue}, {"execute", execute}, {"deliver", deliver}}
	for _, p := range phases {
		b.ReportMetric(percentile(p.samples, 0.50), p.name+"-p50-µs")
		b.ReportMetric(percentile(p.samples, 0.99), p.name+"-p99-µs")
	}
}

// triggerClients is the number of clients that trigger runs in parallel
// in BenchmarkCallbackThroughput.
const triggerClients = 16

// ceilingClients is the number of goroutines of the plain POST loop, the
// same as the callback deliverer's default number of workers.
const ceilingClients = 16

// callbackRounds is the number of alternations between runs and plain
// POSTs in BenchmarkCallbackThroughput. Alternating keeps a change in the
// machine's background load from favouring one side.
const callbackRounds = 10

// BenchmarkCallbackThroughput triggers b.N runs over HTTP from
// triggerClients clients and times from the first trigger until the
// receiver has the callbacks of all of them. In each of callbackRounds
// rounds it triggers a share of the runs and waits for their callbacks,
// then sends as many POSTs of a callback body to the same receiver from
// ceilingClients goroutines with a plain http.Client, the ceiling. ns/op
// counts only the runs.
func BenchmarkCallbackThroughput(b *testing.B) {
	c := startRoutineServer(b, triggerClients)
	sink := startCallbackSink(b, false)
	callbackURL := sink.url + callbackPath
	plain := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: ceilingClients}}
	defer plain.CloseIdleConnections()

	var runTime, triggerTime, plainTime time.Duration
	b.ResetTimer()
	for round := range callbackRounds {
		n := b.N*(round+1)/callbackRounds - b.N*round/callbackRounds
		if n == 0 {
			continue
		}
		b.StartTimer()
		start := time.Now()
		var remaining atomic.Int64
		remaining.Store(int64(n))
		err := runClients(triggerClients, func(int) error {
			for remaining.Add(-1) >= 0 {
				if _, err := c.trigger(callbackURL); err != nil {
					return err
				}
			}
			return nil
		})
		triggerTime += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if err := sink.waitDelivered(int64(b.N*(round+1)/callbackRounds), time.Minute); err != nil {
			b.Fatal(err)
		}
		runTime += time.Since(start)
		b.StopTimer()

		elapsed, err := postLoop(plain, sink.url+"/plain", sink.body, n, ceilingClients)
		if err != nil {
			b.Fatal(err)
		}
		plainTime += elapsed
	}

	rate := float64(b.N) / runTime.Seconds()
	ceiling := float64(b.N) / plainTime.Seconds()
	b.ReportMetric(rate, "callbacks/s")
	b.ReportMetric(float64(b.N)/triggerTime.Seconds(), "triggers/s")
	b.ReportMetric(ceiling, "plain-posts/s")
	b.ReportMetric(rate/ceiling, "callbacks/plain-post")
	b.ReportMetric(float64(sink.repeats.Load()), "repeated-callbacks")
}

// postLoop sends n POSTs of body to url from workers goroutines and
// returns the time they took.
func postLoop(client *http.Client, url string, body []byte, n, workers int) (time.Duration, error) {
	var remaining atomic.Int64
	remaining.Store(int64(n))
	start := time.Now()
	err := runClients(workers, func(int) error {
		for remaining.Add(-1) >= 0 {
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				return fmt.Errorf("plain POST: %w", err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil {
				return fmt.Errorf("reading plain POST response: %w", err)
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("plain POST: status %d, want 200", resp.StatusCode)
			}
		}
		return nil
	})
	return time.Since(start), err
}
