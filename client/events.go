package client

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"time"

	"github.com/agentry/agentry/transport/wire"
)

// Retry delays of Events after a failed request. The delay doubles from
// minRetryDelay up to maxRetryDelay. A longer Retry-After of the server
// is honoured up to maxRetryAfter.
const (
	minRetryDelay = 200 * time.Millisecond
	maxRetryDelay = 5 * time.Second
	maxRetryAfter = time.Minute
)

// Events yields the session's events in offset order, starting at offset
// from, for as long as the caller keeps iterating and ctx lasts. It
// long-polls with o and, after a dropped connection or a 5xx or 429
// response, retries from the offset after the last event it yielded, so no
// event is lost or repeated. Between retries it waits 200ms, doubling up
// to 5s, or as long as a Retry-After header requests, up to a minute.
// Other errors (a 404 for a deleted session, a 401) are yielded once and
// end the sequence. When ctx ends, the sequence ends without an error, so
// check ctx.Err() after the loop when the reason matters.
//
//	for ev, err := range c.Events(ctx, id, 0, client.PollOptions{}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(ev.Kind, ev.Text)
//	}
func (c *Client) Events(ctx context.Context, sessionID string, from int64, o PollOptions) iter.Seq2[wire.Event, error] {
	return func(yield func(wire.Event, error) bool) {
		delay := minRetryDelay
		for ctx.Err() == nil {
			page, err := c.Poll(ctx, sessionID, from, o)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !retryable(err) {
					yield(wire.Event{}, err)
					return
				}
				timer := time.NewTimer(retryWait(err, delay))
				select {
				case <-timer.C:
				case <-ctx.Done():
					timer.Stop()
					return
				}
				delay = min(delay*2, maxRetryDelay)
				continue
			}
			delay = minRetryDelay
			for _, ev := range page.Events {
				if !yield(ev, nil) {
					return
				}
			}
			from = page.NextOffset
		}
	}
}

// retryWait returns how long to wait before retrying after err: delay,
// or the server's longer Retry-After, at most maxRetryAfter.
func retryWait(err error, delay time.Duration) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > delay {
		return min(ae.RetryAfter, maxRetryAfter)
	}
	return delay
}

// retryable reports whether a failed poll is worth repeating: a transport
// error, a 5xx or a 429.
func retryable(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return true
	}
	return ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests
}
