package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentry/agentry/transport/wire"
)

// Client calls an agentry server. It is safe for concurrent use.
type Client struct {
	base       string
	apiKey     string
	http       *http.Client
	webhookURL string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for every request. The default
// is a client with no overall timeout, because long-polls and streams are
// meant to stay open; per-request deadlines come from the context.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithWebhookURL makes OpenSession send url as the webhook_url of every
// session whose request names none, so the server POSTs each of the
// session's events to url. Verify those requests with a [Receiver].
func WithWebhookURL(url string) Option {
	return func(c *Client) { c.webhookURL = url }
}

// New returns a client for the server at baseURL (for example
// "http://127.0.0.1:8080" or "https://api.example.com/agent"), sending
// apiKey as the bearer token.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		base:   strings.TrimRight(baseURL, "/"),
		apiKey: apiKey,
		http:   &http.Client{},
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// APIError is an error response of the server.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code, Message and Details come from the JSON error body.
	Code    string
	Message string
	Details []wire.FieldDetail
	// RetryAfter is the wait the server requested in a Retry-After header
	// (with a 429 or 503), or zero when it sent none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("agentry: %d %s: %s", e.StatusCode, e.Code, e.Message)
	for _, d := range e.Details {
		msg += fmt.Sprintf("; %s: %s", d.Path, d.Message)
	}
	return msg
}

// IsNotFound reports whether err is a 404 from the server.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// do sends a request with an optional JSON body and decodes the JSON response
// into out, when out is not nil.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	_, err := c.doStatus(ctx, method, path, query, in, out)
	return err
}

// doStatus is do that also returns the HTTP status of a successful
// response.
func (c *Client) doStatus(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("agentry: encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, fmt.Errorf("agentry: building request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp.StatusCode, readAPIError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("agentry: decoding %s %s response: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

func readAPIError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body wire.ErrorBody
	ae := &APIError{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		ae.Code, ae.Message, ae.Details = body.Error.Code, body.Error.Message, body.Error.Details
	} else {
		ae.Code = http.StatusText(resp.StatusCode)
		ae.Message = strings.TrimSpace(string(data))
	}
	return ae
}

// parseRetryAfter reads a Retry-After value given in seconds or as an HTTP
// date. It returns zero for an empty, invalid or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Clamp before multiplying, so a huge value cannot overflow.
		secs = min(max(secs, 0), int64(math.MaxInt64/time.Second))
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// OpenSession opens a session, or returns the existing one when req.ID
// names a session that exists. Without req.WebhookURL it sends the URL of
// WithWebhookURL, if any.
func (c *Client) OpenSession(ctx context.Context, req wire.CreateSessionRequest) (wire.Session, error) {
	if req.WebhookURL == "" {
		req.WebhookURL = c.webhookURL
	}
	var s wire.Session
	err := c.do(ctx, http.MethodPost, "/sessions", nil, req, &s)
	return s, err
}

// GetSession returns the session.
func (c *Client) GetSession(ctx context.Context, id string) (wire.Session, error) {
	var s wire.Session
	err := c.do(ctx, http.MethodGet, "/sessions/"+url.PathEscape(id), nil, nil, &s)
	return s, err
}

// UpdateSession applies the patch and returns the session.
func (c *Client) UpdateSession(ctx context.Context, id string, p wire.PatchSessionRequest) (wire.Session, error) {
	var s wire.Session
	err := c.do(ctx, http.MethodPatch, "/sessions/"+url.PathEscape(id), nil, p, &s)
	return s, err
}

// DeleteSession deletes the session; its id cannot be used again.
func (c *Client) DeleteSession(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/sessions/"+url.PathEscape(id), nil, nil, nil)
}

// PostMessage posts a customer message and returns the stored
// user_message event. The reply arrives as later events.
func (c *Client) PostMessage(ctx context.Context, sessionID, text string) (wire.Event, error) {
	return c.Post(ctx, sessionID, wire.PostMessageRequest{Text: text})
}

// Post posts a message with every field of the request, for example a
// human agent's message.
func (c *Client) Post(ctx context.Context, sessionID string, req wire.PostMessageRequest) (wire.Event, error) {
	var ev wire.Event
	err := c.do(ctx, http.MethodPost, "/sessions/"+url.PathEscape(sessionID)+"/messages", nil, req, &ev)
	return ev, err
}

// Redeliver resumes the session's event webhook (and other sinks) after
// it paused because an event's retries ran out, or was disabled by a 410
// response. The event that failed is sent first.
func (c *Client) Redeliver(ctx context.Context, sessionID string) (wire.Session, error) {
	var s wire.Session
	err := c.do(ctx, http.MethodPost, "/sessions/"+url.PathEscape(sessionID)+"/redeliver", nil, nil, &s)
	return s, err
}

// CancelTurn cancels the session's running turn and reports whether there
// was one.
func (c *Client) CancelTurn(ctx context.Context, sessionID string) (bool, error) {
	var out wire.CancelResult
	err := c.do(ctx, http.MethodPost, "/sessions/"+url.PathEscape(sessionID)+"/cancel", nil, nil, &out)
	return out.Cancelled, err
}

// PutCustomer creates or replaces a customer.
func (c *Client) PutCustomer(ctx context.Context, id string, req wire.PutCustomerRequest) (wire.Customer, error) {
	var out wire.Customer
	err := c.do(ctx, http.MethodPut, "/customers/"+url.PathEscape(id), nil, req, &out)
	return out, err
}

// PollOptions narrows a long-poll.
type PollOptions struct {
	// Wait is how long the server holds the request when no event is
	// there. Zero means the server's default (30s); the server clamps it
	// to its maximum.
	Wait time.Duration
	// Limit caps the events per response; zero means the server's default.
	Limit int
	// Kinds keeps only these event kinds; empty keeps all.
	Kinds []string
}

// Poll makes one long-poll request for events at or past from.
func (c *Client) Poll(ctx context.Context, sessionID string, from int64, o PollOptions) (wire.EventPage, error) {
	q := url.Values{"min_offset": {fmt.Sprint(from)}}
	if o.Wait > 0 {
		q.Set("wait", fmt.Sprintf("%g", o.Wait.Seconds()))
	}
	if o.Limit > 0 {
		q.Set("limit", fmt.Sprint(o.Limit))
	}
	if len(o.Kinds) > 0 {
		q.Set("kinds", strings.Join(o.Kinds, ","))
	}
	var page wire.EventPage
	err := c.do(ctx, http.MethodGet, "/sessions/"+url.PathEscape(sessionID)+"/events", q, nil, &page)
	return page, err
}
