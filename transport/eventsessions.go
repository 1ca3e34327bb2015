package transport

import (
	"context"
	"net/http"

	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/sink"
	"github.com/agentry/agentry/transport/wire"
)

// checkWebhookTarget checks a webhook URL's form and, when the server has
// a URL check, whether the outbound guard lets it be reached. The guard
// checks again at every dial, so a host whose DNS answer changes later
// is rejected then.
func (s *Server) checkWebhookTarget(ctx context.Context, path, raw string) *wire.FieldDetail {
	if d := checkWebhookURL(path, raw); d != nil || raw == "" || s.checkURL == nil {
		return d
	}
	if err := s.checkURL(ctx, raw); err != nil {
		return &wire.FieldDetail{Path: path, Message: err.Error()}
	}
	return nil
}

// redeliverEvents resumes the session's paused, disabled or retrying
// deliveries at once, from the event that failed.
func (s *Server) redeliverEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "session")
	if err != nil {
		return err
	}
	sess, err := s.store.ResumeDelivery(r.Context(), id, "")
	if err != nil {
		return sessionErr(err, id)
	}
	writeJSON(w, http.StatusAccepted, s.wireSession(sess))
	return nil
}

// resumeWebhook resumes the session's webhook delivery after its URL was
// set, so the event that failed at the old URL goes to the new one now.
func (s *Server) resumeWebhook(ctx context.Context, sess store.Session) (store.Session, error) {
	if s.delivery == nil {
		return sess, nil
	}
	return s.store.ResumeDelivery(ctx, sess.ID, sink.WebhookName)
}

// wireSession maps a session with the state of each sink that delivers
// it.
func (s *Server) wireSession(sess store.Session) wire.Session {
	out := toWireSession(sess)
	if s.delivery == nil {
		return out
	}
	for _, name := range s.delivery.SinkNames() {
		if !s.delivery.HasTarget(name, sess) {
			continue
		}
		d, ok := sess.Deliveries[name]
		if !ok {
			d.State = store.DeliveryActive
		}
		info := toWireDelivery(d)
		if name == sink.WebhookName {
			out.Webhook = &info
			continue
		}
		if out.Sinks == nil {
			out.Sinks = make(map[string]wire.Delivery)
		}
		out.Sinks[name] = info
	}
	return out
}

func toWireDelivery(d store.Delivery) wire.Delivery {
	out := wire.Delivery{
		State:      d.State,
		Cursor:     d.Cursor,
		Attempts:   d.Attempts,
		LastStatus: d.LastStatus,
		LastError:  d.LastError,
	}
	if d.State == store.DeliveryRetrying && !d.NextAttemptAt.IsZero() {
		out.NextAttemptAt = timePtr(d.NextAttemptAt)
	}
	if !d.LastAttemptAt.IsZero() {
		out.LastAttemptAt = timePtr(d.LastAttemptAt)
	}
	return out
}
