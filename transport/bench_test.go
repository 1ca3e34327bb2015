package transport_test

// Benchmarks of event delivery over real HTTP on loopback. Absolute
// latencies vary between machines, so the latency benchmarks also measure
// a ceiling in the same run: a round trip to a hello-world net/http
// handler, interleaved with the measured operation. Results and the
// command that produced them are in docs/benchmarks.md.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport/wire"
)

const benchKey = "bench-key-0123456789"

// benchManifest serves the demo model, but no turn runs: the benchmarks
// append through the store without the trigger flag. The long maximum wait
// keeps idle waiters waiting through a slow setup.
const benchManifest = `
id: bench
name: Bench agent
agent_config:
  runtime:
    api_key: ` + benchKey + `
    long_poll_max_wait: 10m
  llms:
    default: scripted/demo
`

// probeStore is the memory store plus a count of the event reads that
// found nothing. Such a read is a long-poll's last step before it waits,
// so the count shows a benchmark when its waiters wait.
type probeStore struct {
	store.Store
	emptyReads atomic.Int64
	// idle receives a value, without blocking, after each empty read.
	idle chan struct{}
}

func (p *probeStore) ListEvents(ctx context.Context, sessionID string, from int64, limit int) ([]store.Event, error) {
	evs, err := p.Store.ListEvents(ctx, sessionID, from, limit)
	if err == nil && len(evs) == 0 {
		p.emptyReads.Add(1)
		select {
		case p.idle <- struct{}{}:
		default:
		}
	}
	return evs, err
}

// benchServer is an agentry server on a loopback httptest server.
type benchServer struct {
	store  *probeStore
	url    string
	client *http.Client
}

func startBenchServer(b *testing.B) *benchServer {
	b.Helper()
	m, err := manifest.Parse([]byte(benchManifest), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		b.Fatalf("parsing manifest: %v", err)
	}
	st := &probeStore{Store: memory.New(), idle: make(chan struct{}, 1)}
	srv, err := agentry.New(m, agentry.Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatalf("agentry.New: %v", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		b.Fatalf("starting server: %v", err)
	}
	hs := httptest.NewServer(srv)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.Cleanup(func() {
		client.CloseIdleConnections()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			b.Errorf("shutting server down: %v", err)
		}
		if err := st.Close(); err != nil {
			b.Errorf("closing store: %v", err)
		}
	})
	return &benchServer{store: st, url: hs.URL, client: client}
}

// createSessions creates sessions through the store, with no events.
func (s *benchServer) createSessions(b *testing.B, ids ...string) {
	b.Helper()
	for _, id := range ids {
		if _, _, err := s.store.CreateSession(context.Background(), store.Session{ID: id, Mode: store.ModeAuto}, nil); err != nil {
			b.Fatalf("creating session %s: %v", id, err)
		}
	}
}

// eventsRequest builds GET /sessions/{id}/events with the bench key.
func (s *benchServer) eventsRequest(b *testing.B, sessionID, query string) *http.Request {
	b.Helper()
	req, err := http.NewRequest("GET", s.url+"/sessions/"+sessionID+"/events?"+query, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+benchKey)
	return req
}

// humanMessage is a user_message from a human agent: it triggers no turn.
func humanMessage(b *testing.B) []store.NewEvent {
	b.Helper()
	payload, err := json.Marshal(agent.Payload{Text: "ping", Source: agent.SourceHumanAgent})
	if err != nil {
		b.Fatal(err)
	}
	return []store.NewEvent{{Kind: agent.KindUserMessage, Payload: payload}}
}

// drain empties the probe's idle channel, so the next value comes from
// the next empty read.
func (s *benchServer) drain() {
	select {
	case <-s.store.idle:
	default:
	}
}

// helloServer is the ceiling: a net/http handler that writes five bytes.
type helloServer struct {
	url    string
	client *http.Client
}

func startHelloServer(b *testing.B) *helloServer {
	b.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.Cleanup(func() {
		client.CloseIdleConnections()
		hs.Close()
	})
	return &helloServer{url: hs.URL, client: client}
}

// roundTrip times one GET, from sending it to reading the whole body.
func (h *helloServer) roundTrip(b *testing.B) time.Duration {
	b.Helper()
	start := time.Now()
	resp, err := h.client.Get(h.url)
	if err != nil {
		b.Fatalf("hello-world GET: %v", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		b.Fatalf("reading hello-world body: %v", err)
	}
	return elapsed
}

// percentile returns the q-quantile (0 < q <= 1) of samples by the
// nearest-rank method, in microseconds. It sorts samples.
func percentile(samples []time.Duration, q float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	slices.Sort(samples)
	rank := int(math.Ceil(q*float64(len(samples)))) - 1
	return float64(samples[max(rank, 0)].Nanoseconds()) / 1e3
}

// reportLatency reports p50 and p99 of samples and of the ceiling, and
// the ratio of the two p99s. It replaces ns/op, which would mix both.
func reportLatency(b *testing.B, samples, ceiling []time.Duration) {
	b.Helper()
	p50, p99 := percentile(samples, 0.50), percentile(samples, 0.99)
	c50, c99 := percentile(ceiling, 0.50), percentile(ceiling, 0.99)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(p50, "p50-µs")
	b.ReportMetric(p99, "p99-µs")
	b.ReportMetric(c50, "ceiling-p50-µs")
	b.ReportMetric(c99, "ceiling-p99-µs")
	if c99 > 0 {
		b.ReportMetric(p99/c99, "p99/ceiling-p99")
	}
}

// pollResult is the outcome of one long-poll request.
type pollResult struct {
	arrived time.Time
	page    wire.EventPage
	err     error
}

// BenchmarkWakeLongPoll measures the time from a store append to the
// arrival of the whole response of a long-poll that was waiting for it.
func BenchmarkWakeLongPoll(b *testing.B) {
	s := startBenchServer(b)
	hello := startHelloServer(b)
	const sessionID = "wake-long-poll"
	s.createSessions(b, sessionID)
	events := humanMessage(b)

	var samples, ceiling []time.Duration
	for i := int64(0); b.Loop(); i++ {
		ceiling = append(ceiling, hello.roundTrip(b))
		samples = append(samples, s.wakeLongPoll(b, sessionID, i, events))
	}
	reportLatency(b, samples, ceiling)
}

// wakeLongPoll starts a long-poll on the session from offset next, waits
// until the handler has found nothing to return, appends events and
// returns the time from the append to the arrival of the response. The
// session must hold exactly next events.
func (s *benchServer) wakeLongPoll(b *testing.B, sessionID string, next int64, events []store.NewEvent) time.Duration {
	b.Helper()
	s.drain()
	req := s.eventsRequest(b, sessionID, "wait=30&min_offset="+strconv.FormatInt(next, 10))
	done := make(chan pollResult, 1)
	go func() { done <- poll(s.client, req) }()
	select {
	case <-s.store.idle:
	case r := <-done:
		b.Fatalf("long-poll returned before the append: %+v", r)
	}

	start := time.Now()
	if _, err := s.store.Append(context.Background(), sessionID, events, store.AppendOptions{}); err != nil {
		b.Fatalf("append: %v", err)
	}
	r := <-done
	if r.err != nil {
		b.Fatal(r.err)
	}
	if len(r.page.Events) != len(events) || r.page.Events[0].Offset != next {
		b.Fatalf("long-poll from offset %d returned %d events, next_offset %d; want the %d appended", next, len(r.page.Events), r.page.NextOffset, len(events))
	}
	return r.arrived.Sub(start)
}

// poll sends a long-poll request and notes when its body has arrived.
func poll(client *http.Client, req *http.Request) pollResult {
	resp, err := client.Do(req)
	if err != nil {
		return pollResult{err: fmt.Errorf("long-poll: %w", err)}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := pollResult{arrived: time.Now()}
	if err != nil {
		r.err = fmt.Errorf("reading long-poll body: %w", err)
		return r
	}
	if resp.StatusCode != http.StatusOK {
		r.err = fmt.Errorf("long-poll: status %d: %s", resp.StatusCode, body)
		return r
	}
	if err := json.Unmarshal(body, &r.page); err != nil {
		r.err = fmt.Errorf("decoding long-poll body %s: %w", body, err)
	}
	return r
}

// BenchmarkWakeSSE measures the time from a store append to the client's
// reading of the SSE frame that carries the event. One stream stays open;
// the client has read the previous frame when it appends the next event.
func BenchmarkWakeSSE(b *testing.B) {
	s := startBenchServer(b)
	hello := startHelloServer(b)
	const sessionID = "wake-sse"
	s.createSessions(b, sessionID)
	events := humanMessage(b)
	ctx := context.Background()

	s.drain()
	req := s.eventsRequest(b, sessionID, "min_offset=0")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := s.client.Do(req)
	if err != nil {
		b.Fatalf("opening stream: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("opening stream: status %d", resp.StatusCode)
	}
	select {
	case <-s.store.idle:
	case <-time.After(5 * time.Second):
		b.Fatal("stream handler did not read the empty log within 5s")
	}
	rd := bufio.NewReader(resp.Body)

	var samples, ceiling []time.Duration
	next := int64(0)
	for b.Loop() {
		ceiling = append(ceiling, hello.roundTrip(b))

		start := time.Now()
		if _, err := s.store.Append(ctx, sessionID, events, store.AppendOptions{}); err != nil {
			b.Fatalf("append: %v", err)
		}
		id, err := readFrameID(rd)
		elapsed := time.Since(start)
		if err != nil {
			b.Fatalf("reading frame: %v", err)
		}
		if id != next {
			b.Fatalf("frame id = %d, want %d", id, next)
		}
		samples = append(samples, elapsed)
		next++
	}
	reportLatency(b, samples, ceiling)
}

// readFrameID reads SSE lines up to the blank line that ends an event
// frame and returns the frame's id. Comment frames (heartbeats) are
// skipped.
func readFrameID(rd *bufio.Reader) (int64, error) {
	id := int64(-1)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return 0, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && id >= 0:
			return id, nil
		case strings.HasPrefix(line, "id: "):
			id, err = strconv.ParseInt(line[len("id: "):], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("frame id %q: %w", line, err)
			}
		}
	}
}

// Idle waiters. The client runs in a child process, a copy of this test
// binary started with waiterClientEnv set, so that the parent's memory and
// file descriptors hold only the server side of the connections.

// waiterClientEnv holds the server's base URL in the child process.
const waiterClientEnv = "AGENTRY_BENCH_WAITER_CLIENT"

const (
	idleWaiters       = 10_000
	idleSessionPrefix = "idle-"
)

// TestMain runs the waiter client instead of the tests when
// waiterClientEnv is set.
func TestMain(m *testing.M) {
	if base := os.Getenv(waiterClientEnv); base != "" {
		os.Exit(runWaiterClient(base))
	}
	os.Exit(m.Run())
}

// runWaiterClient opens one connection per idle session and sends a
// long-poll on each, writes "ready" to stdout, and holds the connections
// until stdin closes. It uses raw HTTP/1.1 requests, so it needs no
// goroutine per connection.
func runWaiterClient(base string) int {
	u, err := url.Parse(base)
	if err != nil {
		fmt.Fprintf(os.Stderr, "waiter client: invalid server URL %q: %v\n", base, err)
		return 2
	}

	conns := make([]net.Conn, idleWaiters)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	// A few dialers at a time keep the listener's accept queue short.
	const dialers = 16
	var wg sync.WaitGroup
	errs := make(chan error, dialers)
	for d := range dialers {
		wg.Go(func() {
			for i := d; i < idleWaiters; i += dialers {
				c, err := net.Dial("tcp", u.Host)
				if err != nil {
					errs <- fmt.Errorf("dialing waiter %d: %w", i, err)
					return
				}
				conns[i] = c
				req := fmt.Sprintf("GET /sessions/%s%05d/events?min_offset=0&wait=600 HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
					idleSessionPrefix, i, u.Host, benchKey)
				if _, err := io.WriteString(c, req); err != nil {
					errs <- fmt.Errorf("sending waiter %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)

	var failures []error
	for err := range errs {
		failures = append(failures, err)
	}
	if err := errors.Join(failures...); err != nil {
		fmt.Fprintf(os.Stderr, "waiter client: %v\n", err)
		return 1
	}

	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// memSample is the memory use of this process at one moment.
type memSample struct {
	rss, heapInuse, stackInuse uint64 // bytes
	goroutines                 int
}

// sampleMemory collects garbage, returns freed memory to the OS and reads
// VmRSS from /proc/self/status, so it works only on Linux.
func sampleMemory(b *testing.B) memSample {
	b.Helper()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skipf("reading VmRSS: %v; this benchmark needs Linux /proc", err)
	}
	var rssKB uint64
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rssKB, err = strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("parsing VmRSS line %q: %v", line, err)
			}
		}
	}
	if rssKB == 0 {
		b.Skip("no VmRSS line in /proc/self/status")
	}
	return memSample{rss: rssKB << 10, heapInuse: ms.HeapInuse, stackInuse: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// ensureFiles raises the soft RLIMIT_NOFILE to at least n, or skips the
// benchmark when the hard limit is lower.
func ensureFiles(b *testing.B, n uint64) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("reading RLIMIT_NOFILE: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		b.Skipf("needs %d open files, but the RLIMIT_NOFILE hard limit is %d; raise it (ulimit -Hn) to run", n, lim.Max)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("raising RLIMIT_NOFILE to %d: %v", n, err)
	}
}

// BenchmarkIdleLongPolls measures the memory of this process while
// 10,000 long-polls, one per session, wait on loopback connections. The
// sessions exist before the first sample, so the growth is the cost of the
// waiters alone. The waiters are set up once per call; the timed loop then
// measures wake-ups of one more long-poll while they wait.
func BenchmarkIdleLongPolls(b *testing.B) {
	ensureFiles(b, idleWaiters+1000)
	s := startBenchServer(b)
	ids := make([]string, idleWaiters)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%05d", idleSessionPrefix, i)
	}
	const busySession = "busy"
	s.createSessions(b, append(ids, busySession)...)
	events := humanMessage(b)
	baseReads := s.store.emptyReads.Load()
	before := sampleMemory(b)

	self, err := os.Executable()
	if err != nil {
		b.Skipf("locating the test binary to run the waiter client: %v", err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), waiterClientEnv+"="+s.url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting waiter client: %v", err)
	}
	// Closing stdin makes the child close its connections and exit. The
	// server's handlers then end, and hs.Close in the cleanup waits for them.
	b.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("waiter client: %v: %s", err, stderr.Bytes())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		b.Fatalf("waiter client did not start its waiters: %q, %v: %s", line, err, stderr.Bytes())
	}

	deadline := time.Now().Add(2 * time.Minute)
	for s.store.emptyReads.Load()-baseReads < idleWaiters {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d long-polls waiting after 2 minutes", s.store.emptyReads.Load()-baseReads, idleWaiters)
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := sampleMemory(b)

	var wakes []time.Duration
	for i := int64(0); b.Loop(); i++ {
		wakes = append(wakes, s.wakeLongPoll(b, busySession, i, events))
	}
	if waiting := s.store.emptyReads.Load() - baseReads - int64(len(wakes)); waiting != idleWaiters {
		b.Fatalf("%d empty reads by idle waiters after the wake-ups, want %d: some waiters were woken", waiting, idleWaiters)
	}

	const mib = 1 << 20
	growth := float64(after.rss) - float64(before.rss)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(after.rss)/mib, "rss-MiB")
	b.ReportMetric(growth/mib, "rss-growth-MiB")
	b.ReportMetric(growth/idleWaiters/1024, "rss-KiB/waiter")
	b.ReportMetric((float64(after.heapInuse)-float64(before.heapInuse))/mib, "heap-growth-MiB")
	b.ReportMetric((float64(after.stackInuse)-float64(before.stackInuse))/mib, "stack-growth-MiB")
	b.ReportMetric(float64(after.goroutines-before.goroutines), "goroutines-added")
	b.ReportMetric(percentile(wakes, 0.50), "wake-p50-µs")
	b.ReportMetric(percentile(wakes, 0.99), "wake-p99-µs")
}
