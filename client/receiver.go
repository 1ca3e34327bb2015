package client

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// Errors of Receiver.Verify and VerifyEvent.
var (
	// ErrUnauthorized is wrapped when the bearer token or the signature
	// of an event webhook request is missing or wrong, or when the
	// Receiver has neither a token nor a secret to check.
	ErrUnauthorized = errors.New("agentry: event webhook request not authenticated")
	// ErrInvalidEvent is wrapped when an authenticated request is not a
	// POST of one event: a wrong method, a body over the limit or not an
	// event's JSON, or headers that name another event than the body.
	ErrInvalidEvent = errors.New("agentry: invalid event webhook request")
	// ErrBodyTooLarge is wrapped with ErrInvalidEvent when the body is
	// over Receiver.MaxBodyBytes.
	ErrBodyTooLarge = errors.New("agentry: event webhook body too large")
)

// DefaultMaxEventBytes is the default of Receiver.MaxBodyBytes.
const DefaultMaxEventBytes int64 = 1 << 20

// Receiver checks and decodes the event webhook POSTs of an agentry
// server, for the service that receives a session's events. Delivery is
// at least once: a retried event arrives again with the same body and
// webhook-id, so deduplicate on the event's session_id and offset. The
// zero value rejects every request; set Token, Secrets or both.
type Receiver struct {
	// Token is the bearer token the server sends: runtime.api_key, or
	// runtime.outbound_auth.token in mode token. Empty skips the check,
	// for outbound_auth mode signature_only.
	Token string
	// Secrets are the "whsec_" signing secrets that the signature may
	// match, any one of them: runtime.signing_secret, or
	// runtime.event_webhook.signing_secret for the default URL. Several
	// secrets cover a key rotation. Empty skips the signature check.
	Secrets []string
	// Tolerance is how far webhook-timestamp may be from now, either
	// way. Default webhook.DefaultTolerance (5m).
	Tolerance time.Duration
	// MaxBodyBytes limits the body; a larger one is rejected before any
	// signature work. Default DefaultMaxEventBytes (1 MiB).
	MaxBodyBytes int64
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// VerifyEvent checks the bearer token (when apiKey is not empty) and the
// signature (when secrets are given) of an event webhook request, and
// returns its event. It reads and closes the request body.
func VerifyEvent(r *http.Request, apiKey string, secrets ...string) (wire.Event, error) {
	rc := &Receiver{Token: apiKey, Secrets: secrets}
	return rc.Verify(r)
}

// Verify checks the request's bearer token and signature, in constant
// time, and decodes its event. It reads and closes the request body. The
// error wraps ErrUnauthorized or ErrInvalidEvent and never contains the
// token, a secret or a signature.
func (rc *Receiver) Verify(r *http.Request) (wire.Event, error) {
	defer r.Body.Close()
	if rc.Token == "" && len(rc.Secrets) == 0 {
		return wire.Event{}, fmt.Errorf("%w: the Receiver has neither a Token nor Secrets to check; set at least one", ErrUnauthorized)
	}
	if rc.Token != "" && !bearerMatches(r.Header.Get("Authorization"), rc.Token) {
		return wire.Event{}, fmt.Errorf("%w: the Authorization header does not carry the expected bearer token", ErrUnauthorized)
	}
	if r.Method != http.MethodPost {
		return wire.Event{}, fmt.Errorf("%w: method %s, want POST", ErrInvalidEvent, r.Method)
	}
	body, err := rc.readBody(r.Body)
	if err != nil {
		return wire.Event{}, err
	}
	if len(rc.Secrets) > 0 {
		if err := rc.checkSignature(r.Header, body); err != nil {
			return wire.Event{}, err
		}
	}

	var ev wire.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return wire.Event{}, fmt.Errorf("%w: the body is not an event's JSON: %v", ErrInvalidEvent, err)
	}
	if ev.SessionID == "" || ev.Kind == "" {
		return wire.Event{}, fmt.Errorf("%w: the event has no session_id or kind", ErrInvalidEvent)
	}
	if sid := r.Header.Get("x-session-id"); sid != "" && sid != ev.SessionID {
		return wire.Event{}, fmt.Errorf("%w: x-session-id %q differs from the event's session_id %q",
			ErrInvalidEvent, sid, ev.SessionID)
	}
	// The server derives webhook-id from the session id and offset, so a
	// mismatch means the headers belong to another event.
	if id := r.Header.Get(webhook.HeaderID); id != "" && id != eventID(ev) {
		return wire.Event{}, fmt.Errorf("%w: %s %q does not name the event %s at offset %d",
			ErrInvalidEvent, webhook.HeaderID, id, ev.SessionID, ev.Offset)
	}
	return ev, nil
}

// Handler returns an http.Handler that verifies each request and passes
// its event to handle. It responds 401 with an empty body when
// authentication fails, 400 or 413 for an invalid request, 204 when
// handle returns nil, and 500 when handle fails, so the server sends the
// event again later. Failures are logged to slog.Default() without any
// secret.
func (rc *Receiver) Handler(handle func(ctx context.Context, ev wire.Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := rc.Verify(r)
		switch {
		case errors.Is(err, ErrUnauthorized):
			slog.Warn("event webhook request rejected", "error", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		case errors.Is(err, ErrBodyTooLarge):
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			slog.Warn("event webhook request rejected", "error", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := handle(r.Context(), ev); err != nil {
			slog.Error("handling a webhook event failed; the server sends it again",
				"session_id", ev.SessionID, "offset", ev.Offset, "error", err)
			http.Error(w, "handling the event failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (rc *Receiver) readBody(body io.Reader) ([]byte, error) {
	limit := rc.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxEventBytes
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body failed: %v", ErrInvalidEvent, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %w: over the limit of %d bytes", ErrInvalidEvent, ErrBodyTooLarge, limit)
	}
	return data, nil
}

func (rc *Receiver) checkSignature(h http.Header, body []byte) error {
	keys := make([][]byte, 0, len(rc.Secrets))
	for i, s := range rc.Secrets {
		key, err := webhook.ParseSecret(s)
		if err != nil {
			return fmt.Errorf("%w: Receiver.Secrets[%d]: %w", ErrUnauthorized, i, err)
		}
		keys = append(keys, key)
	}
	now := time.Now
	if rc.Now != nil {
		now = rc.Now
	}
	err := webhook.Verify(keys, h.Get(webhook.HeaderID), h.Get(webhook.HeaderTimestamp),
		h.Get(webhook.HeaderSignature), body, now(), rc.Tolerance)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return nil
}

// bearerMatches compares the Authorization header with "Bearer token" in
// constant time; hashing first hides the token's length too.
func bearerMatches(header, token string) bool {
	got, ok := strings.CutPrefix(header, "Bearer ")
	gotHash := sha256.Sum256([]byte(got))
	wantHash := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(gotHash[:], wantHash[:]) == 1 && ok
}

// eventID is the webhook-id the server sends with an event:
// "evt_<session id>_<offset>".
func eventID(ev wire.Event) string {
	return "evt_" + ev.SessionID + "_" + strconv.FormatInt(ev.Offset, 10)
}
