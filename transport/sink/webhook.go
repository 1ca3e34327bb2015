package sink

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentry/agentry/transport/outbound"
	"github.com/agentry/agentry/transport/webhook"
	"github.com/agentry/agentry/transport/wire"
)

// WebhookName is the name of the built-in webhook sink.
const WebhookName = "webhook"

// HeaderSessionID carries the event's session id on every webhook POST.
const HeaderSessionID = "x-session-id"

// WebhookConfig configures a [Webhook].
type WebhookConfig struct {
	// Client sends to sessions' webhook URLs, which arrive in API calls:
	// a client from outbound.NewClient, whose guard rejects private and
	// loopback addresses. Required.
	Client *outbound.Client
	// Trusted sends to the manifest's default URL: a client from
	// outbound.NewTrusted. Default: Client.
	Trusted *outbound.Client
	// BearerToken is sent as Authorization: Bearer; empty sends none.
	BearerToken string
	// SigningKeys sign POSTs to sessions' webhook URLs, the first key
	// current; none sends them unsigned.
	SigningKeys [][]byte
	// DefaultSigningKeys sign POSTs to the default URL; none sends them
	// unsigned.
	DefaultSigningKeys [][]byte
	// Now returns the time of the webhook-timestamp header. Default
	// time.Now.
	Now func() time.Time
}

// Webhook is the built-in sink: one POST per event with the event's JSON
// as body, the same JSON that long-poll and SSE return. Each POST carries
//
//	Content-Type: application/json
//	Authorization: Bearer <token>        when a token is configured
//	x-session-id: <session id>
//	webhook-id: evt_<session id>_<offset>
//	webhook-timestamp: <Unix seconds of the attempt>
//	webhook-signature: v1,<base64>       when signing keys are configured
//
// The webhook-id and body are the same on every attempt of an event, so
// a receiver deduplicates on either; only the timestamp and signature
// change. Redirects are not followed and count as failed attempts.
type Webhook struct {
	cfg WebhookConfig
}

var (
	_ Sink          = (*Webhook)(nil)
	_ ReceiverKeyer = (*Webhook)(nil)
	_ URLSink       = (*Webhook)(nil)
)

// NewWebhook returns the webhook sink.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if cfg.Client == nil {
		return nil, errors.New("sink: WebhookConfig.Client is required")
	}
	if cfg.Trusted == nil {
		cfg.Trusted = cfg.Client
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Webhook{cfg: cfg}, nil
}

// Name returns WebhookName.
func (w *Webhook) Name() string { return WebhookName }

// NeedsURL returns true: the sink delivers to Target.URL.
func (w *Webhook) NeedsURL() bool { return true }

// ReceiverKey returns the scheme, host and port of the target URL, so
// the sessions of one receiving service share one concurrency bound.
func (w *Webhook) ReceiverKey(t Target) string {
	u, err := url.Parse(t.URL)
	if err != nil || u.Host == "" {
		return t.URL
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// EventID returns the webhook-id of the event at offset in the session:
// "evt_<session id>_<offset>". Session ids consist of letters, digits,
// '-' and '_', so the id never contains the '.' that separates the
// fields of the signed content, and the offset is the part after the
// last '_'.
func EventID(sessionID string, offset int64) string {
	return "evt_" + sessionID + "_" + strconv.FormatInt(offset, 10)
}

// Deliver POSTs body to t.URL and classifies the response with
// outbound.Classify.
func (w *Webhook) Deliver(ctx context.Context, t Target, ev wire.Event, body []byte) Result {
	if t.URL == "" {
		return Retry("the session has no webhook URL", 0)
	}
	client, keys := w.cfg.Client, w.cfg.SigningKeys
	if t.Default {
		client, keys = w.cfg.Trusted, w.cfg.DefaultSigningKeys
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return Retry("the webhook URL is invalid", 0)
	}
	for k, v := range webhook.Headers(keys, EventID(ev.SessionID, ev.Offset), w.cfg.Now(), body) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "agentry-events")
	req.Header.Set(HeaderSessionID, ev.SessionID)
	if w.cfg.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+w.cfg.BearerToken)
	}

	resp, err := client.Do(req)
	if err != nil {
		return outbound.Classify(nil, err)
	}
	_, readErr := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	out := outbound.Classify(resp, nil)
	if readErr != nil && out.Kind == outbound.Delivered {
		// The receiver may not have finished; a duplicate is safer than a
		// lost event.
		out.Kind = outbound.Retry
		out.Error = "the connection closed before the response was complete"
	}
	return out
}
