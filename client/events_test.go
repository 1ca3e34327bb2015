package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/agentry/agentry/client"
	"github.com/agentry/agentry/transport/wire"
)

func TestEventsResumeAfterFaults(t *testing.T) {
	ts := startServer(t)
	faulty := &faultyEvents{next: ts.agent}
	c := client.New(ts.serve(t, faulty), testKey)
	clean := ts.client()
	sess := openSession(t, clean, wire.CreateSessionRequest{})

	// Drive a conversation from inside the loop: each status ready posts
	// the next message, so events arrive while polls are failing. Limit 2
	// splits every turn over several pages.
	const turns = 4
	posted := 0
	postMessage(t, clean, sess.ID, fmt.Sprintf("message %d", posted))
	posted++
	var got []wire.Event
	ctx := testContext(t, 60*time.Second)
	for ev, err := range c.Events(ctx, sess.ID, 0, client.PollOptions{Wait: 2 * time.Second, Limit: 2}) {
		if err != nil {
			t.Fatalf("Events after %s: %v", kinds(got), err)
		}
		got = append(got, ev)
		if !isReady(ev) {
			continue
		}
		if posted == turns {
			break
		}
		postMessage(t, clean, sess.ID, fmt.Sprintf("message %d", posted))
		posted++
	}
	if ctx.Err() != nil {
		t.Fatalf("conversation did not finish: %v; got %s", ctx.Err(), kinds(got))
	}

	for i, ev := range got {
		if ev.Offset != int64(i) {
			t.Fatalf("event %d has offset %d, want %d; got %s", i, ev.Offset, i, kinds(got))
		}
		if ev.SessionID != sess.ID {
			t.Errorf("event %d session_id = %q, want %q", i, ev.SessionID, sess.ID)
		}
	}
	after, err := clean.GetSession(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != after.NextOffset {
		t.Errorf("iterated %d events, the session has %d", len(got), after.NextOffset)
	}
	page, err := clean.Poll(ctx, sess.ID, 0, client.PollOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, page.Events) {
		t.Errorf("iterated events differ from the stored ones:\n got  %s\n want %s", kinds(got), kinds(page.Events))
	}

	var replies []string
	for _, ev := range got {
		if ev.Kind == wire.KindAgentMessage {
			replies = append(replies, ev.Text)
		}
	}
	wantReplies := []string{"Welcome!"}
	for i := range turns {
		wantReplies = append(wantReplies, fmt.Sprintf("echo: message %d", i))
	}
	if !reflect.DeepEqual(replies, wantReplies) {
		t.Errorf("agent messages = %q, want %q", replies, wantReplies)
	}

	for kind, n := range faulty.counts() {
		if n == 0 {
			t.Errorf("fault %q was never injected", faultNames[kind])
		}
	}
}

func TestEventsEndOnError(t *testing.T) {
	cases := []struct {
		name string
		// deleteAfter is when the session is deleted after the first
		// status ready; a negative value keeps it.
		deleteAfter time.Duration
		key         string
		wantStatus  int
		wantCode    string
	}{
		{"bad key", -1, "wrong-key", http.StatusUnauthorized, wire.CodeUnauthorized},
		{"deleted between polls", 0, testKey, http.StatusNotFound, wire.CodeNotFound},
		{"deleted during a poll", 300 * time.Millisecond, testKey, http.StatusNotFound, wire.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			faulty := &faultyEvents{next: ts.agent}
			c := client.New(ts.serve(t, faulty), tc.key)
			clean := ts.client()
			sess := openSession(t, clean, wire.CreateSessionRequest{})
			postMessage(t, clean, sess.ID, "hello")

			ctx := testContext(t, 15*time.Second)
			deleted := make(chan error, 1)
			scheduled := false
			var evs []wire.Event
			var errs []error
			for ev, err := range c.Events(ctx, sess.ID, 0, client.PollOptions{Wait: time.Second}) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				evs = append(evs, ev)
				if isReady(ev) && tc.deleteAfter >= 0 && !scheduled {
					scheduled = true
					time.AfterFunc(tc.deleteAfter, func() { deleted <- clean.DeleteSession(context.Background(), sess.ID) })
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("iteration ran until the deadline; events %s, errors %v", kinds(evs), errs)
			}
			if tc.deleteAfter >= 0 {
				if err := <-deleted; err != nil {
					t.Fatalf("DeleteSession: %v", err)
				}
				if !hasStatus(evs, wire.StatusReady) {
					t.Errorf("events before the error = %s, want the turn up to status ready", kinds(evs))
				}
			} else if len(evs) != 0 {
				t.Errorf("events with a bad key = %s, want none", kinds(evs))
			}
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want exactly one", errs)
			}
			var ae *client.APIError
			if !errors.As(errs[0], &ae) {
				t.Fatalf("error %v (%T) is not an *APIError", errs[0], errs[0])
			}
			if ae.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", ae.StatusCode, tc.wantStatus)
			}
			if ae.Code != tc.wantCode {
				t.Errorf("code = %q, want %q", ae.Code, tc.wantCode)
			}
			if got, want := client.IsNotFound(errs[0]), tc.wantStatus == http.StatusNotFound; got != want {
				t.Errorf("IsNotFound = %v, want %v", got, want)
			}
		})
	}
}

func TestEventsContextEnd(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	sess := openSession(t, c, wire.CreateSessionRequest{})

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	var evs []wire.Event
	for ev, err := range c.Events(ctx, sess.ID, 0, client.PollOptions{Wait: 30 * time.Second}) {
		if err != nil {
			t.Fatalf("Events yielded %v, want no error when the context ends", err)
		}
		evs = append(evs, ev)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("iteration ended %v after start, want soon after the 300ms deadline", elapsed)
	}
	if len(evs) != 1 || evs[0].Text != "Welcome!" {
		t.Errorf("events = %s, want only the greeting", kinds(evs))
	}
}

func TestEventsHonourRetryAfter(t *testing.T) {
	ts := startServer(t)
	throttle := &throttleFirstPoll{next: ts.agent}
	c := client.New(ts.serve(t, throttle), testKey)
	sess := openSession(t, ts.client(), wire.CreateSessionRequest{})

	for ev, err := range c.Events(testContext(t, 10*time.Second), sess.ID, 0, client.PollOptions{}) {
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		if ev.Offset != 0 || ev.Text != "Welcome!" {
			t.Errorf("first event = %+v, want the greeting at offset 0", ev)
		}
		break
	}
	arrivals := throttle.times()
	if len(arrivals) != 2 {
		t.Fatalf("long-poll requests = %d, want 2 (one throttled, one served)", len(arrivals))
	}
	if gap := arrivals[1].Sub(arrivals[0]); gap < 900*time.Millisecond {
		t.Errorf("retry came %v after the 429, want about the 1s of Retry-After", gap)
	}
}

func TestEventsKindsFilter(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	sess := openSession(t, c, wire.CreateSessionRequest{})
	postMessage(t, c, sess.ID, "one")

	opts := client.PollOptions{Wait: 5 * time.Second, Kinds: []string{wire.KindAgentMessage}}
	var texts []string
	last := int64(-1)
	for ev, err := range c.Events(testContext(t, 10*time.Second), sess.ID, 0, opts) {
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		if ev.Kind != wire.KindAgentMessage {
			t.Errorf("event at offset %d has kind %q, want only agent_message", ev.Offset, ev.Kind)
		}
		if ev.Offset <= last {
			t.Errorf("offset %d follows offset %d", ev.Offset, last)
		}
		last = ev.Offset
		texts = append(texts, ev.Text)
		if len(texts) == 1 {
			continue
		}
		if len(texts) == 3 {
			break
		}
		postMessage(t, c, sess.ID, "two")
	}
	want := []string{"Welcome!", "echo: one", "echo: two"}
	if !reflect.DeepEqual(texts, want) {
		t.Errorf("agent messages = %q, want %q", texts, want)
	}
}

func TestPoll(t *testing.T) {
	ts := startServer(t)
	c := ts.client()
	sess := openSession(t, c, wire.CreateSessionRequest{})
	postMessage(t, c, sess.ID, "hi")
	all := readUntilReady(t, c, sess.ID, 0)
	end := int64(len(all))
	ctx := testContext(t, 10*time.Second)

	cases := []struct {
		name      string
		from      int64
		opts      client.PollOptions
		wantCount int
		wantNext  int64
	}{
		{"limit", 0, client.PollOptions{Limit: 2}, 2, 2},
		{"from an offset", 1, client.PollOptions{Limit: 1000}, int(end) - 1, end},
		{"kinds", 0, client.PollOptions{Kinds: []string{wire.KindUserMessage}}, 1, end},
		{"nothing new", end, client.PollOptions{Wait: 100 * time.Millisecond}, 0, end},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, err := c.Poll(ctx, sess.ID, tc.from, tc.opts)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if len(page.Events) != tc.wantCount {
				t.Errorf("events = %s, want %d", kinds(page.Events), tc.wantCount)
			}
			if page.NextOffset != tc.wantNext {
				t.Errorf("next_offset = %d, want %d", page.NextOffset, tc.wantNext)
			}
			for _, ev := range page.Events {
				if ev.Offset < tc.from {
					t.Errorf("event at offset %d is before from %d", ev.Offset, tc.from)
				}
			}
		})
	}

	_, err := c.Poll(ctx, sess.ID, end+1, client.PollOptions{})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest || ae.Code != wire.CodeInvalidParameter {
		t.Errorf("Poll past the end: %v, want 400 %s", err, wire.CodeInvalidParameter)
	}
}
