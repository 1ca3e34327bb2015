package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/internal/telemetry"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/wire"
)

// Long-poll and SSE limits.
const (
	defaultWait      = 30 * time.Second
	defaultLimit     = 100
	maxLimit         = 1000
	defaultHeartbeat = 15 * time.Second
)

var knownKinds = map[string]bool{
	agent.KindUserMessage: true, agent.KindAgentMessage: true, agent.KindStatus: true,
	agent.KindToolCall: true, agent.KindToolResult: true, agent.KindRoutine: true, agent.KindMode: true,
}

// eventQuery is the parsed query of the events endpoint.
type eventQuery struct {
	from  int64
	wait  time.Duration
	limit int
	kinds map[string]bool // nil keeps every kind
}

func (q eventQuery) keep(kind string) bool { return q.kinds == nil || q.kinds[kind] }

func (s *Server) parseEventQuery(r *http.Request, sess store.Session) (eventQuery, error) {
	v := r.URL.Query()
	q := eventQuery{wait: defaultWait, limit: defaultLimit}
	if raw := v.Get("min_offset"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			return q, badParam("min_offset %q is invalid: use an integer from 0 to %d", raw, sess.NextOffset)
		}
		q.from = n
	}
	if raw := r.Header.Get("Last-Event-ID"); raw != "" && isSSE(r) {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			return q, badParam("Last-Event-ID %q is invalid: it must be the offset of an event received from this session", raw)
		}
		q.from = n + 1
	}
	if q.from > sess.NextOffset {
		return q, badParam("offset %d is past the session's next offset %d; resume from an offset you received", q.from, sess.NextOffset)
	}
	if raw := v.Get("wait"); raw != "" {
		secs, err := strconv.ParseFloat(raw, 64)
		if err != nil || secs < 0 || secs != secs {
			return q, badParam("wait %q is invalid: use a number of seconds from 0 to %g", raw, s.maxWait.Seconds())
		}
		q.wait = time.Duration(secs * float64(time.Second))
	}
	q.wait = min(q.wait, s.maxWait)
	if raw := v.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return q, badParam("limit %q is invalid: use an integer from 1 to %d", raw, maxLimit)
		}
		q.limit = min(n, maxLimit)
	}
	if raw := v.Get("kinds"); raw != "" {
		q.kinds = make(map[string]bool)
		for _, k := range strings.Split(raw, ",") {
			k = strings.TrimSpace(k)
			if !knownKinds[k] {
				return q, badParam("kinds contains unknown kind %q; known kinds: user_message, agent_message, status, tool_call, tool_result, routine, mode", k)
			}
			q.kinds[k] = true
		}
	}
	return q, nil
}

func isSSE(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// events serves GET /sessions/{id}/events as a long-poll, or as SSE when
// the client accepts text/event-stream.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "session")
	if err != nil {
		return err
	}
	// Subscribe before the first read, so an append between the read and
	// the wait still wakes this request.
	wake, unsubscribe := s.store.Notifier().Subscribe(id)
	defer unsubscribe()

	sess, err := s.store.GetSession(r.Context(), id)
	if err != nil {
		return sessionErr(err, id)
	}
	q, err := s.parseEventQuery(r, sess)
	if err != nil {
		return err
	}
	// These responses outlive any write timeout the server may have.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	if isSSE(r) {
		defer s.tel.Metrics().AddWaiter(telemetry.WaiterSSE)()
		return s.stream(w, r, id, q, wake)
	}
	defer s.tel.Metrics().AddWaiter(telemetry.WaiterLongPoll)()
	return s.longPoll(w, r, id, q, wake)
}

// scan reads up to q.limit events from q.from and returns the ones q
// keeps, the offset after the last event read, and whether the read was
// full (more events may follow at once).
func (s *Server) scan(ctx context.Context, id string, q eventQuery) ([]wire.Event, int64, bool, error) {
	evs, err := s.store.ListEvents(ctx, id, q.from, q.limit)
	if err != nil {
		return nil, q.from, false, sessionErr(err, id)
	}
	next := q.from
	out := make([]wire.Event, 0, len(evs))
	for _, ev := range evs {
		next = ev.Offset + 1
		if !q.keep(ev.Kind) {
			continue
		}
		we, err := toWireEvent(ev)
		if err != nil {
			return nil, q.from, false, err
		}
		out = append(out, we)
	}
	return out, next, len(evs) == q.limit, nil
}

// longPoll responds at once when matching events exist at or past
// q.from, and otherwise waits for a wake-up until q.wait has passed. A
// timeout is a 200 with no events, never a gateway error.
func (s *Server) longPoll(w http.ResponseWriter, r *http.Request, id string, q eventQuery, wake <-chan struct{}) error {
	timer := time.NewTimer(q.wait)
	defer timer.Stop()
	for {
		evs, next, full, err := s.scan(r.Context(), id, q)
		if err != nil {
			return err
		}
		q.from = next
		if len(evs) > 0 {
			writeJSON(w, http.StatusOK, wire.EventPage{Events: evs, NextOffset: next})
			return nil
		}
		if full {
			continue
		}
		select {
		case <-wake:
		case <-timer.C:
			writeJSON(w, http.StatusOK, wire.EventPage{Events: []wire.Event{}, NextOffset: q.from})
			return nil
		case <-r.Context().Done():
			// The client left or the server is shutting down: respond as on
			// a timeout, in case the client still reads.
			writeJSON(w, http.StatusOK, wire.EventPage{Events: []wire.Event{}, NextOffset: q.from})
			return nil
		}
	}
}

// stream serves SSE: every stored event as a frame whose id is its offset
// and whose event name is its kind, and a comment as heartbeat.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, id string, q eventQuery, wake <-chan struct{}) error {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil
	}
	q.limit = maxLimit
	heartbeat := time.NewTicker(s.beat)
	defer heartbeat.Stop()
	for {
		evs, next, full, err := s.scan(r.Context(), id, q)
		if err != nil {
			// Headers are sent; the only way to report is to end the stream.
			s.log.Info("event stream ended", "session_id", id, "error", err)
			return nil
		}
		q.from = next
		for _, ev := range evs {
			data, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Offset, ev.Kind, data); err != nil {
				return nil
			}
		}
		if len(evs) > 0 {
			if err := rc.Flush(); err != nil {
				return nil
			}
		}
		if full {
			continue
		}
		select {
		case <-wake:
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		case <-r.Context().Done():
			return nil
		}
	}
}
