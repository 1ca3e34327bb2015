package transport

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/agentry/agentry/agent"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/wire"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func sessionErr(err error, id string) error {
	if isNotFound(err) {
		return notFound("session", id)
	}
	return err
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) error {
	var req wire.CreateSessionRequest
	if err := s.decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	var details []wire.FieldDetail
	if req.ID != "" && !idPattern.MatchString(req.ID) {
		details = append(details, wire.FieldDetail{Path: "/id", Message: idRule})
	}
	if req.CustomerID != "" && !idPattern.MatchString(req.CustomerID) {
		details = append(details, wire.FieldDetail{Path: "/customer_id", Message: idRule})
	}
	if req.Mode != "" && req.Mode != store.ModeAuto && req.Mode != store.ModeManual {
		details = append(details, wire.FieldDetail{Path: "/mode", Message: `must be "auto" or "manual"`})
	}
	if d := s.checkWebhookTarget(r.Context(), "/webhook_url", req.WebhookURL); d != nil {
		details = append(details, *d)
	}
	if len(details) > 0 {
		return invalid(details...)
	}
	sess, created, err := s.engine.OpenSession(r.Context(), agent.OpenRequest{
		ID:         req.ID,
		CustomerID: req.CustomerID,
		Mode:       req.Mode,
		Variables:  req.Variables,
		Metadata:   req.Metadata,
		WebhookURL: req.WebhookURL,
	})
	if errors.Is(err, store.ErrConflict) {
		return &apiError{status: http.StatusConflict, code: wire.CodeConflict,
			message: "session id " + strconv.Quote(req.ID) + " belonged to a deleted session and cannot be reused; choose another id"}
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, s.wireSession(sess))
	return nil
}

// checkWebhookURL checks the form of a webhook URL; whether its host may be
// reached is decided when it is dialled.
func checkWebhookURL(path, raw string) *wire.FieldDetail {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &wire.FieldDetail{Path: path, Message: "must be an absolute http or https URL"}
	}
	return nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "session")
	if err != nil {
		return err
	}
	sess, err := s.store.GetSession(r.Context(), id)
	if err != nil {
		return sessionErr(err, id)
	}
	writeJSON(w, http.StatusOK, s.wireSession(sess))
	return nil
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.SessionFilter{CustomerID: q.Get("customer_id"), Cursor: q.Get("cursor"), Limit: 50}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badParam("limit %q is invalid: use an integer from 1 to 1000", v)
		}
		f.Limit = n
	}
	if f.CustomerID != "" && !idPattern.MatchString(f.CustomerID) {
		return badParam("customer_id %q is invalid: it %s", f.CustomerID, idRule)
	}
	list, next, err := s.store.ListSessions(r.Context(), f)
	if err != nil {
		if errors.Is(err, store.ErrInvalidCursor) {
			return badParam("cursor %q is invalid: pass the next_cursor of the previous page", f.Cursor)
		}
		return err
	}
	out := wire.SessionList{Sessions: make([]wire.Session, 0, len(list)), NextCursor: next}
	for _, sess := range list {
		out.Sessions = append(out.Sessions, s.wireSession(sess))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) patchSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "session")
	if err != nil {
		return err
	}
	var req wire.PatchSessionRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var details []wire.FieldDetail
	if req.Mode != nil && *req.Mode != store.ModeAuto && *req.Mode != store.ModeManual {
		details = append(details, wire.FieldDetail{Path: "/mode", Message: `must be "auto" or "manual"`})
	}
	if req.WebhookURL != nil {
		if d := s.checkWebhookTarget(r.Context(), "/webhook_url", *req.WebhookURL); d != nil {
			details = append(details, *d)
		}
	}
	if len(details) > 0 {
		return invalid(details...)
	}
	sess, err := s.engine.UpdateSession(r.Context(), id, store.SessionPatch{
		Mode:       req.Mode,
		WebhookURL: req.WebhookURL,
		Variables:  req.Variables,
		Metadata:   req.Metadata,
	}, "changed through the API")
	if err != nil {
		return sessionErr(err, id)
	}
	if req.WebhookURL != nil {
		if sess, err = s.resumeWebhook(r.Context(), sess); err != nil {
			return sessionErr(err, id)
		}
	}
	writeJSON(w, http.StatusOK, s.wireSession(sess))
	return nil
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "session")
	if err != nil {
		return err
	}
	if err := s.store.DeleteSession(r.Context(), id); err != nil {
		return sessionErr(err, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "session")
	if err != nil {
		return err
	}
	var req wire.PostMessageRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	var details []wire.FieldDetail
	if strings.TrimSpace(req.Text) == "" {
		details = append(details, wire.FieldDetail{Path: "/text", Message: "must not be empty or only whitespace"})
	}
	if req.Source != "" && req.Source != agent.SourceCustomer && req.Source != agent.SourceHumanAgent {
		details = append(details, wire.FieldDetail{Path: "/source", Message: `must be "customer" or "human_agent"`})
	}
	if len(details) > 0 {
		return invalid(details...)
	}
	ev, err := s.engine.PostMessage(r.Context(), id, agent.Message{Text: req.Text, Source: req.Source, Metadata: req.Metadata})
	if err != nil {
		return sessionErr(err, id)
	}
	out, err := toWireEvent(ev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) cancelTurn(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "session")
	if err != nil {
		return err
	}
	cancelled, err := s.engine.Cancel(r.Context(), id)
	if err != nil {
		return sessionErr(err, id)
	}
	writeJSON(w, http.StatusOK, wire.CancelResult{Cancelled: cancelled})
	return nil
}
