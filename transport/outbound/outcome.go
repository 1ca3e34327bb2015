package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"
)

// Kind is what a delivery attempt means for the delivery.
type Kind int

const (
	// Delivered means the receiver accepted the request (2xx).
	Delivered Kind = iota + 1
	// Gone means the receiver answered 410 Gone: stop delivering and
	// disable the target.
	Gone
	// Retry means the attempt failed and the delivery should be retried
	// on the schedule.
	Retry
)

// String returns "delivered", "gone" or "retry".
func (k Kind) String() string {
	switch k {
	case Delivered:
		return "delivered"
	case Gone:
		return "gone"
	case Retry:
		return "retry"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Outcome is the classification of one delivery attempt.
type Outcome struct {
	Kind Kind
	// StatusCode is the response status, or 0 when no response arrived.
	StatusCode int
	// RetryAfter is the wait that a 429 or 5xx response asked for in its
	// Retry-After header, or 0. Pass it to Schedule.Next.
	RetryAfter time.Duration
	// Error describes a failed attempt in a few words for logs and for
	// delivery status shown to operators. It contains no URL path, query
	// or header value, so no token. Empty when Kind is Delivered.
	Error string
}

// maxErrorLen bounds Outcome.Error, in bytes.
const maxErrorLen = 200

// Classify turns the result of Client.Do into an Outcome. It neither reads
// nor closes the response body.
//
// Every failure other than 410 is retried: 429 and 5xx, connection errors
// and timeouts, 3xx (redirects are not followed), and also 400, 401, 403,
// 404 and the other 4xx. Receivers answer those while a deployment or a key
// rotation is half done, and an operator usually fixes that within the
// retry window. Giving up at once would lose the delivery, and the schedule
// already bounds the number of attempts. Only 410 says that the receiver
// wants no more deliveries.
func Classify(resp *http.Response, err error) Outcome {
	if err != nil {
		return Outcome{Kind: Retry, Error: describeError(err)}
	}
	if resp == nil {
		return Outcome{Kind: Retry, Error: "no response"}
	}
	code := resp.StatusCode
	out := Outcome{Kind: Retry, StatusCode: code}
	switch {
	case code >= 200 && code < 300:
		out.Kind = Delivered
		return out
	case code == http.StatusGone:
		out.Kind = Gone
		out.Error = "receiver responded 410 Gone"
		return out
	case code >= 300 && code < 400:
		out.Error = fmt.Sprintf("receiver responded %s; redirects are not followed", statusText(code))
		return out
	case code == http.StatusTooManyRequests || code >= 500:
		if wait, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			out.RetryAfter = wait
		}
	}
	out.Error = "receiver responded " + statusText(code)
	return out
}

// statusText returns "503 Service Unavailable", or the code alone when it
// has no standard text.
func statusText(code int) string {
	if text := http.StatusText(code); text != "" {
		return fmt.Sprintf("%d %s", code, text)
	}
	return fmt.Sprint(code)
}

// describeError returns a short text for a failed request. It drops the
// URL that *url.Error adds, so a token in the path or query never shows.
func describeError(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "request cancelled"
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return "request timed out"
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return truncate(err.Error(), maxErrorLen)
}

// truncate cuts s after at most n bytes, without splitting a UTF-8
// sequence, and marks the cut with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
