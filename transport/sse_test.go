package transport_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/llm/scripted"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/store/memory"
	"github.com/agentry/agentry/transport"
	"github.com/agentry/agentry/transport/wire"
)

// frame is one SSE message or comment.
type frame struct {
	id, event, data string
	comment         string
}

// openStream starts an SSE request and returns a channel of its frames.
func (e *env) openStream(ctx context.Context, path string, headers map[string]string) (*http.Response, <-chan frame) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	frames := make(chan frame, 100)
	go func() {
		defer close(frames)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var f frame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				frames <- f
				f = frame{}
			case strings.HasPrefix(line, ":"):
				f.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "id: "):
				f.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				f.data = line[6:]
			}
		}
	}()
	return resp, frames
}

// nextEvent returns the next frame that carries an event, failing after 10s.
func nextEvent(t *testing.T, frames <-chan frame) (frame, wire.Event) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("stream ended")
			}
			if f.data == "" {
				continue
			}
			var ev wire.Event
			if err := json.Unmarshal([]byte(f.data), &ev); err != nil {
				t.Fatalf("frame data %q: %v", f.data, err)
			}
			return f, ev
		case <-timeout:
			t.Fatal("no SSE event within 10s")
		}
	}
}

func TestSSEStreamsEventsWithOffsets(t *testing.T) {
	e := setup(t, demoManifest, "")
	s := e.open(wire.CreateSessionRequest{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, frames := e.openStream(ctx, "/sessions/"+s.ID+"/events", nil)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	e.post(s.ID, "hello")
	for want := int64(0); ; want++ {
		f, ev := nextEvent(t, frames)
		if f.id != strconv.FormatInt(ev.Offset, 10) || ev.Offset != want {
			t.Fatalf("frame id %q, offset %d; want both %d", f.id, ev.Offset, want)
		}
		if f.event != ev.Kind {
			t.Errorf("frame event %q, kind %q", f.event, ev.Kind)
		}
		if ev.Kind == wire.KindStatus && ev.Status == wire.StatusReady {
			break
		}
	}
}

func TestSSELastEventIDResumes(t *testing.T) {
	e := setup(t, demoManifest, "")
	s := e.open(wire.CreateSessionRequest{})
	e.post(s.ID, "hello")
	e.waitReady(s.ID, 0, 1)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Last-Event-ID wins over min_offset.
	_, frames := e.openStream(ctx, "/sessions/"+s.ID+"/events?min_offset=0", map[string]string{"Last-Event-ID": "2"})
	_, ev := nextEvent(t, frames)
	if ev.Offset != 3 {
		t.Errorf("resumed at offset %d, want 3", ev.Offset)
	}
}

func TestSSEBadLastEventID(t *testing.T) {
	e := setup(t, demoManifest, "")
	s := e.open(wire.CreateSessionRequest{})
	for _, id := range []string{"abc", "-1", "50"} {
		r := e.doWith("GET", "/sessions/"+s.ID+"/events", nil, map[string]string{
			"Authorization": "Bearer " + testKey, "Accept": "text/event-stream", "Last-Event-ID": id,
		})
		if r.status != http.StatusBadRequest || r.errorCode(t).Code != wire.CodeInvalidParameter {
			t.Errorf("Last-Event-ID %q: %d %s, want 400 invalid_parameter", id, r.status, r.body)
		}
	}
}

func TestSSEHeartbeatIsComment(t *testing.T) {
	m, err := manifest.Parse([]byte(demoManifest), manifest.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	defer st.Close()
	model, err := scripted.New(scripted.DemoName)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine, err := agent.New(agent.Config{Manifest: m, Store: st, Chat: model, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := transport.New(transport.Config{Manifest: m, Store: st, Engine: engine, Logger: log, HeartbeatInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	e := &env{t: t, http: hs, url: hs.URL}
	s := e.open(wire.CreateSessionRequest{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, frames := e.openStream(ctx, "/sessions/"+s.ID+"/events", nil)
	select {
	case f := <-frames:
		if f.comment == "" || f.id != "" || f.data != "" {
			t.Errorf("first frame = %+v, want a bare comment", f)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat within 5s")
	}
}
