package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentry/agentry/internal/strictjson"
	"github.com/agentry/agentry/manifest"
	"github.com/agentry/agentry/routine"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// inbound is one configured inbound webhook.
type inbound struct {
	cfg      manifest.Webhook
	verifier *webhook.Verifier
}

// newInbound builds the verifiers of the manifest's inbound webhooks.
func newInbound(hooks []manifest.Webhook) (map[string]*inbound, error) {
	out := make(map[string]*inbound, len(hooks))
	for _, h := range hooks {
		v, err := webhook.NewVerifier(webhook.Inbound{
			Scheme:    h.Signature,
			Secret:    h.Secret,
			Header:    h.Header,
			Prefix:    h.Prefix,
			Encoding:  h.Encoding,
			Tolerance: time.Duration(h.Tolerance),
		})
		if err != nil {
			return nil, fmt.Errorf("webhook %q: %w", h.Name, err)
		}
		out[h.Name] = &inbound{cfg: h, verifier: v}
	}
	return out, nil
}

// webhookNotFound is the body of a 404 for an unknown webhook name. It is
// the same for every name, so a caller learns nothing about the others.
var webhookNotFound = &apiError{status: http.StatusNotFound, code: wire.CodeNotFound, message: "not found"}

// receiveWebhook starts a run from a third party's signed POST. It reads
// the raw body up to the size limit before any signature work, verifies
// the signature in constant time (401 with an empty body on failure),
// selects the routine's input from the body and triggers the run. A
// delivery id seen before returns its run and starts nothing.
func (s *Server) receiveWebhook(w http.ResponseWriter, r *http.Request) error {
	hook, ok := s.inbound[r.PathValue("name")]
	if !ok || s.runner == nil {
		return webhookNotFound
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: wire.CodeBodyTooLarge,
				message: fmt.Sprintf("the body is over the limit of %d bytes", mbe.Limit)}
		}
		return badParam("reading the body failed: %v", err)
	}
	delivery, err := hook.verifier.Verify(r.Header, body, time.Now())
	if err != nil {
		s.log.Info("inbound webhook rejected", "webhook", hook.cfg.Name, "reason", err)
		w.WriteHeader(http.StatusUnauthorized)
		return nil
	}

	input, err := selectInput(body, hook.cfg.Input)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	key := sha256.Sum256([]byte(hook.cfg.Name + "\x00" + delivery))
	run, created, err := s.runner.Trigger(r.Context(), routine.TriggerRequest{
		RoutineID:      hook.cfg.Routine,
		Input:          input,
		CallbackURL:    hook.cfg.CallbackURL,
		IdempotencyKey: "wh_" + hex.EncodeToString(key[:16]),
		DedupeHash:     hex.EncodeToString(sum[:]),
		Source:         "webhook",
		Webhook:        hook.cfg.Name,
	})
	var bad *routine.InvalidTriggerError
	switch {
	case errors.As(err, &bad):
		var details []wire.FieldDetail
		for _, v := range bad.Violations {
			details = append(details, wire.FieldDetail{Path: v.Path, Message: v.Message})
		}
		return invalid(details...)
	case errors.Is(err, routine.ErrIdempotencyConflict):
		return &apiError{status: http.StatusConflict, code: wire.CodeConflict,
			message: "delivery id " + strconv.Quote(delivery) + " was already used with a different body"}
	case err != nil:
		return err
	}
	status := http.StatusAccepted
	if !created {
		status = http.StatusOK
	}
	writeJSON(w, status, wire.WebhookAccepted{RunID: run.ID})
	return nil
}

// selectInput parses body as JSON and returns the part that pointer
// names: the whole body for "" or "body". Data after the value is a 400;
// a key written twice anywhere in the body is a 422 naming each duplicate,
// as for any other request body, because the decoded value would keep
// only the last one while the raw body holds both.
func selectInput(body []byte, pointer string) (json.RawMessage, error) {
	dups, err := strictjson.Scan(body)
	switch {
	case errors.Is(err, strictjson.ErrTrailingData):
		return nil, &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON, message: "the body has data after the JSON value"}
	case errors.Is(err, strictjson.ErrTooDeep):
		return nil, &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON,
			message: fmt.Sprintf("the body is nested more than %d levels deep", strictjson.MaxDepth)}
	case err != nil:
		return nil, &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON, message: "the body is not valid JSON: " + err.Error()}
	case len(dups) > 0:
		var details []wire.FieldDetail
		for _, p := range dups {
			details = append(details, wire.FieldDetail{Path: p, Message: "duplicate key; send each key once"})
		}
		return nil, invalid(slices.Compact(details)...)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: wire.CodeInvalidJSON, message: "the body is not valid JSON: " + err.Error()}
	}
	if pointer == "" || pointer == "body" {
		return body, nil
	}
	v, ok := resolvePointer(doc, pointer)
	if !ok {
		return nil, invalid(wire.FieldDetail{Path: pointer, Message: "not found in the body; the webhook's input pointer selects it"})
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// resolvePointer returns the value at the JSON pointer (RFC 6901) in doc.
func resolvePointer(doc any, pointer string) (any, bool) {
	if pointer == "" {
		return doc, true
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, false
	}
	cur := doc
	for _, token := range strings.Split(pointer[1:], "/") {
		token = strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		switch node := cur.(type) {
		case map[string]any:
			next, ok := node[token]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(token)
			if err != nil || i < 0 || i >= len(node) || (len(token) > 1 && token[0] == '0') {
				return nil, false
			}
			cur = node[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
