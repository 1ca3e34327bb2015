package agentry_test

// Benchmarks of whole turns over real HTTP on loopback, with a scripted
// model that replies at once. Each benchmark measures its ceiling, a
// hello-world net/http handler, in the same run; docs/benchmarks.md
// records results and the command that produced them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentry/agentry"
	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/wire"
)

const benchKey = "bench-key-0123456789"

// benchScript is a scripted model with one rule: reply "ok" at once.
const benchScript = "- reply:\n    text: ok\n"

const benchManifest = `
id: bench
name: Bench agent
agent_config:
  runtime:
    api_key: ` + benchKey + `
  llms:
    default: scripted/bench
    providers:
      scripted:
        script: SCRIPT
`

// messagesPerSession is the conversation length: clients move to a new
// session after this many messages. Each turn reads the session's whole
// history, so one endless session would make turns slower as it grows.
const messagesPerSession = 10

// turnClient talks to an agentry server that replies with benchScript.
type turnClient struct {
	url    string
	client *http.Client
	store  store.Store
}

// startTurnServer starts the server on a loopback httptest server, with a
// client that keeps up to conns idle connections.
func startTurnServer(b *testing.B, conns int) *turnClient {
	b.Helper()
	dir := b.TempDir()
	script := filepath.Join(dir, "script.yaml")
	if err := os.WriteFile(script, []byte(benchScript), 0o600); err != nil {
		b.Fatal(err)
	}

	yaml := strings.ReplaceAll(benchManifest, "SCRIPT", script)
	m, err := manifest.Parse([]byte(yaml), manifest.WithDir(dir), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
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
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			b.Errorf("shutting server down: %v", err)
		}
	})
	return &turnClient{url: hs.URL, client: client, store: srv.Store()}
}

// call sends a request with the bench key and decodes a 2xx JSON reply
// into out.
func (c *turnClient) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+benchKey)
	req.Header.Set("Content-Type", "application/json")

	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading body: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding %s: %w", method, path, data, err)
	}
	return nil
}

func (c *turnClient) openSession() (string, error) {
	var s wire.Session
	if err := c.call("POST", "/sessions", wire.CreateSessionRequest{}, &s); err != nil {
		return "", err
	}
	return s.ID, nil
}

// turnResult describes one reply as the client saw it.
type turnResult struct {
	// post is the round trip of the POST of the message alone.
	post time.Duration
	// polls is the number of long-poll requests made after the POST.
	polls int
}

// turn posts a customer message and long-polls until the turn's status
// ready event arrives.
func (c *turnClient) turn(sessionID string) (turnResult, error) {
	var r turnResult
	start := time.Now()
	var posted wire.Event
	if err := c.call("POST", "/sessions/"+sessionID+"/messages", wire.PostMessageRequest{Text: "hello"}, &posted); err != nil {
		return r, err
	}
	r.post = time.Since(start)
	from := posted.Offset + 1
	for {
		r.polls++
		var page wire.EventPage
		if err := c.call("GET", fmt.Sprintf("/sessions/%s/events?min_offset=%d&wait=30", sessionID, from), nil, &page); err != nil {
			return r, err
		}
		for _, ev := range page.Events {
			if ev.Kind != wire.KindStatus {
				continue
			}
			switch ev.Status {
			case wire.StatusReady:
				return r, nil
			case wire.StatusError:
				return r, fmt.Errorf("turn of session %s failed: %+v", sessionID, ev.Error)
			}
		}
		if len(page.Events) == 0 {
			return r, fmt.Errorf("no status ready in session %s within 30s", sessionID)
		}
		from = page.NextOffset
	}
}

// helloServer is the ceiling: a net/http handler that writes five bytes.
type helloServer struct {
	url    string
	client *http.Client
}

func startHelloServer(b *testing.B, conns int) *helloServer {
	b.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	b.Cleanup(func() {
		client.CloseIdleConnections()
		hs.Close()
	})
	return &helloServer{url: hs.URL, client: client}
}

// get sends one GET and reads the whole body.
func (h *helloServer) get() error {
	resp, err := h.client.Get(h.url)
	if err != nil {
		return fmt.Errorf("hello-world GET: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("reading hello-world body: %w", err)
	}
	return nil
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

// BenchmarkMessageToReply measures one client's wait for a reply: from
// sending POST /sessions/{id}/messages to reading the turn's status ready
// event. The long-poll client polls after the POST returns; the SSE client
// holds a stream open on the session before it posts. Each iteration also
// times one hello-world round trip, the ceiling.
func BenchmarkMessageToReply(b *testing.B) {
	b.Run("long-poll", func(b *testing.B) {
		benchmarkMessageToReply(b, func(c *turnClient, id string) (conversation, error) {
			return longPollConversation{c, id}, nil
		})
	})
	b.Run("sse", func(b *testing.B) {
		benchmarkMessageToReply(b, func(c *turnClient, id string) (conversation, error) {
			return c.openStream(id)
		})
	})
}

// conversation is one client's session with the agent.
type conversation interface {
	// reply posts a customer message and waits for the turn's status
	// ready event.
	reply() (turnResult, error)
	close()
}

func benchmarkMessageToReply(b *testing.B, start func(c *turnClient, sessionID string) (conversation, error)) {
	c := startTurnServer(b, 4)
	hello := startHelloServer(b, 4)

	var samples, ceiling, posts []time.Duration
	polls := 0
	var conv conversation
	defer func() {
		if conv != nil {
			conv.close()
		}
	}()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if err := hello.get(); err != nil {
			b.Fatal(err)
		}
		ceiling = append(ceiling, time.Since(t0))

		if i%messagesPerSession == 0 {
			if conv != nil {
				conv.close()
			}
			id, err := c.openSession()
			if err != nil {
				b.Fatal(err)
			}
			if conv, err = start(c, id); err != nil {
				b.Fatal(err)
			}
		}
		t0 = time.Now()
		r, err := conv.reply()
		if err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(t0))
		posts = append(posts, r.post)
		polls += r.polls
	}
	p50, c50 := percentile(samples, 0.50), percentile(ceiling, 0.50)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(p50, "p50-µs")
	b.ReportMetric(percentile(samples, 0.99), "p99-µs")
	b.ReportMetric(c50, "ceiling-p50-µs")
	b.ReportMetric(p50/c50, "p50/ceiling-p50")
	b.ReportMetric(percentile(posts, 0.50), "post-p50-µs")
	if polls > 0 {
		b.ReportMetric(float64(polls)/float64(len(samples)), "polls/reply")
	}
}

type longPollConversation struct {
	c  *turnClient
	id string
}

func (l longPollConversation) reply() (turnResult, error) { return l.c.turn(l.id) }
func (l longPollConversation) close()                     {}

// sseConversation reads a session's events from one SSE stream.
type sseConversation struct {
	c    *turnClient
	id   string
	body io.ReadCloser
	rd   *bufio.Reader
}

// openStream opens an SSE stream on the session from offset 0.
func (c *turnClient) openStream(sessionID string) (*sseConversation, error) {
	req, err := http.NewRequest("GET", c.url+"/sessions/"+sessionID+"/events?min_offset=0", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchKey)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("opening stream on session %s: %w", sessionID, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("opening stream on session %s: status %d", sessionID, resp.StatusCode)
	}
	return &sseConversation{c: c, id: sessionID, body: resp.Body, rd: bufio.NewReader(resp.Body)}, nil
}

func (s *sseConversation) reply() (turnResult, error) {
	var r turnResult
	start := time.Now()
	var posted wire.Event
	if err := s.c.call("POST", "/sessions/"+s.id+"/messages", wire.PostMessageRequest{Text: "hello"}, &posted); err != nil {
		return r, err
	}
	r.post = time.Since(start)
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return r, fmt.Errorf("reading stream of session %s: %w", s.id, err)
		}
		data, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: ")
		if !ok {
			continue
		}
		var ev wire.Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return r, fmt.Errorf("decoding frame %s: %w", data, err)
		}
		if ev.Offset <= posted.Offset || ev.Kind != wire.KindStatus {
			continue
		}
		switch ev.Status {
		case wire.StatusReady:
			return r, nil
		case wire.StatusError:
			return r, fmt.Errorf("turn of session %s failed: %+v", s.id, ev.Error)
		}
	}
}

func (s *sseConversation) close() { s.body.Close() }

// throughputClients is the client concurrency of BenchmarkTurnThroughput:
// each client runs one turn at a time, in its own session.
const throughputClients = 64

// throughputRounds is the number of alternations between turns and
// hello-world requests in BenchmarkTurnThroughput. Alternating keeps a
// change in the machine's background load from favouring one side.
const throughputRounds = 10

// BenchmarkTurnThroughput runs b.N turns with throughputClients clients
// in parallel, each on its own sessions. In each of throughputRounds
// rounds it runs a share of the turns, then as many hello-world clients
// for as long. It reports both rates and their ratio; ns/op counts only
// the turns.
func BenchmarkTurnThroughput(b *testing.B) {
	c := startTurnServer(b, throughputClients)
	hello := startHelloServer(b, throughputClients)

	// Open every session before the clock starts.
	sessions := make(chan string, b.N/messagesPerSession+throughputClients)
	for range cap(sessions) {
		id, err := c.openSession()
		if err != nil {
			b.Fatal(err)
		}
		sessions <- id
	}
	current := make([]string, throughputClients)
	done := make([]int, throughputClients)

	var turnTime, helloTime time.Duration
	var polls, requests atomic.Int64
	b.ResetTimer()
	for round := range throughputRounds {
		b.StartTimer()
		var remaining atomic.Int64
		remaining.Store(int64(b.N*(round+1)/throughputRounds - b.N*round/throughputRounds))
		start := time.Now()
		err := runClients(throughputClients, func(client int) error {
			for remaining.Add(-1) >= 0 {
				if done[client]%messagesPerSession == 0 {
					current[client] = <-sessions
				}
				r, err := c.turn(current[client])
				if err != nil {
					return err
				}
				polls.Add(int64(r.polls))
				done[client]++
			}
			return nil
		})
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		turnTime += elapsed

		start = time.Now()
		deadline := start.Add(elapsed)
		err = runClients(throughputClients, func(int) error {
			for {
				if err := hello.get(); err != nil {
					return err
				}
				requests.Add(1)
				if !time.Now().Before(deadline) {
					return nil
				}
			}
		})
		helloTime += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	}

	turnRate := float64(b.N) / turnTime.Seconds()
	helloRate := float64(requests.Load()) / helloTime.Seconds()
	b.ReportMetric(turnRate, "turns/s")
	b.ReportMetric(helloRate, "hello-req/s")
	b.ReportMetric(turnRate/helloRate, "turns/hello-req")
	b.ReportMetric(float64(polls.Load())/float64(b.N), "polls/turn")
}

// runClients runs fn(0) to fn(n-1) in parallel and returns the first
// error.
func runClients(n int, fn func(client int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		wg.Go(func() {
			if err := fn(i); err != nil {
				once.Do(func() { first = err })
			}
		})
	}
	wg.Wait()
	return first
}

// BenchmarkReplyAfterHistory measures message-to-reply over long-poll in
// sessions that already hold a history of the given number of events,
// six per exchange as a real turn writes them. Each iteration uses a new
// session, created with its history through the store and deleted after.
func BenchmarkReplyAfterHistory(b *testing.B) {
	for _, events := range []int{0, 600, 6000} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) {
			c := startTurnServer(b, 4)
			history := exchanges(b, events/6)
			ctx := context.Background()
			var samples []time.Duration
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprintf("history-%d", i)
				if _, _, err := c.store.CreateSession(ctx, store.Session{ID: id, Mode: store.ModeAuto}, history); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if _, err := c.turn(id); err != nil {
					b.Fatal(err)
				}
				samples = append(samples, time.Since(start))
				if err := c.store.DeleteSession(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(percentile(samples, 0.50), "p50-µs")
		})
	}
}

// exchanges returns the events of n customer messages and their replies.
func exchanges(b *testing.B, n int) []store.NewEvent {
	b.Helper()
	event := func(kind string, p agent.Payload) store.NewEvent {
		data, err := json.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		return store.NewEvent{Kind: kind, Payload: data}
	}
	var out []store.NewEvent
	for i := range n {
		out = append(out,
			event(agent.KindUserMessage, agent.Payload{Text: fmt.Sprintf("question %d", i), Source: agent.SourceCustomer}),
			event(agent.KindStatus, agent.Payload{Status: agent.StatusAcknowledged}),
			event(agent.KindStatus, agent.Payload{Status: agent.StatusProcessing}),
			event(agent.KindStatus, agent.Payload{Status: agent.StatusTyping}),
			event(agent.KindAgentMessage, agent.Payload{Text: fmt.Sprintf("answer %d", i)}),
			event(agent.KindStatus, agent.Payload{Status: agent.StatusReady}),
		)
	}
	return out
}
