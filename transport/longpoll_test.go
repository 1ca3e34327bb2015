package transport_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentry/agentry/transport/wire"
)

func TestLongPollTimeoutReturnsEmpty(t *testing.T) {
	e := setup(t, demoManifest, "")
	s := e.open(wire.CreateSessionRequest{})
	page := e.poll(s.ID, "wait=0.2&min_offset=0")
	if len(page.Events) != 0 {
		t.Fatalf("events = %s, want none", kinds(page.Events))
	}
	if page.NextOffset != 0 {
		t.Errorf("next_offset = %d, want 0 (the min_offset)", page.NextOffset)
	}
	r := e.do("GET", "/sessions/"+s.ID+"/events?wait=0.1", nil)
	if !strings.Contains(string(r.body), `"events":[]`) {
		t.Errorf("empty page body = %s, want an empty events array", r.body)
	}
}

func TestLongPollWakesOnAppend(t *testing.T) {
	e := setup(t, demoManifest, "")
	s := e.open(wire.CreateSessionRequest{})
	got := make(chan wire.EventPage, 1)
	start := time.Now()
	go func() { got <- e.poll(s.ID, "wait=20&min_offset=0&kinds=user_message") }()
	time.Sleep(100 * time.Millisecond)
	e.post(s.ID, "wake up")
	select {
	case page := <-got:
		if len(page.Events) != 1 || page.Events[0].Text != "wake up" {
			t.Fatalf("woken poll returned %s", kinds(page.Events))
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("poll returned after its wait, not on the append")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll not woken within 10s")
	}
}

func TestLongPollWaitClamped(t *testing.T) {
	yaml := strings.Replace(demoManifest, "    api_key:", "    long_poll_max_wait: 1s\n    api_key:", 1)
	e := setup(t, yaml, "")
	s := e.open(wire.CreateSessionRequest{})
	start := time.Now()
	page := e.poll(s.ID, "wait=600")
	if len(page.Events) != 0 {
		t.Fatalf("events = %s", kinds(page.Events))
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("wait=600 held the request %v; the 1s maximum was not applied", d)
	}
}

func TestLongPollBurstResume(t *testing.T) {
	e := setup(t, demoManifest, "")
	s := e.open(wire.CreateSessionRequest{})
	e.post(s.ID, "first")
	e.waitReady(s.ID, 0, 1)
	e.post(s.ID, "second")
	e.waitReady(s.ID, 0, 2)

	// Read the whole log two events at a time from each next_offset:
	// every offset exactly once, in order.
	var offsets []int64
	from := int64(0)
	for range 50 {
		page := e.poll(s.ID, "wait=0&limit=2&min_offset="+itoa(from))
		if len(page.Events) == 0 {
			if page.NextOffset != from {
				t.Fatalf("empty page moved next_offset from %d to %d", from, page.NextOffset)
			}
			break
		}
		for _, ev := range page.Events {
			offsets = append(offsets, ev.Offset)
		}
		from = page.NextOffset
	}
	sess := e.getSession(s.ID)
	if int64(len(offsets)) != sess.NextOffset {
		t.Fatalf("read %d events, session has %d", len(offsets), sess.NextOffset)
	}
	for i, off := range offsets {
		if off != int64(i) {
			t.Fatalf("offsets %v are not 0..%d in order", offsets, len(offsets)-1)
		}
	}
}

func TestLongPollKindsAdvancesOffset(t *testing.T) {
	e := setup(t, demoManifest, "")
	s := e.open(wire.CreateSessionRequest{})
	e.post(s.ID, "hello")
	evs := e.waitReady(s.ID, 0, 1)
	last := evs[len(evs)-1].Offset

	page := e.poll(s.ID, "wait=0&kinds=agent_message&min_offset=0")
	if len(page.Events) != 1 || page.Events[0].Kind != wire.KindAgentMessage {
		t.Fatalf("filtered events = %s", kinds(page.Events))
	}
	// No agent message after the reply: a filtered poll from there scans
	// the remaining events and reports the head as next_offset.
	page = e.poll(s.ID, "wait=0.1&kinds=agent_message&min_offset="+itoa(page.NextOffset))
	if len(page.Events) != 0 || page.NextOffset != last+1 {
		t.Errorf("second filtered poll: %s next_offset %d, want none and %d", kinds(page.Events), page.NextOffset, last+1)
	}
}

func (e *env) getSession(id string) wire.Session {
	e.t.Helper()
	r := e.do("GET", "/sessions/"+id, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("get session: %d %s", r.status, r.body)
	}
	var s wire.Session
	r.decode(e.t, &s)
	return s
}
