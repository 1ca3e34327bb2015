package transport

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/agentry/agentry/routine"
	"github.com/agentry/agentry/store"
	"github.com/agentry/agentry/transport/wire"
)

// maxRunWait is the longest GET /runs/{id}?wait= holds a request.
const maxRunWait = 60 * time.Second

func (s *Server) listRoutines(w http.ResponseWriter, r *http.Request) error {
	out := wire.RoutineList{Routines: []wire.Routine{}}
	if s.runner != nil {
		for _, rt := range s.runner.Routines() {
			out.Routines = append(out.Routines, toWireRoutine(rt))
		}
	}
	sort.Slice(out.Routines, func(i, j int) bool { return out.Routines[i].ID < out.Routines[j].ID })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getRoutine(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	rt, ok := s.lookupRoutine(id)
	if !ok {
		return notFound("autonomous routine", id)
	}
	writeJSON(w, http.StatusOK, toWireRoutine(rt))
	return nil
}

func (s *Server) lookupRoutine(id string) (*routine.Routine, bool) {
	if s.runner == nil {
		return nil, false
	}
	return s.runner.Routine(id)
}

func toWireRoutine(rt *routine.Routine) wire.Routine {
	def := rt.Definition()
	return wire.Routine{
		ID:           rt.ID(),
		Title:        def.Title,
		Description:  def.Description,
		InputSchema:  rt.InputSchema(),
		OutputSchema: rt.OutputSchema(),
	}
}

// triggerRoutine stores a queued run and returns 202 with its id, or 200
// with the existing run for a repeated idempotency key.
func (s *Server) triggerRoutine(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, ok := s.lookupRoutine(id); !ok {
		return notFound("autonomous routine", id)
	}
	var req wire.TriggerRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}

	key := req.IdempotencyKey
	var details []wire.FieldDetail
	if h := r.Header.Get("Idempotency-Key"); h != "" {
		if key != "" && key != h {
			details = append(details, wire.FieldDetail{Path: "/idempotency_key", Message: "differs from the Idempotency-Key header; send one of them"})
		}
		key = h
	}
	if key != "" && !idPattern.MatchString(key) {
		details = append(details, wire.FieldDetail{Path: "/idempotency_key", Message: idRule})
	}
	if len(details) > 0 {
		return invalid(details...)
	}
	if string(req.Input) == "null" {
		req.Input = nil
	}

	run, created, err := s.runner.Trigger(r.Context(), routine.TriggerRequest{
		RoutineID:      id,
		Input:          req.Input,
		CallbackURL:    req.CallbackURL,
		IdempotencyKey: key,
		Metadata:       req.Metadata,
	})
	var bad *routine.InvalidTriggerError
	switch {
	case errors.As(err, &bad):
		for _, v := range bad.Violations {
			details = append(details, wire.FieldDetail{Path: v.Path, Message: v.Message})
		}
		return invalid(details...)
	case errors.Is(err, routine.ErrIdempotencyConflict):
		return &apiError{status: http.StatusConflict, code: wire.CodeConflict,
			message: "idempotency key " + strconv.Quote(key) + " was used with a different input; use a new key for a new run"}
	case errors.Is(err, routine.ErrUnknownRoutine):
		return notFound("autonomous routine", id)
	case err != nil:
		return err
	}

	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
	}
	writeJSON(w, status, wire.TriggerResponse{RunID: run.ID, RoutineID: run.RoutineID, Status: run.Status})
	return nil
}

func runID(r *http.Request) (string, error) {
	id := r.PathValue("run_id")
	if !idPattern.MatchString(id) {
		return "", badParam("run id %q is invalid: it %s", clip(id), idRule)
	}
	return id, nil
}

func runErr(err error, id string) error {
	if isNotFound(err) {
		return notFound("run", id)
	}
	return err
}

// getRun returns the run. With ?wait=N it holds the request until the run
// ends or N seconds (at most 60) pass, woken by the store's notifier.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	var wait time.Duration
	if raw := r.URL.Query().Get("wait"); raw != "" {
		secs, err := strconv.ParseFloat(raw, 64)
		if err != nil || secs < 0 || secs != secs {
			return badParam("wait %q is invalid: use a number of seconds from 0 to %g", raw, maxRunWait.Seconds())
		}
		wait = min(time.Duration(secs*float64(time.Second)), maxRunWait)
	}
	wake, unsubscribe := s.store.Notifier().Subscribe(store.RunTopic(id))
	defer unsubscribe()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})

	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		run, err := s.store.GetRun(r.Context(), id)
		if err != nil {
			return runErr(err, id)
		}
		if run.Ended() || wait == 0 {
			writeJSON(w, http.StatusOK, toWireRun(run))
			return nil
		}
		select {
		case <-wake:
		case <-timer.C:
			wait = 0
		case <-r.Context().Done():
			wait = 0
		}
	}
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	run, err := s.store.CancelRun(r.Context(), id)
	if err != nil {
		return runErr(err, id)
	}
	if s.deliverer != nil {
		s.deliverer.Wake()
	}
	writeJSON(w, http.StatusOK, toWireRun(run))
	return nil
}

func (s *Server) redeliverRun(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	run, err := s.store.RedeliverCallback(r.Context(), id)
	if errors.Is(err, store.ErrConflict) {
		return &apiError{status: http.StatusConflict, code: wire.CodeConflict,
			message: "run " + strconv.Quote(id) + " has not ended or has no callback URL"}
	}
	if err != nil {
		return runErr(err, id)
	}
	if s.deliverer != nil {
		s.deliverer.Wake()
	}
	writeJSON(w, http.StatusAccepted, toWireRun(run))
	return nil
}

func toWireRun(run store.Run) wire.Run {
	out := wire.Run{
		ID:        run.ID,
		RoutineID: run.RoutineID,
		Status:    run.Status,
		Input:     run.Input,
		Output:    run.Output,
		Trigger:   wire.RunTrigger{Source: run.Trigger.Source, Webhook: run.Trigger.Webhook},
		Metadata:  nonNil(run.Metadata),
		Attempts:  run.Attempts,
		CreatedAt: run.CreatedAt.UTC(),
	}
	if run.Error != nil {
		out.Error = &wire.ErrorInfo{Code: run.Error.Code, Message: run.Error.Message}
	}
	if !run.StartedAt.IsZero() {
		out.StartedAt = timePtr(run.StartedAt)
	}
	if !run.FinishedAt.IsZero() {
		out.FinishedAt = timePtr(run.FinishedAt)
		if out.StartedAt != nil {
			ms := run.FinishedAt.Sub(run.StartedAt).Milliseconds()
			out.DurationMS = &ms
		}
	}
	if run.CallbackURL != "" {
		out.Callback = toWireCallback(run)
	}
	return out
}

func toWireCallback(run store.Run) *wire.CallbackInfo {
	cb := run.Callback
	info := &wire.CallbackInfo{
		URL:        run.CallbackURL,
		State:      cb.State,
		Attempts:   cb.Attempts,
		LastStatus: cb.LastStatus,
		LastError:  cb.LastError,
	}
	if cb.State == store.CallbackPending && !cb.NextAttemptAt.IsZero() {
		info.NextAttemptAt = timePtr(cb.NextAttemptAt)
	}
	if !cb.DeliveredAt.IsZero() {
		info.DeliveredAt = timePtr(cb.DeliveredAt)
	}
	return info
}

func timePtr(t time.Time) *time.Time {
	u := t.UTC()
	return &u
}
