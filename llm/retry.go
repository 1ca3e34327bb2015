package llm

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry timing defaults.
const (
	// DefaultMaxRetries is the number of retries after a response with
	// status 429 or 5xx when the provider sets no max_retries.
	DefaultMaxRetries = 2
	// DefaultTimeout bounds one model call, retries included, when the
	// provider sets no timeout.
	DefaultTimeout = 60 * time.Second

	defaultBackoffBase = 500 * time.Millisecond
	defaultBackoffMax  = 30 * time.Second
	// maxRetryAfter is the longest Retry-After wait that is honoured; a
	// longer one fails the attempt so the lane can move on.
	maxRetryAfter = 60 * time.Second
	// drainLimit bounds how much of a retried response body is read so
	// the connection can be reused.
	drainLimit = 64 << 10
)

// retryTransport retries requests whose response has status 429 or 5xx.
// It waits for the Retry-After header when the response has one, and
// otherwise backs off exponentially with jitter. It gives up and returns
// the last response when the wait would exceed maxRetryAfter or the
// request context's deadline. It stops with the context's error when the
// context ends while it waits. Network errors are returned at once,
// without retrying.
type retryTransport struct {
	base        http.RoundTripper
	maxRetries  int
	backoffBase time.Duration
	backoffMax  time.Duration
	logger      *slog.Logger
	now         func() time.Time
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	attemptReq := req
	for attempt := 0; ; attempt++ {
		resp, err := t.base.RoundTrip(attemptReq)
		if err != nil || !retryable(resp.StatusCode) || attempt >= t.maxRetries {
			return resp, err
		}
		if req.Body != nil && req.GetBody == nil {
			return resp, nil
		}
		wait, ok := t.delay(ctx, resp.Header, attempt)
		if !ok {
			t.logger.WarnContext(ctx, "model request not retried: wait too long",
				"host", req.URL.Host, "status", resp.StatusCode,
				"retry_after", resp.Header.Get("Retry-After"))
			return resp, nil
		}
		next, err := t.replay(req)
		if err != nil {
			return resp, nil
		}
		t.logger.WarnContext(ctx, "retrying model request",
			"host", req.URL.Host, "status", resp.StatusCode,
			"attempt", attempt+1, "max_retries", t.maxRetries, "wait", wait)
		discard(resp)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		attemptReq = next
	}
}

// replay returns a copy of req with a fresh body.
func (t *retryTransport) replay(req *http.Request) (*http.Request, error) {
	next := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		next.Body = body
	}
	return next, nil
}

// delay returns how long to wait before retry attempt+1, and false when
// that wait is longer than maxRetryAfter or outlasts ctx's deadline.
func (t *retryTransport) delay(ctx context.Context, h http.Header, attempt int) (time.Duration, bool) {
	now := t.now()
	wait, found := parseRetryAfter(h.Get("Retry-After"), now)
	if found && wait > maxRetryAfter {
		return 0, false
	}
	if !found {
		wait = backoff(attempt, t.backoffBase, t.backoffMax)
	}
	if deadline, ok := ctx.Deadline(); ok && now.Add(wait).After(deadline) {
		return 0, false
	}
	return wait, true
}

// backoff returns base·2^attempt capped at max, with "equal jitter": a
// random point in the upper half of that interval.
func backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// parseRetryAfter reads a Retry-After value in delay-seconds or HTTP-date
// form. It reports false when v is empty or malformed. A date in the past
// means no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := at.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 && status <= 599
}

// discard reads and closes a response body that will not be used, so
// the connection can be reused.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	_ = resp.Body.Close()
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
